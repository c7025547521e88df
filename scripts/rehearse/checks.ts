/**
 * What the rehearsal does with the deployed system, as its users, the course graders and its
 * operators would. Each check returns a one-line outcome or throws with the reason.
 */
import type { Deployment, Host } from './deployment';
import { exec, restartHost, waitForSystemd } from './hosts';
import { getOnFreshConnection, request } from './http';
import type { Json } from './intrinsics';
import { dockerVolumeName } from './names';
import { run, sleep, waitFor } from './process';

export interface CheckContext {
  deployment: Deployment;
  lbUrl: string;
  log: (line: string) => void;
}

const PASSWORD = '3d725109c7e7c0bfb9d709836735b56d943d263f';
const ORCHESTRATOR_UNIT = 'selfieless-orchestrator.service';
/** The grader timeline's autoscaling window, set by an operator's drop-in rather than the 120 s default. */
const SHORT_WINDOW_SECONDS = 30;

function expectStatus(
  what: string,
  actual: { status: number; body: string; error?: string },
  status: number,
  body?: string,
): void {
  if (actual.status !== status || (body !== undefined && actual.body !== body)) {
    throw new Error(
      `${what}: expected ${status}${body !== undefined ? ` ${body}` : ''}, got ${actual.status || actual.error} ${actual.body.slice(0, 160)}`,
    );
  }
}

function act(actId: number, username: string, categoryName: string) {
  return {
    actId,
    username,
    timestamp: '10-10-2019:45-23-03',
    caption: '#helloworld',
    categoryName,
    imgB64: 'bWF5byBvciBtdXN0Pw==',
  };
}

/** docs/api.md's examples through the load balancer: users first, then acts (which asks users). */
export async function apiExamples({ lbUrl }: CheckContext): Promise<string> {
  const api = (p: string) => `${lbUrl}/api/v1${p}`;
  expectStatus('GET /', await request(`${lbUrl}/`), 200);
  expectStatus(
    'add user xyz',
    await request(api('/users'), { method: 'POST', body: { username: 'xyz', password: PASSWORD } }),
    201,
    '{}',
  );
  expectStatus(
    'add user xyz again',
    await request(api('/users'), { method: 'POST', body: { username: 'xyz', password: PASSWORD } }),
    400,
  );
  expectStatus('list users', await request(api('/users')), 200, '["xyz"]');
  expectStatus(
    'add category abc',
    await request(api('/categories'), { method: 'POST', body: ['abc'] }),
    201,
    '{}',
  );
  expectStatus('list categories', await request(api('/categories')), 200, '{"abc":0}');
  expectStatus(
    'upload act 1234',
    await request(api('/acts'), { method: 'POST', body: act(1234, 'xyz', 'abc') }),
    201,
    '{}',
  );
  expectStatus(
    'list acts in abc',
    await request(api('/categories/abc/acts')),
    200,
    '[{"actId":1234,"username":"xyz","timestamp":"10-10-2019:45-23-03","caption":"#helloworld","upvotes":0,"categoryName":"abc","imgB64":"bWF5byBvciBtdXN0Pw=="}]',
  );
  expectStatus(
    'upload by an unknown user',
    await request(api('/acts'), { method: 'POST', body: act(99, 'nobody', 'abc') }),
    400,
  );
  expectStatus(
    'upvote 1234',
    await request(api('/acts/upvote'), { method: 'POST', body: [1234] }),
    200,
    '{}',
  );
  expectStatus('acts count', await request(api('/acts/count')), 200, '[1]');
  expectStatus('category size', await request(api('/categories/abc/acts/size')), 200, '[1]');
  expectStatus('GET /api/v1/acts/1234 (wrong method)', await request(api('/acts/1234')), 405);
  expectStatus('delete act 1234', await request(api('/acts/1234'), { method: 'DELETE' }), 200, '{}');
  expectStatus('delete category abc', await request(api('/categories/abc'), { method: 'DELETE' }), 200, '{}');
  expectStatus('delete user xyz', await request(api('/users/xyz'), { method: 'DELETE' }), 200, '{}');
  expectStatus('list users when empty', await request(api('/users')), 204, '');
  return '16 requests as in docs/api.md, users and acts, all as specified';
}

interface Replica {
  id: string;
  port: string;
}

