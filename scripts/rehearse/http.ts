/** Small HTTP client for the checks: every request has a deadline and a plain result. */

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
