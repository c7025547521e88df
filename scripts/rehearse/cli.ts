/**
 * `npm run rehearse`: a whole deploy rehearsed on this machine. Synthesizes the real app,
 * publishes its assets, boots one simulated host per instance from the rendered user data,
 * puts a load balancer generated from the template in front, uses the result as users, the
 * course graders and operators would, prints a summary table and removes everything it made.
 *
 *   npm run rehearse                 run it all, then clean up
 *   npm run rehearse -- --keep       leave the system running and print where it is
 *   npm run rehearse -- --down       remove what a kept (or interrupted) rehearsal left
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { imageExists, publishFiles, publishImages } from './assets';
import * as checks from './checks';
import { Deployment, type Host, readTemplate } from './deployment';
import * as builder from '../image-builder';
import { createNetwork, leftovers, type NetworkInfo, removeEverything } from './hosts';
import { ACCOUNT_ID, CACHE_DIR, REGION, REPO_ROOT, RUN_DIR } from './names';
import { endOwnedProcess, run, runAsync, tail } from './process';
import { LoadBalancer } from './load-balancer';
import { Registry } from './registry';
import { ensureImages as ensureRootfsImages, ensureRootfs, rootfsTarball } from './rootfs';

export const USAGE = `Usage: npm run rehearse -- [--keep | --down] [--port N]

A whole deploy rehearsed on this machine: synth, assets, one simulated host per instance,
a load balancer generated from the template, then the API, grader and operator checks.

  --keep     leave the hosts and load balancer running (remove them with --down)
  --down     remove everything a kept or interrupted rehearsal left
  --port N   the load balancer's port on 127.0.0.1 (default 8480)
`;

const DEFAULT_PORT = 8480;

interface Options {
  keep: boolean;
  down: boolean;
  port: number;
}

export function parseArgs(argv: string[]): Options {
  const options: Options = { keep: false, down: false, port: DEFAULT_PORT };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--keep') options.keep = true;
    else if (arg === '--down') options.down = true;
    else if (arg === '--port') {
      const port = Number(argv[++i]);
      if (!Number.isInteger(port) || port < 1 || port > 65535)
        throw new UsageError(`--port needs a port number, got ${JSON.stringify(argv[i] ?? '')}`);
      options.port = port;
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else throw new UsageError(`unknown option ${arg}`);
  }
  if (options.keep && options.down) throw new UsageError('--keep and --down exclude each other');
  return options;
}

class UsageError extends Error {}
/** A bad state of this machine: one line, no stack. */
class Refusal extends Error {}

const started = Date.now();
const clock = () => `${String(Math.round((Date.now() - started) / 1000)).padStart(4)} s`;
const log = (line: string) => process.stdout.write(`${clock()}  ${line}\n`);

interface Row {
  step: string;
  outcome: 'ok' | 'FAIL' | 'skipped';
  seconds: number;
  detail: string;
}
const rows: Row[] = [];

async function step<T>(name: string, work: () => Promise<T> | T): Promise<T> {
  log(`== ${name}`);
  const t0 = Date.now();
  try {
    const value = await work();
    rows.push({
      step: name,
      outcome: 'ok',
      seconds: (Date.now() - t0) / 1000,
      detail: typeof value === 'string' ? value : '',
    });
    return value;
  } catch (error) {
    rows.push({
      step: name,
      outcome: 'FAIL',
      seconds: (Date.now() - t0) / 1000,
      detail: (error as Error).message,
    });
    throw error;
  }
}

/**
 * A check records its outcome and never stops the run. When it fails, `evidence` (the hosts'
 * own logs) is printed under it, since the hosts are gone once the run ends.
 */
async function check(
  name: string,
  work: () => Promise<string> | string,
  evidence?: () => string,
): Promise<void> {
  log(`== check: ${name}`);
  const t0 = Date.now();
  try {
    const detail = await work();
    rows.push({ step: name, outcome: 'ok', seconds: (Date.now() - t0) / 1000, detail });
    log(`   ok: ${detail}`);
  } catch (error) {
    const message = (error as Error).message;
    const skipped = message.startsWith('skipped: ');
    rows.push({
      step: name,
      outcome: skipped ? 'skipped' : 'FAIL',
      seconds: (Date.now() - t0) / 1000,
      detail: skipped ? message.slice(9) : message,
    });
    log(`   ${skipped ? 'skipped' : 'FAIL'}: ${skipped ? message.slice(9) : message}`);
    if (!skipped && evidence) {
      try {
        process.stdout.write(`${evidence().replace(/^/gm, '      ')}\n`);
      } catch (reason) {
        log(`   (no host logs: ${(reason as Error).message})`);
      }
    }
  }
}

