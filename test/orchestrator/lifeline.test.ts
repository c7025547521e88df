/**
 * Nothing outlives the orchestrator in process mode: a SIGKILLed `npm start` orchestrator
 * leaves no replica running (each watches a lifeline pipe), and the next `npm start` on the
 * same ports comes up without any cleanup.
 */
import { readFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../support/requirements';
import {
  eventually,
  freePortRange,
  isListening,
  killGroup,
  npmStart,
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

describe('nothing outlives the orchestrator (process mode)', () => {
  test('a SIGKILLed orchestrator leaves no replica running, and the next npm start comes up on the same ports', async () => {
    const port = await freePort();
    const actsFirstPort = await freePortRange(2);
    const usersFirstPort = await freePortRange(10);
    const args = [
      '--port',
      String(port),
      '--replicas',
      '2',
      '--data-dir',
      mkdtempSync(path.join(os.tmpdir(), 'orch-lifeline-')),
      '--acts-first-port',
      String(actsFirstPort),
      '--users-first-port',
      String(usersFirstPort),
      '--admin-port',
      '0',
    ];
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
