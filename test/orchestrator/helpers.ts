import http from 'node:http';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const FAKE_SERVICE = [process.execPath, '--import', 'tsx', 'test/support/fake-service.ts'];

export interface Reply {
  status: number;
  body: string;
  json<T = unknown>(): T;
}

/** One request over a fresh connection (no pooling, so nothing lingers between tests). */
export function request(port: number, method: string, urlPath: string, host = '127.0.0.1', timeoutMs = 10_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: urlPath, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body, json: () => JSON.parse(body) });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath} on ${port} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Polls until `check` holds; the suite's own timeout bounds the wait. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, pauseMs = 25): Promise<T> {
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch {
      // Not yet: connection refused while a replica boots, and the like.
    }
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}

export async function isListening(port: number): Promise<boolean> {
  try {
    await request(port, 'GET', '/api/v1/_count', '127.0.0.1', 2_000);
    return true;
  } catch {
    return false;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
