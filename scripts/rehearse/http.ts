/** Small HTTP client for the checks: every request has a deadline and a plain result. */
import http from 'node:http';

export interface HttpResult {
  status: number;
  body: string;
  error?: string;
}

export async function request(
  url: string,
  options: { method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<HttpResult> {
  try {
    const res = await fetch(url, {
      method: options.method ?? 'GET',
      headers: options.body === undefined ? {} : { 'content-type': 'application/json' },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
    });
    return { status: res.status, body: await res.text() };
  } catch (error) {
    return { status: 0, body: '', error: (error as Error).message };
  }
}

/**
 * A GET on a connection of its own, closed after the answer. The rehearsal's load balancer
 * applies a deregistration by reloading nginx, and a reload closes idle keep-alive connections
 * to clients; a client reusing one at that instant fails before any host is involved. The real
 * load balancer never reloads, so checks about hosts leaving use fresh connections to measure
 * the hosts, not that stand-in's reload.
 */
export function getOnFreshConnection(url: string, timeoutMs = 15_000): Promise<HttpResult> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (error) => resolve({ status: 0, body: '', error: error.message }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => resolve({ status: 0, body: '', error: error.message }));
  });
}
