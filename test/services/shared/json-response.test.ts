import express from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { sendJson, sendJsonText } from '../../../services/shared/json-response';

/** The raw answer, as a client reads it off the socket, without the Date header. */
async function raw(server: http.Server, method: string, path: string): Promise<string> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('end', () => resolve(received.replace(/^Date: .*\r\n/m, '')));
    socket.on('error', reject);
    socket.end(`${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  });
}

describe("sendJson: the same bytes as express's res.json", () => {
  const values: [string, object | number | string | boolean][] = [
    ['an empty object', {}],
    ['a count', [3]],
    ['text that is not ASCII', [{ caption: 'ünïcödé ✓ 𝄞', name: '"quoted"\n' }]],
    ['a number', 7],
  ];
  let server: http.Server;
  beforeAll(async () => {
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    app.get('/express/:i', (req, res) => void res.status(201).json(values[Number(req.params.i)]![1]));
    app.get('/ours/:i', (req, res) => sendJson(res, 201, values[Number(req.params.i)]![1]));
    app.get('/express-text', (_req, res) => void res.status(200).type('json').send('{"a":1}'));
    app.get('/ours-text', (_req, res) => sendJsonText(res, 200, '{"a":1}'));
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  test.each(values.map(([name], i) => [name, i] as const))('%s, GET and HEAD', async (_name, i) => {
    for (const method of ['GET', 'HEAD']) {
      const ours = await raw(server, method, `/ours/${i}`);
      expect(ours).toBe(await raw(server, method, `/express/${i}`));
      expect(ours).toMatch(/^HTTP\/1\.1 201 Created\r\nContent-Type: application\/json; charset=utf-8\r\n/);
    }
  });

  test('JSON text sent as is, GET and HEAD', async () => {
    for (const method of ['GET', 'HEAD'])
      expect(await raw(server, method, '/ours-text')).toBe(await raw(server, method, '/express-text'));
    expect(await raw(server, 'GET', '/ours-text')).toMatch(/Content-Length: 7\r\n[^]*\r\n\r\n\{"a":1\}$/);
  });
});