/** The service's replicas on a host, as `docker ps` inside it shows them. */
export function replicas(host: Host): Replica[] {
  const result = exec(
    host.hostId,
    `docker ps --filter ancestor=${host.group.service}:latest --format '{{.ID}} {{.Ports}}'`,
    15_000,
  );
  if (!result.ok) throw new Error(`docker ps in ${host.container} failed: ${result.stderr.trim()}`);
  return result.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, ...ports] = line.split(' ');
      return { id, port: /:(\d+)->/.exec(ports.join(' '))?.[1] ?? '?' };
    })
    .sort((a, b) => a.port.localeCompare(b.port));
}

function inHost(host: Host, command: string, timeoutMs = 15_000): string {
  const result = exec(host.hostId, command, timeoutMs);
  if (!result.ok)
    throw new Error(`${command} in ${host.container}: ${result.stderr.trim() || result.stdout.trim()}`);
  return result.stdout.trim();
}

async function orchestratorAnswers(host: Host): Promise<void> {
  await waitFor(
    `the orchestrator on ${host.hostId}`,
    () => (exec(host.hostId, 'curl -fsS -o /dev/null http://127.0.0.1/', 5000).ok ? true : undefined),
    60_000,
    500,
  );
}

function setWindow(host: Host, seconds: number | undefined): void {
  const dropIn = `/etc/systemd/system/${ORCHESTRATOR_UNIT}.d/rehearsal-window.conf`;
  const write =
    seconds === undefined
      ? `rm -f ${dropIn}`
      : `mkdir -p $(dirname ${dropIn}) && printf '[Service]\\nEnvironment=ORCH_WINDOW_SECONDS=${seconds}\\n' > ${dropIn}`;
  inHost(host, `${write} && systemctl daemon-reload && systemctl restart ${ORCHESTRATOR_UNIT}`, 60_000);
}

/** The course grader's autoscaling and fault-tolerance timeline on the acts host. */
export async function graderTimeline({ deployment, log }: CheckContext): Promise<string> {
  const host = actsHosts(deployment)[0];
  const direct = `http://${host.identity.address}/api/v1`;
  setWindow(host, SHORT_WINDOW_SECONDS);
  await orchestratorAnswers(host);
  const before = replicas(host);
  if (before.length !== 1) throw new Error(`expected 1 acts container at rest, found ${before.length}`);
  const portShown = inHost(host, `docker port ${before[0].id}`);
  if (!/0\.0\.0\.0:8000/.test(portShown)) throw new Error(`docker port shows ${portShown}, not 0.0.0.0:8000`);
  // 25 counted requests in one window: the next window starts with two replicas.
  for (let i = 0; i < 25; i++) expectStatus('GET acts/count', await request(`${direct}/acts/count`), 200);
  const two = await waitFor(
    'a second acts container',
    () => {
      const now = replicas(host);
      return now.length === 2 ? now : undefined;
    },
    (SHORT_WINDOW_SECONDS + 30) * 1000,
  );
  log(`  acts containers: ${two.map((r) => `${r.id}@${r.port}`).join(', ')}`);
  await waitFor(
    'both acts containers to answer',
    () =>
      two.every((r) => exec(host.hostId, `curl -fsS http://127.0.0.1:${r.port}/api/v1/_health`, 5000).ok)
        ? true
        : undefined,
    30_000,
    500,
  );
  await sleep(3000); // the orchestrator's health poller puts the new replica in rotation
  for (const r of two) inHost(host, `curl -fsS -X DELETE http://127.0.0.1:${r.port}/api/v1/_count`);
  for (let i = 0; i < 6; i++) expectStatus('GET acts/count', await request(`${direct}/acts/count`), 200);
  const counts = two.map((r) => inHost(host, `curl -fsS http://127.0.0.1:${r.port}/api/v1/_count`));
  if (counts.join(' ') !== '[3] [3]')
    throw new Error(
      `round robin over two containers: _count ${counts.join(' ')} after 6 requests, expected [3] [3]`,
    );
  const first = two.find((r) => r.port === '8000');
  if (!first) throw new Error('no acts container on port 8000');
  inHost(host, 'curl -fsS -X POST http://127.0.0.1:8000/api/v1/_crash -o /dev/null');
  const replaced = await waitFor(
    'a new container on port 8000',
    () => {
      const now = replicas(host).find((r) => r.port === '8000');
      return now && now.id !== first.id ? now : undefined;
    },
    60_000,
  );
  return `1 -> 2 containers after 25 requests in a ${SHORT_WINDOW_SECONDS} s window; _count [3] [3] after 6; _crash on :8000 -> ${first.id} replaced by ${replaced.id}`;
}

