/**
 * Steady load through a front door for fault-injection suites and the faults benchmark:
 * a few keep-alive connections each sending GETs back to back, and optionally POSTs, with
 * every outcome tallied by method and status (a transport error counts as status 0).
 */
import http from 'node:http';

export interface LoadOptions {
  port: number;
  getConnections: number;
  postConnections?: number;
  getPath?: string;
  postPath?: string;
  /** Pause between two requests of one connection (0: back to back). */
  pauseMs?: number;
  postBody?: string;
}

export interface LoadTally {
  /** status → count; 0 stands for a transport error (reset, refused, timeout). */
  GET: Map<number, number>;
  POST: Map<number, number>;
}

export interface RunningLoad {
  tally: LoadTally;
  /** Stops sending, waits for the requests in flight, and returns the tally. */
  stop(): Promise<LoadTally>;
}

export function total(byStatus: Map<number, number>): number {
  let sum = 0;
  for (const n of byStatus.values()) sum += n;
  return sum;
}

/** Requests that failed: a transport error or a 5xx (a 4xx is the service's answer). */
export function failed(byStatus: Map<number, number>): number {
  let sum = 0;
  for (const [status, n] of byStatus) if (status === 0 || status >= 500) sum += n;
  return sum;
}

export function describeTally(byStatus: Map<number, number>): string {
  return [...byStatus.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([status, n]) => `${status === 0 ? 'error' : status}×${n}`)
    .join(' ');
}

function once(
  agent: http.Agent,
  port: number,
  method: string,
  path: string,
  body: string | undefined,
): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        timeout: 10_000,
        headers: body ? { 'content-type': 'application/json', 'content-length': body.length } : {},
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

export function startLoad(options: LoadOptions): RunningLoad {
  const tally: LoadTally = { GET: new Map(), POST: new Map() };
  let running = true;
  const loop = async (method: 'GET' | 'POST', path: string) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    while (running) {
      const body = method === 'POST' ? (options.postBody ?? '{"n":1}') : undefined;
      const status = await once(agent, options.port, method, path, body);
      tally[method].set(status, (tally[method].get(status) ?? 0) + 1);
      if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
    }
    agent.destroy();
  };
  const loops: Promise<void>[] = [];
  for (let i = 0; i < options.getConnections; i++) loops.push(loop('GET', options.getPath ?? '/api/v1/load'));
  for (let i = 0; i < (options.postConnections ?? 0); i++) {
    loops.push(loop('POST', options.postPath ?? '/api/v1/load'));
  }
  return {
    tally,
    async stop() {
      running = false;
      await Promise.all(loops);
      return tally;
    },
  };
}

/** One request on a fresh connection; resolves with its status, 0 when the connection failed. */
export function requestStatus(
  port: number,
  method: string,
  urlPath: string,
  body?: string,
  forwardedFor?: string,
) {
  return new Promise<number>((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: urlPath,
        agent: false,
        headers: {
          ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
          ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}
