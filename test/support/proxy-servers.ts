/**
 * Real HTTP servers on port 0 for the proxy suites: backends that record what reached them,
 * and a small client that returns status, headers and the whole body.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  bodyLength: number;
  bodySha256: string;
}

export interface TestBackend {
  name: string;
  port: number;
  received: ReceivedRequest[];
  /** Requests that arrived, counted as soon as their headers are in (before any body). */
  arrivals: number;
  server: Server;
  close(): Promise<void>;
}

/** Handles one request after its body was read; the default answers 200 with the backend's name. */
export type BackendHandler = (req: IncomingMessage, res: ServerResponse, received: ReceivedRequest) => void;

export async function startBackend(name: string, handler?: BackendHandler): Promise<TestBackend> {
  const backend: Partial<TestBackend> & { received: ReceivedRequest[]; arrivals: number } = {
    name,
    received: [],
    arrivals: 0,
  };
  const server = http.createServer((req, res) => {
    backend.arrivals += 1;
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
    });
    req.on('error', () => {});
    req.on('end', () => {
      const received: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        bodyLength: length,
        bodySha256: hash.digest('hex'),
      };
      backend.received.push(received);
      if (handler) handler(req, res, received);
      else {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(name);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend.port = (server.address() as AddressInfo).port;
  backend.server = server;
  backend.close = () => closeServer(server);
  return backend as TestBackend;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface SendOptions {
  method?: string;
  path?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: Buffer | string;
  agent?: http.Agent | false;
}

/** One request, whole reply; rejects when the connection breaks before the reply is complete. */
export function send(port: number, options: SendOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path ?? '/api/v1/anything',
        headers: options.headers,
        agent: options.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('response aborted')));
        res.on('end', () => {
          if (!res.complete) reject(new Error('response incomplete'));
          else resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A port where nothing listens, so connecting to it is refused. */
export async function refusedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await closeServer(server);
  return port;
}

/** Resolves once the condition holds, checking on every turn of the event loop (no wall-clock deadline: jest's timeout is the limit). */
export async function eventually(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** A promise with its resolve function, for holding a backend's reply until the test releases it. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