function actsHosts(deployment: Deployment): Host[] {
  const hosts = deployment.hosts.filter((h) => h.group.service === 'acts');
  if (hosts.length === 0) throw new Error('the template has no acts host');
  return hosts;
}

/** The directAccessCidr path: a grader reaching each host's own _count on port 80. */
export async function directAccess({ deployment }: CheckContext, cidr: string): Promise<string> {
  const open = JSON.stringify(deployment.template).includes(`"CidrIp":"${cidr}"`);
  if (!open)
    throw new Error(`the template opens nothing to ${cidr} (synthesized with -c directAccessCidr=${cidr})`);
  const seen: string[] = [];
  for (const host of deployment.hosts) {
    const result = await request(`http://${host.identity.address}/api/v1/_count`);
    expectStatus(`${host.hostId} _count`, result, 200);
    seen.push(`${host.hostId} ${result.body}`);
  }
  return `ingress from ${cidr} in the template; ${seen.join(', ')}`;
}

/** `systemctl restart` of the orchestrator keeps the replicas (adopted, not restarted). */
export async function orchestratorRestart({ deployment }: CheckContext): Promise<string> {
  const host = actsHosts(deployment)[0];
  setWindow(host, undefined);
  await orchestratorAnswers(host);
  const before = replicas(host).map((r) => r.id);
  inHost(host, `systemctl restart ${ORCHESTRATOR_UNIT}`, 60_000);
  await orchestratorAnswers(host);
  await sleep(2000);
  const after = replicas(host).map((r) => r.id);
  if (before.join() !== after.join())
    throw new Error(`containers before ${before.join(',')} and after ${after.join(',')}`);
  const status = inHost(host, `systemctl is-active ${ORCHESTRATOR_UNIT}`);
  return `${ORCHESTRATOR_UNIT} ${status}; the same ${after.length} container(s) ${after.join(', ')}`;
}

async function writeMarkerData(lbUrl: string, tag: string): Promise<void> {
  const api = (p: string) => `${lbUrl}/api/v1${p}`;
  expectStatus(
    'add user',
    await request(api('/users'), { method: 'POST', body: { username: `keep-${tag}`, password: PASSWORD } }),
    201,
  );
  expectStatus(
    'add category',
    await request(api('/categories'), { method: 'POST', body: [`keep-${tag}`] }),
    201,
  );
  const id = 100000 + Math.floor(Math.random() * 100000);
  expectStatus(
    'upload act',
    await request(api('/acts'), { method: 'POST', body: act(id, `keep-${tag}`, `keep-${tag}`) }),
    201,
  );
}

async function markerDataIsThere(lbUrl: string, tag: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await waitFor(
    `the data written before (${tag}) through the load balancer`,
    async () => {
      const users = await request(`${lbUrl}/api/v1/users`);
      const acts = await request(`${lbUrl}/api/v1/categories/keep-${tag}/acts/size`);
      return users.status === 200 &&
        users.body.includes(`"keep-${tag}"`) &&
        acts.status === 200 &&
        acts.body === '[1]'
        ? true
        : undefined;
    },
    timeoutMs,
    1000,
  );
  return Math.round((Date.now() - started) / 1000);
}

/** A reboot of every host: the system comes back by itself with its data. */
export async function hostReboot({ deployment, lbUrl }: CheckContext): Promise<string> {
  await writeMarkerData(lbUrl, 'reboot');
  const started = Date.now();
  await Promise.all(deployment.hosts.map((h) => restartHost(h.hostId)));
  await Promise.all(deployment.hosts.map((h) => waitForSystemd(h.hostId, 90_000)));
  await markerDataIsThere(lbUrl, 'reboot', 180_000);
  const ranAgain = deployment.hosts.filter(
    (h) => exec(h.hostId, 'grep -c "^\\[selfieless" /var/log/cloud-init-output.log').stdout.trim() === '0',
  );
  if (ranAgain.length > 0) throw new Error('the user data log is gone after the reboot');
  return `${deployment.hosts.length} host(s) restarted; data written before served again after ${Math.round((Date.now() - started) / 1000)} s`;
}

