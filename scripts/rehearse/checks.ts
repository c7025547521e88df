/**
 * What the rehearsal does with the deployed system, as its users, the course graders and its
 * operators would. Each check returns a one-line outcome or throws with the reason.
 */
import { HOST_LOG_PATHS, LOG_RETENTION_DAYS } from '../../lib/host-logging';
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
  // The engine publishes the replicas' ports with NAT rules alone (lib/docker-daemon.ts).
  const proxies = exec(host.hostId, 'grep -lx docker-proxy /proc/[0-9]*/comm', 5000).stdout.trim();
  if (proxies) throw new Error(`docker-proxy runs on the acts host (${proxies.split('\n').join(', ')})`);
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
  return `1 -> 2 containers after 25 requests in a ${SHORT_WINDOW_SECONDS} s window, no docker-proxy; _count [3] [3] after 6; _crash on :8000 -> ${first.id} replaced by ${replaced.id}`;
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

function unitProperty(host: Host, property: string, unit = ORCHESTRATOR_UNIT): string {
  return inHost(host, `systemctl show -p ${property} --value ${unit}`);
}

/** The orchestrator's JSON lines in its log file (the file the CloudWatch agent ships). */
function orchestratorLogLines(host: Host): { time: string; msg: string; [field: string]: unknown }[] {
  return inHost(host, `cat ${HOST_LOG_PATHS.orchestrator}`, 30_000)
    .split('\n')
    .flatMap((line) => {
      try {
        const parsed = JSON.parse(line) as { time?: unknown; msg?: unknown };
        return typeof parsed.time === 'string' && typeof parsed.msg === 'string'
          ? [parsed as { time: string; msg: string }]
          : [];
      } catch {
        return []; // not one of the orchestrator's JSON lines
      }
    });
}

/**
 * kill -9 of the orchestrator: systemd restarts it and it adopts the running replicas. The
 * front door's closed gap is measured from outside the host, on its port 80, as the load
 * balancer's health check and the direct-access graders reach it.
 */
export async function orchestratorKilled({ deployment }: CheckContext): Promise<string> {
  const host = actsHosts(deployment)[0];
  await orchestratorAnswers(host);
  const before = replicas(host).map((r) => r.id);
  if (before.length === 0) throw new Error('no acts container to adopt');
  const restartsBefore = Number(unitProperty(host, 'NRestarts'));
  const pidBefore = unitProperty(host, 'MainPID');

  // One probe at a time on a fresh connection, every 20 ms: the last 200 before the kill and
  // the first 200 after it bound the time the front door was closed.
  const url = `http://${host.identity.address}/`;
  const probes: { at: number; ok: boolean }[] = [];
  let probing = true;
  const prober = (async () => {
    while (probing) {
      const result = await getOnFreshConnection(url, 2000);
      probes.push({ at: Date.now(), ok: result.status === 200 });
      await sleep(20);
    }
  })();
  await waitFor(
    'the front door answering before the kill',
    () => (probes.at(-1)?.ok ? true : undefined),
    10_000,
    50,
  );
  const killedAt = Date.now();
  inHost(host, `systemctl kill --kill-who=main --signal=KILL ${ORCHESTRATOR_UNIT}`);
  const reopened = await waitFor(
    'the front door answering again after the kill',
    () => {
      const firstClosed = probes.findIndex((p) => p.at > killedAt && !p.ok);
      if (firstClosed < 0) return undefined;
      return probes.slice(firstClosed).find((p) => p.ok);
    },
    60_000,
    50,
  );
  probing = false;
  await prober;
  const lastOpen = [...probes].reverse().find((p) => p.at <= killedAt && p.ok)!;
  const closedMs = reopened.at - lastOpen.at;
  const failedProbes = probes.filter((p) => !p.ok).length;

  const restartsAfter = Number(unitProperty(host, 'NRestarts'));
  const pidAfter = unitProperty(host, 'MainPID');
  if (restartsAfter !== restartsBefore + 1)
    throw new Error(
      `NRestarts went from ${restartsBefore} to ${restartsAfter}, not up by one: systemd did not restart it`,
    );
  if (pidAfter === pidBefore || pidAfter === '0')
    throw new Error(`MainPID ${pidBefore} before, ${pidAfter} after: not a new process`);
  const after = replicas(host).map((r) => r.id);
  if (before.join() !== after.join())
    throw new Error(
      `containers before ${before.join(',')} and after ${after.join(',')}: replaced, not adopted`,
    );
  const adopted = orchestratorLogLines(host).find(
    (l) => l.msg === 'adopted replicas' && Date.parse(l.time) >= killedAt,
  );
  if (!adopted || adopted.count !== before.length)
    throw new Error(
      `no 'adopted replicas' line with count ${before.length} in ${HOST_LOG_PATHS.orchestrator} after the kill`,
    );

  // The adopted containers are the ones serving: every request through port 80 lands on them.
  const direct = `http://${host.identity.address}/api/v1`;
  const ports = replicas(host).map((r) => r.port);
  for (const port of ports) inHost(host, `curl -fsS -X DELETE http://127.0.0.1:${port}/api/v1/_count`);
  const sent = 2 * ports.length;
  for (let i = 0; i < sent; i++) expectStatus('GET acts/count', await request(`${direct}/acts/count`), 200);
  const served = ports
    .map((port) => JSON.parse(inHost(host, `curl -fsS http://127.0.0.1:${port}/api/v1/_count`)) as number[])
    .reduce((sum, [n]) => sum + n, 0);
  if (served !== sent)
    throw new Error(`${sent} requests through port 80, the adopted containers counted ${served}`);

  return `front door closed ${closedMs} ms (last 200 before kill -9 -> first 200 after; ${failedProbes} failed probes); NRestarts ${restartsBefore} -> ${restartsAfter}, MainPID ${pidBefore} -> ${pidAfter}; the same ${after.length} container(s) ${after.join(', ')} adopted and served ${served}/${sent}`;
}

