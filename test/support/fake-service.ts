/**
 * A stand-in service for control-plane tests: the same `_health`, `_count` and `_crash`
 * contract as the real services, plus knobs (env) to misbehave on purpose.
 *
 *   PORT                  listen port (required)
 *   FAKE_START_DELAY_MS   wait before listening (a slow boot)
 *   FAKE_EXIT_AT_START=1  exit with code 1 at once (a crash loop)
 *   FAKE_HEALTH=fail      `_health` answers 500; `hang`: never answers
 *
 * Any other `/api/v1/...` request is counted and answered with `{port, pid, method, url}`;
 * `/api/v1/slow?ms=N` answers after N ms (for draining).
 */
import http from 'node:http';

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('fake-service: PORT is required\n');
  process.exit(2);
}
if (process.env.FAKE_EXIT_AT_START === '1') {
  process.stderr.write('fake-service: exiting at start as asked\n');
  process.exit(1);
}

let count = 0;
let crashed = false;

function send(res: http.ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status, { 'content-length': '0' }).end();
    return;
  }
  const text = JSON.stringify(body);
  res
    .writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    .end(text);
}

const server = http.createServer((req, res) => {
  // Drain the body so keep-alive connections stay usable.
  req.resume();
  req.on('end', () => {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (crashed) return send(res, 500);
    switch (url.pathname) {
      case '/api/v1/_health':
        if (process.env.FAKE_HEALTH === 'hang') return;
        return send(res, process.env.FAKE_HEALTH === 'fail' ? 500 : 200);
      case '/api/v1/_count':
        if (req.method === 'DELETE') {
          count = 0;
          return send(res, 200, {});
        }
        return send(res, 200, [count]);
      case '/api/v1/_crash':
        crashed = true;
        return send(res, 200);
    }
    if (!url.pathname.startsWith('/api/v1/')) return send(res, 404, {});
    count++;
    const reply = () => send(res, 200, { port, pid: process.pid, method: req.method, url: req.url });
    if (url.pathname === '/api/v1/slow') {
      setTimeout(reply, Number(url.searchParams.get('ms') ?? 1000));
      return;
    }
    reply();
  });
});

setTimeout(
  () => {
    server.listen(port, '127.0.0.1', () => process.stdout.write(`fake-service listening on ${port}\n`));
  },
  Number(process.env.FAKE_START_DELAY_MS ?? 0),
);
