/**
 * Suites that need an outside service (MySQL, a Docker engine, a browser) run when it is
 * reachable and skip with a clear message when it is not — unless CI made them mandatory
 * with REQUIRE_MYSQL=1, REQUIRE_DOCKER=1 or REQUIRE_BROWSER=1, in which case a missing
 * service fails the suite instead of skipping it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';

export type Requirement = 'mysql' | 'docker' | 'browser';

const ENV_FLAG: Record<Requirement, string> = {
  mysql: 'REQUIRE_MYSQL',
  docker: 'REQUIRE_DOCKER',
  browser: 'REQUIRE_BROWSER',
};

export const MYSQL_URL_BASE = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function isMandatory(req: Requirement): boolean {
  return process.env[ENV_FLAG[req]] === '1';
}

function tcpReachable(host: string, port: number): boolean {
  // Synchronous probe so `describe` can decide at collection time.
  const script = `const s=require('net').connect(${port},'${host}',()=>{s.end();process.exit(0)});s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(1),1000)`;
  try {
    execFileSync(process.execPath, ['-e', script], { stdio: 'ignore', timeout: 3000 });
    return true;
  } catch {
    return false;
  }
}

/** Why the requirement is unmet, or null when it is available. */
export function unmetReason(req: Requirement): string | null {
  switch (req) {
    case 'mysql': {
      const url = new URL(MYSQL_URL_BASE);
      return tcpReachable(url.hostname, Number(url.port || 3306))
        ? null
        : `no MySQL server at ${url.hostname}:${url.port || 3306}`;
    }
    case 'docker':
      try {
        execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], {
          stdio: 'ignore',
          timeout: 10000,
        });
        return null;
      } catch {
        return 'no Docker engine answers `docker info`';
      }
    case 'browser':
      return existsSync(CHROMIUM_PATH) ? null : `no Chromium at ${CHROMIUM_PATH}`;
  }
}

/**
 * `describe` when the service is there; otherwise a skipped suite that says why, or — when
 * the requirement is mandatory — a failing test that says what is missing.
 */
export function describeWith(req: Requirement, name: string, body: () => void): void {
  const reason = unmetReason(req);
  if (reason === null) {
    describe(name, body);
    return;
  }
  if (isMandatory(req)) {
    describe(name, () => {
      test(`requires ${req}`, () => {
        throw new Error(`${ENV_FLAG[req]}=1 but ${reason}`);
      });
    });
    return;
  }
  console.warn(`Skipping "${name}": ${reason} (set ${ENV_FLAG[req]}=1 to make this a failure)`);
  describe.skip(name, body);
}

/** A free TCP port on 127.0.0.1, for tests that must start a server on a known port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