interface AgentFileEntry {
  file_path: string;
  log_group_name: string;
  log_stream_name: string;
  publish_multi_logs?: boolean;
}

const AGENT_HOME = '/opt/aws/amazon-cloudwatch-agent';

/**
 * One host's CloudWatch agent as the host fetched its configuration: it runs, ships to its own
 * service's log group as the template creates it (14 days, deleted with the stack), and the
 * files it names exist and hold what the running orchestrator and each replica wrote.
 */
function shippedFrom(deployment: Deployment, host: Host): string {
  const status = JSON.parse(inHost(host, `${AGENT_HOME}/bin/amazon-cloudwatch-agent-ctl -a status`)) as {
    status: string;
  };
  if (status.status !== 'running')
    throw new Error(`${host.hostId}: the CloudWatch agent is ${status.status}`);
  const configs = inHost(host, `cat ${AGENT_HOME}/etc/amazon-cloudwatch-agent.d/file_*`);
  const entries = (
    JSON.parse(configs) as { logs: { logs_collected: { files: { collect_list: AgentFileEntry[] } } } }
  ).logs.logs_collected.files.collect_list;

  const groups = [...new Set(entries.map((e) => e.log_group_name))];
  for (const group of groups) {
    if (!group.endsWith(`/${host.group.service}`))
      throw new Error(`${host.hostId} ships to ${group}, not its service's group`);
    const resource = Object.values(deployment.template.Resources).find(
      (r) => r.Type === 'AWS::Logs::LogGroup' && r.Properties?.LogGroupName === group,
    );
    if (!resource) throw new Error(`${host.hostId} ships to ${group}, which the template does not create`);
    if (resource.Properties?.RetentionInDays !== LOG_RETENTION_DAYS || resource.DeletionPolicy !== 'Delete')
      throw new Error(
        `${group}: retention ${String(resource.Properties?.RetentionInDays)} days, DeletionPolicy ${String(resource.DeletionPolicy)}`,
      );
  }
  const shipped = entries.flatMap((entry) => {
    const matched = inHost(host, `compgen -G '${entry.file_path}' || true`).split('\n').filter(Boolean);
    if (matched.length === 0)
      throw new Error(`${host.hostId}: the agent's ${entry.file_path} matches no file`);
    return matched;
  });

  // The orchestrator running now writes into the shipped file.
  if (!shipped.includes(HOST_LOG_PATHS.orchestrator))
    throw new Error(`${host.hostId}: the agent does not ship ${HOST_LOG_PATHS.orchestrator}`);
  const startedAt = Number(
    inHost(host, `date -d "$(systemctl show -p ExecMainStartTimestamp --value ${ORCHESTRATOR_UNIT})" +%s%3N`),
  );
  const sinceStart = orchestratorLogLines(host).filter((l) => Date.parse(l.time) >= startedAt - 1000);
  if (!sinceStart.some((l) => l.msg === 'listening'))
    throw new Error(
      `${host.hostId}: no 'listening' line of the orchestrator started at ${new Date(startedAt).toISOString()} in ${HOST_LOG_PATHS.orchestrator}`,
    );

  // Each replica's stdout lands in a shipped file, each line tagged with the container's name.
  const tags: string[] = [];
  for (const replica of replicas(host)) {
    const [logPath, name] = inHost(
      host,
      `docker inspect --format '{{.LogPath}} {{.Name}}' ${replica.id}`,
    ).split(' ');
    if (!shipped.includes(logPath))
      throw new Error(`${host.hostId}: ${replica.id}'s log ${logPath} is not in the agent's files`);
    const last = JSON.parse(inHost(host, `tail -n 1 ${logPath}`)) as {
      log: string;
      attrs?: { tag?: string };
    };
    const fromDocker = inHost(host, `docker logs --tail 3 ${replica.id} 2>&1`).split('\n');
    if (!fromDocker.includes(last.log.trim()))
      throw new Error(`${logPath} ends with ${last.log.trim()}, docker logs with ${fromDocker.join(' | ')}`);
    if (last.attrs?.tag !== name.replace(/^\//, ''))
      throw new Error(`${logPath}: tag ${String(last.attrs?.tag)}, container ${name}`);
    tags.push(last.attrs.tag);
  }
  if (tags.length === 0) throw new Error(`${host.hostId}: no replica to check`);
  return `${host.hostId} -> ${groups.join(', ')}: ${shipped.length} files, ${sinceStart.length} orchestrator lines since its start, replica lines tagged ${tags.join(', ')}`;
}

/**
 * A forced rotation, with the timer's own command: the orchestrator keeps writing to the
 * truncated file (its descriptor appends), which is the one the agent tails.
 */
async function rotationKeepsShipping(host: Host): Promise<string> {
  if (inHost(host, 'systemctl is-active selfieless-logrotate.timer') !== 'active')
    throw new Error('selfieless-logrotate.timer is not active');
  const rotateCommand = unitProperty(host, 'ExecStart', 'selfieless-logrotate.service')
    .replace(/^.*argv\[\]=/, '')
    .replace(/ ;.*$/, '');
  const sizeBefore = Number(inHost(host, `stat -c %s ${HOST_LOG_PATHS.orchestrator}`));
  inHost(
    host,
    `systemctl start selfieless-logrotate.service && ${rotateCommand.replace('logrotate ', 'logrotate --force ')}`,
  );
  const rotated = Number(inHost(host, `stat -c %s ${HOST_LOG_PATHS.orchestrator}.1`));
  // A replica's crash makes the orchestrator write its next lines.
  const [crashed] = replicas(host);
  if (!crashed) throw new Error('no acts container to crash');
  inHost(host, `curl -fsS -X POST http://127.0.0.1:${crashed.port}/api/v1/_crash -o /dev/null`);
  await waitFor(
    `the orchestrator's next line in the rotated ${HOST_LOG_PATHS.orchestrator}`,
    () => (orchestratorLogLines(host).some((l) => l.msg === 'replica exited') ? true : undefined),
    30_000,
  );
  return `rotation on ${host.hostId}: ${sizeBefore} B -> .1 of ${rotated} B, the orchestrator kept writing to the file`;
}

/** The logs every host's CloudWatch agent would ship, and the rotation that bounds them. */
export async function logsShipped({ deployment }: CheckContext): Promise<string> {
  const hosts = deployment.hosts.map((host) => shippedFrom(deployment, host));
  const rotation = await rotationKeepsShipping(actsHosts(deployment)[0]);
  return `${hosts.join('; ')}; ${rotation}`;
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
