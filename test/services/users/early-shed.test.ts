import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createUsersService } from '../../../services/users/app';
import { hashesPassword } from '../../../services/users/early-shed';
import { HashingGate } from '../../../services/users/hashing-gate';
import { LoginThrottle } from '../../../services/users/login-throttle';
import { SqlUsersStore } from '../../../services/users/sql-store';
import { silentLogger } from '../../../common/log';
import { openUsersDatabase, PASSWORD, tempDir } from '../support';

describe('which requests hash a password (pure)', () => {
  test.each([
    ['POST', '/api/v1/users', true],
    ['POST', '/api/v1/users/', true],
    ['POST', '/api/v1/users?x=1', true],
    ['POST', '/api/v1/users/alice/session', true],
    ['POST', '/api/v1/users/alice/session/', true],
    ['POST', '/api/v1/users/a%20b/session?x', true],
    ['GET', '/api/v1/users', false],
    ['GET', '/api/v1/users/alice/session', false],
    ['DELETE', '/api/v1/users/alice', false],
    ['POST', '/api/v1/users/alice', false],
    ['POST', '/api/v1/users//session', false],
    ['POST', '/api/v1/users/a/b/session', false],
    ['POST', '/API/V1/USERS', false],
    ['POST', '/api/v1/usersx', false],
    ['POST', '/api/v1/_crash', false],
  ])('%s %s → %s', (method, url, expected) => {
    expect(hashesPassword(method, url)).toBe(expected);
  });
});

/**
 * Today's answer to a shed sign-in or registration, as express wrote it before the early shed
 * existed; only the Date line varies.
 */
const SHED_ANSWER =
  'HTTP/1.1 503 Service Unavailable\r\n' +
  'Access-Control-Allow-Origin: *\r\n' +
  'retry-after: 1\r\n' +
  'Content-Type: application/json; charset=utf-8\r\n' +
  'Content-Length: 2\r\n' +
  'Date: <date>\r\n' +
  'Connection: keep-alive\r\n' +
  'Keep-Alive: timeout=5\r\n' +
  '\r\n' +
  '{}';

