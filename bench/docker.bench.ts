/**
 * Docker replicas, measured against local processes in the same run:
 * - replacement: from the decision (remove the old replica) to the new one answering `_health`;
 * - exit notice: from `docker kill` / `kill -9` to the runtime's onExit (what takes a replica
 *   out of rotation before any probe);
 * - image sizes.
 * Skips (with the reason) when no Docker engine answers.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createDockerRuntime } from '../orchestrator/docker-runtime';
import { silentLogger } from '../orchestrator/log';
import { createProcessRuntime } from '../orchestrator/process-runtime';
import type { ContainerRuntime, ReplicaInfo, ReplicaSpec } from '../orchestrator/runtime';
import { ensureImages, imageName, SERVICES } from '../scripts/image-builder';

const run = promisify(execFile);
const ROUNDS = 10;
const repoRoot = path.resolve(__dirname, '..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function healthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: '/api/v1/_health', agent: false, timeout: 1000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

async function untilHealthy(port: number): Promise<void> {
  const giveUpAt = Date.now() + 30_000;
  while (!(await healthy(port))) {
    if (Date.now() > giveUpAt) throw new Error(`port ${port} never became healthy`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (value: number) => `${value.toFixed(0)} ms`;

interface Figures {
  replacement: number;
  exitNotice: number;
}

async function measure(
  runtime: ContainerRuntime,
  spec: ReplicaSpec,
  killFromOutside: (replica: ReplicaInfo) => Promise<void>,
): Promise<Figures> {
  const replacements: number[] = [];
  const notices: number[] = [];
  let current = await runtime.start(spec);
  await untilHealthy(spec.port);
  for (let i = 0; i < ROUNDS; i++) {
    const decided = performance.now();
    await runtime.remove(current.id);
    current = await runtime.start(spec);
    await untilHealthy(spec.port);
    replacements.push(performance.now() - decided);
  }
  for (let i = 0; i < ROUNDS; i++) {
    const victim = current;
    const noticed = new Promise<number>((resolve) => {
      const unsubscribe = runtime.onExit((exit) => {
        if (exit.id !== victim.id) return;
        unsubscribe();
        resolve(performance.now());
      });
    });
    const killed = performance.now();
    await killFromOutside(victim);
    notices.push((await noticed) - killed);
    await runtime.remove(victim.id);
    current = await runtime.start(spec);
    await untilHealthy(spec.port);
  }
  await runtime.remove(current.id);
  return { replacement: median(replacements), exitNotice: median(notices) };
}

async function main(): Promise<void> {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    console.log('skipped: no Docker engine answers `docker info`');
    return;
  }
  await ensureImages({ log: (line) => console.log(`  ${line}`) });

  for (const service of SERVICES) {
    const { stdout } = await run('docker', ['image', 'inspect', '--format', '{{.Size}}', imageName(service)]);
    console.log(`image ${imageName(service)}: ${(Number(stdout) / 1e6).toFixed(1)} MB`);
  }

  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'docker-bench-'));
  const processRuntime = createProcessRuntime({ cwd: repoRoot, logDir: path.join(dataDir, 'logs') });
  const processPort = await freePort();
  const processFigures = await measure(
    processRuntime,
    {
      pool: 'bench',
      port: processPort,
      internalPort: processPort,
      command: [process.execPath, '--import', 'tsx', 'services/acts/main.ts'],
      env: { DATABASE_URL: `sqlite:${path.join(dataDir, 'acts.db')}`, LOG_LEVEL: 'warn' },
      specHash: 'bench',
    },
    async (replica) => {
      process.kill(Number(replica.id.replace('pid:', '')), 'SIGKILL');
    },
  );
  await processRuntime.removeAll();
  await processRuntime.close();

  const dockerRuntime = createDockerRuntime({
    publishHost: '127.0.0.1',
    logger: silentLogger,
    owner: `bench-${randomBytes(3).toString('hex')}`,
  });
  const dockerFigures = await measure(
    dockerRuntime,
    {
      pool: 'bench',
      port: await freePort(),
      internalPort: 8000,
      image: 'acts:latest',
      env: { DATABASE_URL: 'sqlite:/tmp/acts.db', LOG_LEVEL: 'warn' },
      specHash: 'bench',
    },
    async (replica) => {
      await run('docker', ['kill', replica.id]);
    },
  );
  await dockerRuntime.close();
  rmSync(dataDir, { recursive: true, force: true });

  console.log(`\nmedians of ${ROUNDS}            process      docker    docker/process`);
  const row = (label: string, p: number, d: number) =>
    console.log(
      `${label.padEnd(28)}${ms(p).padStart(8)}${ms(d).padStart(12)}${`${(d / p).toFixed(2)}x`.padStart(14)}`,
    );
  row('replacement → healthy', processFigures.replacement, dockerFigures.replacement);
  row('kill → exit noticed', processFigures.exitNotice, dockerFigures.exitNotice);
  console.log('\n(kill → exit noticed includes the `docker kill` CLI round trip for Docker.)');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
