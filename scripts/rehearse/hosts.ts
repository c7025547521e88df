/**
 * Simulated hosts: a container per instance, running systemd as PID 1 with its own Docker
 * engine inside, started with the settings verified for this kind of machine (cgroup v1, no
 * --privileged). Its Docker storage is a named volume, so a restart of the container is a
 * reboot of the host with its disk intact.
 */
import {
  DATABASE_CONTAINER,
  dockerVolumeName,
  hostContainerName,
  HOST_SUPPORT_DIR,
  LABEL,
  NETWORK,
} from './names';
import { must, run, sleep, waitFor } from './process';

export interface NetworkInfo {
  subnet: string;
  gateway: string;
  /** `.N` of the subnet. */
  address(n: number): string;
}

/** A user network off 172.17/16, so each host's inner docker0 keeps 172.17.0.1. */
export function createNetwork(): NetworkInfo {
  for (let third = 40; third < 80; third++) {
    const prefix = `172.29.${third}`;
    const result = run('docker', [
      'network',
      'create',
      '--label',
      LABEL,
      '--subnet',
      `${prefix}.0/24`,
      '--gateway',
      `${prefix}.1`,
      NETWORK,
    ]);
    if (result.ok) return networkInfo(prefix);
    if (!/overlap|in use/i.test(result.stderr))
      throw new Error(`docker network create failed: ${result.stderr.trim()}`);
  }
  throw new Error('no free /24 in 172.29.40-79 for the rehearsal network');
}

function networkInfo(prefix: string): NetworkInfo {
  return { subnet: `${prefix}.0/24`, gateway: `${prefix}.1`, address: (n) => `${prefix}.${n}` };
}

export interface HostSpec {
  hostId: string;
  address: string;
  image: string;
  supportDir: string;
  nodeBinary: string;
}

/** Exactly the verified flags; nothing more privileged. */
export function hostRunArgs(spec: HostSpec): string[] {
  return [
    'run',
    '--detach',
    '--name',
    hostContainerName(spec.hostId),
    '--hostname',
    `ip-${spec.address.replace(/\./g, '-')}`,
    '--label',
    LABEL,
    '--network',
    NETWORK,
    '--ip',
    spec.address,
    '--cap-add',
    'ALL',
    '--cap-drop',
    'SYS_RESOURCE',
    '--security-opt',
    'seccomp=unconfined',
    '--security-opt',
    'systempaths=unconfined',
    '--device-cgroup-rule',
    'a *:* rwm',
    '--device',
    '/dev/fuse',
    '--cgroupns=host',
    '--volume',
    '/sys/fs/cgroup:/sys/fs/cgroup:rw',
    '--tmpfs',
    '/run',
    '--tmpfs',
    '/run/lock',
    '--volume',
    `${dockerVolumeName(spec.hostId)}:/var/lib/docker`,
    '--volume',
    `${spec.supportDir}:${HOST_SUPPORT_DIR}:ro`,
    '--volume',
    `${spec.nodeBinary}:/opt/rehearsal-node/node:ro`,
    '--stop-signal',
    'SIGRTMIN+3',
    spec.image,
    '/lib/systemd/systemd',
  ];
}

export function startHost(spec: HostSpec): void {
  run('docker', ['volume', 'create', '--label', LABEL, dockerVolumeName(spec.hostId)]);
  must('docker', hostRunArgs(spec), { timeoutMs: 60_000 });
}

export function exec(hostId: string, command: string, timeoutMs = 60_000) {
  return run('docker', ['exec', hostContainerName(hostId), 'bash', '-c', command], { timeoutMs });
}

/**
 * Waits until systemd answers on its bus. `starting` counts: the first boot stays in it while
 * the user data runs, as on EC2 while cloud-final runs.
 */
export async function waitForSystemd(hostId: string, timeoutMs = 60_000): Promise<string> {
  return waitFor(
    `systemd in ${hostContainerName(hostId)}`,
    () => {
      const state = exec(hostId, 'systemctl is-system-running', 10_000).stdout.trim();
      return ['starting', 'running', 'degraded'].includes(state) ? state : undefined;
    },
    timeoutMs,
    500,
  );
}

export function containerState(name: string): string | undefined {
  const result = run('docker', ['container', 'inspect', '--format', '{{.State.Status}}', name]);
  return result.ok ? result.stdout.trim() : undefined;
}

export async function restartHost(hostId: string): Promise<void> {
  must('docker', ['restart', '--time', '30', hostContainerName(hostId)], { timeoutMs: 90_000 });
  await sleep(500);
}

/** Everything labelled as the rehearsal's, so `--down` and the leftover check agree. */
export function leftovers(): { containers: string[]; volumes: string[]; networks: string[] } {
  const list = (args: string[]) =>
    run('docker', args)
      .stdout.split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
  return {
    containers: list(['ps', '-a', '--filter', `label=${LABEL}`, '--format', '{{.Names}}']),
    volumes: list(['volume', 'ls', '--filter', `label=${LABEL}`, '--format', '{{.Name}}']),
    networks: list(['network', 'ls', '--filter', `label=${LABEL}`, '--format', '{{.Name}}']),
  };
}

export function removeEverything(): void {
  const found = leftovers();
  if (found.containers.length)
    run('docker', ['rm', '--force', '--volumes', ...found.containers], { timeoutMs: 120_000 });
  if (found.volumes.length)
    run('docker', ['volume', 'rm', '--force', ...found.volumes], { timeoutMs: 60_000 });
  if (found.networks.length) run('docker', ['network', 'rm', ...found.networks], { timeoutMs: 30_000 });
}

export { DATABASE_CONTAINER };