/** Raw HTTP/1.1 over one real keep-alive socket: each answer's exact bytes, in order. */
class RawClient {
  private readonly socket: net.Socket;
  private buffered = '';
  private readonly waiters: Array<() => void> = [];

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => {
      this.buffered += d;
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Sends one request and reads its whole answer (the body is as long as Content-Length says). */
  async send(method: string, path: string, body = ''): Promise<string> {
    this.socket.write(
      `${method} ${path} HTTP/1.1\r\nHost: users\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    for (;;) {
      const answer = this.takeAnswer();
      if (answer !== undefined) return answer.replace(/\r\nDate: [^\r]+\r\n/, '\r\nDate: <date>\r\n');
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private takeAnswer(): string | undefined {
    const headEnd = this.buffered.indexOf('\r\n\r\n');
    if (headEnd === -1) return undefined;
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(this.buffered.slice(0, headEnd))?.[1] ?? 0);
    const end = headEnd + 4 + length;
    if (this.buffered.length < end) return undefined;
    const answer = this.buffered.slice(0, end);
    this.buffered = this.buffered.slice(end);
    return answer;
  }
}

describe('the users server sheds sign-ins and registrations while the hashing gate is full', () => {
  const dir = tempDir();
  let close: () => Promise<void>;
  let hashing: HashingGate;
  let releaseHash: () => void;
  let servers: { early: number; expressOnly: number };

  /** One hash running, none may wait: the gate is full until `releaseHash()`. */
  function fillGate(): void {
    void hashing.run(() => new Promise<void>((resolve) => (releaseHash = resolve)));
    expect(hashing.full).toBe(true);
  }

  beforeAll(async () => {
    const database = await openUsersDatabase(`sqlite:${dir.path}/users.db`);
    hashing = new HashingGate({ concurrent: 1, queued: 0 });
    const service = createUsersService({
      store: new SqlUsersStore(database.db),
      logger: silentLogger,
      guards: { hashing, throttle: new LoginThrottle() },
    });
    const listen = async (handler: http.RequestListener) => {
      const server = http.createServer(handler);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return server;
    };
    // The server as main.ts runs it, and express alone (where only the routes shed).
    const early = await listen(service.handle);
    const expressOnly = await listen(service.app);
    servers = {
      early: (early.address() as AddressInfo).port,
      expressOnly: (expressOnly.address() as AddressInfo).port,
    };
    close = async () => {
      for (const server of [early, expressOnly]) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
      await database.destroy();
      dir.remove();
    };
  });
  afterAll(() => close());

  test('before reading the body: the bytes the routes answer after reading it, on a connection that stays usable', async () => {
    fillGate();
    const client = new RawClient(servers.early);
    try {
      const registration = JSON.stringify({ username: 'eve', password: PASSWORD });
      expect(await client.send('POST', '/api/v1/users', registration)).toBe(SHED_ANSWER);
      expect(
        await client.send('POST', '/api/v1/users/eve/session', JSON.stringify({ password: PASSWORD })),
      ).toBe(SHED_ANSWER);
      // Never parsed: a body that is not even JSON is shed all the same.
      expect(await client.send('POST', '/api/v1/users/eve/session', 'not json')).toBe(SHED_ANSWER);
      // The unread bodies were discarded: the next request on the connection is read as one.
      expect(await client.send('GET', '/api/v1/users')).toMatch(/^HTTP\/1\.1 204 /);
      // No user was half-created.
      expect(await client.send('GET', '/api/v1/users')).toMatch(/^HTTP\/1\.1 204 /);
    } finally {
      client.close();
      releaseHash();
    }
  });

  test('express alone sheds the same bytes once it has read the body', async () => {
    fillGate();
    const client = new RawClient(servers.expressOnly);
    try {
      const registration = JSON.stringify({ username: 'eve', password: PASSWORD });
      expect(await client.send('POST', '/api/v1/users', registration)).toBe(SHED_ANSWER);
      expect(
        await client.send('POST', '/api/v1/users/eve/session', JSON.stringify({ password: PASSWORD })),
      ).toBe(SHED_ANSWER);
      // There, the body is read first, and a malformed one is still a 400.
      expect(await client.send('POST', '/api/v1/users/eve/session', 'not json')).toMatch(/^HTTP\/1\.1 400 /);
    } finally {
      client.close();
      releaseHash();
    }
  });

  test('shed requests are counted like every API request; other requests pass while the gate is full', async () => {
    const client = new RawClient(servers.early);
    try {
      const count = async () => {
        const answer = await client.send('GET', '/api/v1/_count');
        return (JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as number[])[0]!;
      };
      const before = await count();
      fillGate();
      expect(
        await client.send('POST', '/api/v1/users/bob/session', JSON.stringify({ password: PASSWORD })),
      ).toBe(SHED_ANSWER);
      expect(await client.send('DELETE', '/api/v1/users/nobody')).toMatch(/^HTTP\/1\.1 400 /);
      expect(await count()).toBe(before + 2);
      releaseHash();
      await new Promise((resolve) => setImmediate(resolve));
      expect(hashing.full).toBe(false);
      // With room in the gate, the password is checked again.
      expect(
        await client.send('POST', '/api/v1/users/bob/session', JSON.stringify({ password: PASSWORD })),
      ).toMatch(/^HTTP\/1\.1 401 /);
    } finally {
      client.close();
    }
  });

  test('a crashed replica answers 500 to them too, as to everything else', async () => {
    const client = new RawClient(servers.early);
    try {
      expect(await client.send('POST', '/api/v1/_crash')).toMatch(/^HTTP\/1\.1 200 /);
      fillGate();
      expect(
        await client.send('POST', '/api/v1/users/bob/session', JSON.stringify({ password: PASSWORD })),
      ).toMatch(/^HTTP\/1\.1 500 /);
    } finally {
      client.close();
      releaseHash();
    }
  });
});