function summary(): string {
  const width = Math.max(...rows.map((r) => r.step.length), 4);
  const lines = rows.map(
    (r) =>
      `${r.step.padEnd(width)}  ${r.outcome.padEnd(7)}  ${r.seconds.toFixed(0).padStart(4)} s  ${r.detail.split('\n')[0].slice(0, 150)}`,
  );
  return [`${'step'.padEnd(width)}  result   time`, ...lines].join('\n');
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function preflight(options: Options): Promise<void> {
  if (!run('docker', ['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 }).ok) {
    throw new Refusal('no Docker engine answers (`docker version` failed): start dockerd first');
  }
  for (const [tool, pkg] of [
    ['nginx', 'nginx'],
    ['docker-registry', 'docker-registry'],
    ['openssl', 'openssl'],
    ['zip', 'zip'],
  ]) {
    if (!run('sh', ['-c', `command -v ${tool}`]).ok)
      throw new Refusal(`${tool} is not installed: apt-get install ${pkg}`);
  }
  if (!existsSync(rootfsTarball()) && !run('sh', ['-c', 'command -v debootstrap']).ok) {
    throw new Refusal(
      'debootstrap is not installed and no root filesystem is cached: apt-get install debootstrap',
    );
  }
  const found = leftovers();
  const names = [...found.containers, ...found.volumes, ...found.networks];
  if (names.length > 0) {
    throw new Refusal(
      `leftovers of an earlier rehearsal (${names.slice(0, 4).join(', ')}${names.length > 4 ? ', ...' : ''}): remove them with npm run rehearse -- --down`,
    );
  }
  if (!(await portFree('127.0.0.1', options.port))) {
    throw new Refusal(`port ${options.port} on 127.0.0.1 is in use: free it or pass --port N`);
  }
}

async function synth(outDir: string, context: Record<string, string>): Promise<string> {
  rmSync(outDir, { recursive: true, force: true });
  const args = [
    'cdk',
    'synth',
    '--quiet',
    '--output',
    outDir,
    ...Object.entries(context).flatMap(([k, v]) => ['--context', `${k}=${v}`]),
  ];
  const result = await runAsync('npx', args, { cwd: REPO_ROOT, timeoutMs: 10 * 60_000 });
  if (!result.ok) throw new Error(`cdk synth failed: ${tail(result, 20)}`);
  return `${path.relative(REPO_ROOT, outDir)} (${Object.entries(context)
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ')})`;
}

let preflightPassed = false;

async function rehearse(options: Options): Promise<boolean> {
  await preflight(options);
  preflightPassed = true;
  mkdirSync(RUN_DIR, { recursive: true });
  const cdkOut = path.join(RUN_DIR, 'cdk.out');
  // The root filesystem is the slowest part of a cold run; it is made while the app synthesizes and builds.
  const rootfs = ensureRootfs((line) => log(`  [rootfs] ${line}`)).then((tarball) =>
    ensureRootfsImages(tarball, (line) => log(`  [rootfs] ${line}`)),
  );
  rootfs.catch(() => undefined);

  let network!: NetworkInfo;
  await step('rehearsal network', async () => {
    network = createNetwork();
    // The load balancer, the registry and the resolver answer the hosts on the gateway's usual ports.
    for (const port of [80, 443]) {
      if (!(await portFree(network.gateway, port))) {
        throw new Refusal(
          `port ${port} on ${network.gateway} is in use (a server listening on all addresses?): the rehearsal's ${port === 80 ? 'load balancer' : 'registry'} needs it`,
        );
      }
    }
    return `${network.subnet}, gateway ${network.gateway}`;
  });
  const directAccessCidr = `${network.gateway}/32`;
  await step('cdk synth', () => synth(cdkOut, { directAccessCidr, actsHosts: '2-2' }));
  const template = readTemplate(cdkOut);

  const deployment = new Deployment(template, network, log);
  const hostLogs = () => deployment.orchestratorLogTails();
  const registry = new Registry({
    dir: path.join(RUN_DIR, 'registry'),
    storage: path.join(CACHE_DIR, 'registry-storage'),
    gateway: network.gateway,
    names: [...new Set(deployment.pulledImages().map((image) => image.split('/')[0]))],
    plainPort: await freePort(),
  });
  cleanups.push(() => registry.stop());
  let published: string[] = [];
  await step('publish assets', async () => {
    rmSync(path.join(RUN_DIR, 'registry'), { recursive: true, force: true });
    await registry.start();
    const files = publishFiles(cdkOut, path.join(RUN_DIR, 's3'), { accountId: ACCOUNT_ID, region: REGION });
    published = await publishImages(
      cdkOut,
      registry,
      { accountId: ACCOUNT_ID, region: REGION },
      log,
      useLocalBases,
    );
    return `${published.length} image(s), ${files.length} file(s)`;
  });

  await step('host root filesystem', async () => {
    deployment.images = await rootfs;
    // Images the user data pulls from elsewhere (a public database image) are stood in by the rehearsal's MariaDB.
    const others = deployment.pulledImages().filter((image) => !published.includes(image));
    for (const image of others) {
      if (!/mariadb|mysql/.test(image))
        throw new Error(`the user data pulls ${image}, which the rehearsal has no stand-in for`);
      registry.push(deployment.images.database, image);
    }
    return `${deployment.images.host}${others.length ? `; ${others.join(', ')} stood in by Debian's MariaDB` : ''}`;
  });
  await step('database stand-ins (RDS)', async () => {
    await deployment.startDatabases();
    return deployment.databases.length
      ? deployment.databases.map((d) => `${d.resource.logicalId} at ${d.endpoint}`).join(', ')
      : 'none in the template';
  });

  cleanups.push(() => deployment.stop());
  await step('control plane, resolver, load balancer', async () => {
    await deployment.startServices(registry);
    deployment.startLoadBalancer(options.port);
    return `IMDS/ECR/S3/Secrets Manager/cfn-signal on ${network.gateway}:${deployment.controlPlane.port}; nginx on 127.0.0.1:${options.port}`;
  });

  let hosts: Host[] = [];
  await step('launch hosts', () => {
    hosts = deployment.launchAll();
    return hosts.map((h) => `${h.container} (${h.identity.address}, ${h.identity.instanceId})`).join(', ');
  });
  await step('user data on every host', async () => {
    const codes = await Promise.all(hosts.map((h) => deployment.waitForUserData(h, 10 * 60_000)));
    const failed = hosts.filter((_, i) => codes[i] !== 0);
    if (failed.length > 0) {
      throw new Error(
        failed
          .map(
            (h) =>
              `${h.hostId}: user data exited ${codes[hosts.indexOf(h)]}\n${deployment.userDataLogTail(h)}`,
          )
          .join('\n'),
      );
    }
    const node = run('docker', [
      'exec',
      hosts[0].container,
      'sh',
      '-c',
      'for n in /usr/bin/node-*; do echo "$n $($n --version)"; done',
    ]).stdout.trim();
    return `exit 0 on ${hosts.length} host(s); ${node.replace(/\n/g, ', ')} (this machine's Node, by the dnf stand-in)`;
  });
  await check('creation gated on health (cfn-signal)', () => checks.creationSignals(deployment), hostLogs);
  await step('load balancer: targets healthy', async () => {
    const lb = deployment.loadBalancer!;
    const t0 = Date.now();
    while (!lb.allHealthy()) {
      if (Date.now() - t0 > 120_000)
        throw new Error(
          `targets not healthy after 120 s: ${hosts.map((h) => `${h.hostId} ${lb.health(h.hostId).join('/')}`).join(', ')}`,
        );
      await new Promise((r) => setTimeout(r, 1000));
    }
    return hosts.map((h) => `${h.hostId} ${lb.health(h.hostId).join('/')}`).join(', ');
  });

  const lbUrl = `http://127.0.0.1:${options.port}`;
  const ctx = { deployment, lbUrl, log };
  await check('API examples through the load balancer', () => checks.apiExamples(ctx), hostLogs);
  await check('grader timeline on the acts host', () => checks.graderTimeline(ctx), hostLogs);
  await check('directAccessCidr reaches _count', () => checks.directAccess(ctx, directAccessCidr), hostLogs);
  await check('orchestrator restart adopts replicas', () => checks.orchestratorRestart(ctx), hostLogs);
  await check(
    'kill -9 of the orchestrator: restart, adoption',
    () => checks.orchestratorKilled(ctx),
    hostLogs,
  );
  await check('logs shipped from the files the agent tails', () => checks.logsShipped(ctx), hostLogs);
  await check('host reboot keeps the data', () => checks.hostReboot(ctx), hostLogs);
  await check('acts host stopped under load', () => checks.hostStoppedUnderLoad(ctx), hostLogs);
  await check('replaced host finds its data', () => checks.hostReplaced(ctx), hostLogs);

  if (options.keep) {
    log(`load balancer: ${lbUrl}`);
    log(`hosts: ${deployment.hosts.map((h) => h.container).join(', ')}  (docker exec -it NAME bash)`);
    log('remove with: npm run rehearse -- --down');
  }
  return rows.every((r) => r.outcome !== 'FAIL');
}

/**
 * On this machine the Dockerfile's official Node bases cannot be pulled: when the manifest
 * names none and the engine lacks them, the build gets the same local stand-ins `npm run
 * images` uses, and this machine's CA bundle for npm, as build arguments and a build secret.
 */
async function useLocalBases(asset: {
  buildArgs: Record<string, string>;
  buildSecrets: Record<string, string>;
}): Promise<void> {
  if (asset.buildArgs.BASE_IMAGE || imageExists(builder.DEFAULT_BASE_IMAGE)) return;
  const bases = await builder.resolveBaseImages((line) => log(`  ${line}`));
  asset.buildArgs.BASE_IMAGE = bases.baseImage;
  asset.buildArgs.BUILD_BASE_IMAGE = bases.buildBaseImage;
  if (existsSync(builder.SYSTEM_CA_BUNDLE)) asset.buildSecrets.npm_ca = `src=${builder.SYSTEM_CA_BUNDLE}`;
}

const cleanups: (() => void)[] = [];
const KEEP_PID_FILE = path.join(RUN_DIR, 'kept.pid');

/** `--down` ends a kept rehearsal's process (it removes what it made) before removing leftovers. */
function stopKeptRehearsal(): void {
  endOwnedProcess(KEEP_PID_FILE, 'rehearse');
  rmSync(KEEP_PID_FILE, { force: true });
}

function cleanUp(): void {
  for (const cleanup of cleanups.reverse()) {
    try {
      cleanup();
    } catch {
      // best effort: the next cleanup still runs
    }
  }
  cleanups.length = 0;
  removeEverything();
  rmSync(path.join(RUN_DIR, 'registry'), { recursive: true, force: true });
  rmSync(KEEP_PID_FILE, { force: true });
}

async function main(): Promise<void> {
  let options: Options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (options.down) {
    stopKeptRehearsal();
    LoadBalancer.stopLeftover(path.join(RUN_DIR, 'nginx'));
    Registry.stopLeftovers(path.join(RUN_DIR, 'registry'));
    const found = leftovers();
    removeEverything();
    const names = [...found.containers, ...found.volumes, ...found.networks];
    process.stdout.write(names.length ? `removed ${names.join(', ')}\n` : 'nothing to remove\n');
    return;
  }
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    log('interrupted: removing what the rehearsal made');
    if (preflightPassed) cleanUp();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let passed = false;
  try {
    passed = await rehearse(options);
  } catch (error) {
    if (error instanceof Refusal) {
      process.stderr.write(`rehearse: ${error.message}\n`);
      // Leftovers found by the preflight belong to an earlier run: only --down removes them.
      if (preflightPassed) cleanUp();
      process.exit(1);
    }
    log(`stopped: ${(error as Error).message}`);
  }
  process.stdout.write(`\n${summary()}\n\n`);
  if (!options.keep) {
    log('removing the hosts, the load balancer and the registry');
    cleanUp();
  } else {
    // Kept: the load balancer's health checks, the resolver and the control plane live in this
    // process, so it stays in the foreground until Ctrl-C or `--down` from another shell.
    writeFileSync(KEEP_PID_FILE, String(process.pid));
    log('kept: Ctrl-C here, or npm run rehearse -- --down in another shell, removes everything');
    await new Promise(() => {});
  }
  const total = Math.round((Date.now() - started) / 1000);
  const count = (outcome: Row['outcome']) => rows.filter((r) => r.outcome === outcome).length;
  process.stdout.write(`rehearsal ${passed ? 'passed' : 'FAILED'} in ${total} s\n`);
  process.stdout.write(
    `rehearse: ${count('ok')} passed, ${count('FAIL')} failed, ${count('skipped')} skipped\n`,
  );
  process.exit(passed ? 0 : 1);
}

void main();