/** Two acts hosts behind the load balancer; one is taken out and stopped while requests flow. */
export async function hostStoppedUnderLoad({ deployment, lbUrl, log }: CheckContext): Promise<string> {
  const hosts = actsHosts(deployment);
  if (hosts.length < 2) throw new Error('skipped: the template has one acts host');
  const lb = deployment.loadBalancer!;
  await waitFor(
    'both acts hosts healthy in the load balancer',
    () => (lb.allHealthy() ? true : undefined),
    120_000,
  );
  const victim = hosts[hosts.length - 1];
  let sent = 0;
  const failures: string[] = [];
  let running = true;
  const worker = async () => {
    while (running) {
      const result = await getOnFreshConnection(`${lbUrl}/api/v1/categories`, 10_000);
      sent++;
      if (result.status !== 200 && result.status !== 204) failures.push(`${result.status || result.error}`);
    }
  };
  const workers = Array.from({ length: 4 }, worker);
  await sleep(3000);
  log(`  deregistering ${victim.hostId}, then stopping it`);
  await lb.deregister(victim.hostId);
  run('docker', ['stop', '--time', '30', victim.container], { timeoutMs: 60_000 });
  await sleep(3000);
  running = false;
  await Promise.all(workers);
  if (failures.length > 0)
    throw new Error(`${failures.length} of ${sent} requests failed: ${[...new Set(failures)].join(', ')}`);
  return `${sent} requests, 0 failed, while ${victim.hostId} was deregistered and stopped`;
}

/** A host replaced by a new instance (new disk, user data from scratch) serves the data written before. */
export async function hostReplaced({ deployment, lbUrl, log }: CheckContext): Promise<string> {
  if (deployment.databases.length === 0)
    throw new Error(
      'skipped: the database lives on the host (no RDS in the template), so a replacement loses it',
    );
  await writeMarkerData(lbUrl, 'replace');
  const old = actsHosts(deployment)[0];
  log(`  terminating ${old.hostId} (${old.identity.instanceId}) and launching its replacement`);
  await deployment.loadBalancer!.deregister(old.hostId);
  run('docker', ['rm', '--force', '--volumes', old.container], { timeoutMs: 90_000 });
  run('docker', ['volume', 'rm', '--force', dockerVolumeName(old.hostId)]);
  deployment.hosts.splice(deployment.hosts.indexOf(old), 1);
  const fresh = deployment.launch(old.group, old.hostId);
  const code = await deployment.waitForUserData(fresh, 8 * 60_000);
  if (code !== 0)
    throw new Error(`the replacement's user data exited ${code}:\n${deployment.userDataLogTail(fresh)}`);
  const seconds = await markerDataIsThere(lbUrl, 'replace', 120_000);
  return `new instance ${fresh.identity.instanceId} booted from scratch; the data written before served after ${seconds} s more`;
}

/** CloudFormation's CreationPolicy: each group waits for its hosts' SUCCESS signals. */
export function creationSignals(deployment: Deployment): string {
  const lines: string[] = [];
  for (const group of deployment.groups) {
    if (!group.creationPolicy)
      throw new Error(
        `${group.logicalId} has no CreationPolicy: CloudFormation would not wait for a healthy host`,
      );
    const signals = deployment.controlPlane.signals.filter((s) => s.resource === group.logicalId);
    const failed = signals.filter((s) => s.exitCode !== 0);
    if (failed.length > 0)
      throw new Error(
        `${group.logicalId} got a FAILURE signal: ${failed[0].reason || `exit ${failed[0].exitCode}`}`,
      );
    if (signals.length < group.creationPolicy.count) {
      throw new Error(
        `${group.logicalId}: ${signals.length} of ${group.creationPolicy.count} SUCCESS signals`,
      );
    }
    lines.push(`${group.logicalId} ${signals.length}/${group.creationPolicy.count}`);
  }
  return `SUCCESS signals: ${lines.join(', ')}`;
}

export type { Json };
