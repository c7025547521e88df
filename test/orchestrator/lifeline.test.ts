/**
 * Nothing outlives the orchestrator in process mode: a SIGKILLed `npm start` orchestrator
 * leaves no replica running (each watches a lifeline pipe), and the next `npm start` on the
 * same ports comes up without any cleanup. Nor does anything outlive `npm start` itself: with
 * only the outer npm SIGKILLed, the orchestrator notices its launcher is gone and stops.
 */
import { readFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chainBroken, launchChain, type ProcessStat } from '../../scripts/start/launcher';
import { freePort } from '../support/requirements';
import {
  eventually,
  freePortRange,
  isListening,
  killGroup,
  npmStart,
  npmStartArgs,
  processAlive,
  request,
  type CommandRun,
} from './helpers';

jest.setTimeout(120_000);

function parentOf(pid: number): number {
  // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after its ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

async function ready(run: CommandRun): Promise<{ adminPort: number; pids: number[] }> {
  await eventually(
    () =>
      run.output().includes('Ready: open') ||
      (run.child.exitCode !== null && Promise.reject(new Error(run.output()))),
    100,
  );
  const adminPort = Number(/Status: http:\/\/127\.0\.0\.1:(\d+)\/status/.exec(run.output())![1]);
  const pids = await eventually(async () => {
    const s = (await request(adminPort, 'GET', '/status')).json<{
      pools: Array<{ name: string; replicas: Array<{ id: string | null; inRotation: boolean }> }>;
    }>();
    const replicas = s.pools.flatMap((p) => p.replicas);
    return (
      replicas.length === 3 &&
      replicas.every((r) => r.inRotation && r.id) &&
      replicas.map((r) => Number(r.id!.slice(4)))
    );
  }, 100);
  return { adminPort, pids };
}

/** The processes of one `npm start`, from the outermost (npm) to the replicas. */
interface StartProcesses {
  npm: number;
  orchestrator: number;
  /** Between npm and the orchestrator: sh. */
  between: number[];
  replicas: number[];
}

function startProcesses(run: CommandRun, replicas: number[]): StartProcesses {
  const npm = run.child.pid!;
  const orchestrator = parentOf(replicas[0]!);
  const between: number[] = [];
  for (let pid = parentOf(orchestrator); pid !== npm; pid = parentOf(pid)) {
    if (pid <= 1) throw new Error('the orchestrator does not descend from npm');
    between.push(pid);
  }
  return { npm, orchestrator, between, replicas };
}

function startArgs(port: number, actsFirstPort: number, usersFirstPort: number, prefix: string): string[] {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return npmStartArgs({ port, actsFirstPort, usersFirstPort, dataDir }, ['--replicas', '2']);
}

describe('the launch chain (pure)', () => {
  // npm (100, leader of group 100) → sh (101) → tsx (102) → orchestrator (103).
  const table: Record<number, ProcessStat> = {
    103: { parent: 102, group: 100 },
    102: { parent: 101, group: 100 },
    101: { parent: 100, group: 100 },
    100: { parent: 50, group: 100 },
    50: { parent: 1, group: 50 },
  };
  const stat = (pid: number) => table[pid];

  test('runs from the process up to the group leader, npm', () => {
    expect(launchChain(103, stat)).toEqual([
      { pid: 103, parent: 102 },
      { pid: 102, parent: 101 },
      { pid: 101, parent: 100 },
    ]);
  });

  test('is only the own parent when the group leader is not an ancestor, or is the process itself', () => {
    expect(launchChain(103, (pid) => (pid === 103 ? { parent: 102, group: 77 } : stat(pid)))).toEqual([
      { pid: 103, parent: 102 },
    ]);
    expect(launchChain(100, stat)).toEqual([{ pid: 100, parent: 50 }]);
  });

  test('breaks when any process of it is gone or reparented, not when the launcher above npm changes', () => {
    const chain = launchChain(103, stat);
    const parents = (changes: Record<number, number | undefined>) => (pid: number) =>
      pid in changes ? changes[pid] : table[pid]?.parent;
    expect(chainBroken(chain, parents({}))).toBe(false);
    expect(chainBroken(chain, parents({ 101: 1 }))).toBe(true);
    expect(chainBroken(chain, parents({ 102: undefined }))).toBe(true);
    expect(chainBroken(chain, parents({ 103: 1 }))).toBe(true);
    expect(chainBroken(chain, parents({ 100: 1 }))).toBe(false);
  });
});

describe('nothing outlives the orchestrator (process mode)', () => {
  test('a SIGKILL of the outer npm alone stops the orchestrator and every replica, frees the ports, and the next npm start comes up', async () => {
    const port = await freePort();
    const actsFirstPort = await freePortRange(2);
    const usersFirstPort = await freePortRange(10);
    const args = startArgs(port, actsFirstPort, usersFirstPort, 'orch-launcher-');
    const runs: CommandRun[] = [];
    let pids: number[] = [];
    try {
      const first = npmStart(args);
      runs.push(first);
      ({ pids } = await ready(first));
      const chain = startProcesses(first, pids);
      expect(chain.between.length).toBeGreaterThan(0);

      const killedAt = Date.now();
      process.kill(chain.npm, 'SIGKILL');
      const everyone = [chain.orchestrator, ...chain.between, ...chain.replicas];
      await eventually(() => everyone.every((pid) => !processAlive(pid)), 50, 15_000);
      const goneAfterMs = Date.now() - killedAt;
      console.log(`orchestrator, wrappers and replicas gone ${goneAfterMs} ms after npm's SIGKILL`);
      for (const p of [port, actsFirstPort, actsFirstPort + 1, usersFirstPort])
        expect(await isListening(p)).toBe(false);

      const second = npmStart(args);
      runs.push(second);
      const again = await ready(second);
      expect((await request(port, 'GET', '/api/v1/users')).status).toBe(204);
      pids = again.pids;
    } finally {
      for (const run of runs) killGroup(run.child.pid!);
      for (const pid of pids) killGroup(pid);
    }
  });

  test('a SIGKILLed orchestrator leaves no replica running, and the next npm start comes up on the same ports', async () => {
    const port = await freePort();
    const actsFirstPort = await freePortRange(2);
    const usersFirstPort = await freePortRange(10);
    const args = startArgs(port, actsFirstPort, usersFirstPort, 'orch-lifeline-');
    const runs: CommandRun[] = [];
    let pids: number[] = [];
    try {
      const first = npmStart(args);
      runs.push(first);
      ({ pids } = await ready(first));
      // The process that started the replicas is the orchestrator itself (not npm or a wrapper).
      const orchestratorPid = parentOf(pids[0]!);
      expect(pids.map(parentOf)).toEqual(pids.map(() => orchestratorPid));

      const killedAt = Date.now();
      process.kill(orchestratorPid, 'SIGKILL');
      await eventually(() => pids.every((pid) => !processAlive(pid)), 50);
      const goneAfterMs = Date.now() - killedAt;
      expect(goneAfterMs).toBeLessThan(6_000);
      console.log(`replicas gone ${goneAfterMs} ms after the orchestrator's SIGKILL`);
      for (const p of [actsFirstPort, actsFirstPort + 1, usersFirstPort])
        expect(await isListening(p)).toBe(false);

      const second = npmStart(args);
      runs.push(second);
      const again = await ready(second);
      expect(again.pids.some((pid) => pids.includes(pid))).toBe(false);
      // A fresh data directory: no users yet.
      expect((await request(port, 'GET', '/api/v1/users')).status).toBe(204);
      pids = again.pids;
    } finally {
      for (const run of runs) killGroup(run.child.pid!);
      for (const pid of pids) killGroup(pid);
    }
  });
});

describe('Ctrl-C on a busy machine (process mode)', () => {
  test('stops every replica and says so, even when the orchestrator cannot run for a moment as the signal arrives', async () => {
    const port = await freePort();
    const actsFirstPort = await freePortRange(2);
    const usersFirstPort = await freePortRange(10);
    const run = npmStart(startArgs(port, actsFirstPort, usersFirstPort, 'orch-busy-ctrl-c-'));
    let pids: number[] = [];
    try {
      ({ pids } = await ready(run));
      const orchestratorPid = parentOf(pids[0]!);
      // A loaded machine, made certain: the orchestrator is not scheduled while Ctrl-C reaches
      // the whole process group, and runs again 300 ms later. Nothing between npm and it may
      // take the wait for a sign that the signal was ignored (a relay that then SIGKILLs it
      // would leave the stop half done and never print "stopped.").
      process.kill(orchestratorPid, 'SIGSTOP');
      process.kill(-run.child.pid!, 'SIGINT');
      await new Promise((r) => setTimeout(r, 300));
      try {
        process.kill(orchestratorPid, 'SIGCONT');
      } catch {
        // Already gone: the assertions below say how.
      }
      await eventually(
        () => /stopped\.|failed/.test(run.output()) || run.child.exitCode !== null,
        50,
        30_000,
      );
      await run.exited;
      expect(run.output()).toMatch(/SIGINT: stopping every replica…\nstopped\.\n$/);
      await eventually(() => pids.every((pid) => !processAlive(pid)), 25, 15_000);
      for (const p of [port, actsFirstPort, actsFirstPort + 1, usersFirstPort])
        expect(await isListening(p)).toBe(false);
    } finally {
      killGroup(run.child.pid!);
      for (const pid of pids) killGroup(pid);
    }
  });
});
