/**
 * `npm start` runs as a chain: npm → sh → this process (node with the tsx loader). Killing the
 * outer npm (SIGKILL, so nothing is relayed) leaves the rest running, reparented, with the
 * replicas behind them: a system nobody can stop with Ctrl-C any more, holding the ports the
 * next `npm start` needs. So this process records the chain of processes that launched it, up
 * to the process group's leader (npm, which a terminal or `detached` spawn makes the leader of
 * the whole job), and checks it on a short timer: when any of them is gone or has a new parent,
 * it stops everything it started, as on Ctrl-C.
 */
import { readFileSync } from 'node:fs';
import { parseProcStat } from '../../common/proc-stat';

/** One process and the parent it had when the chain was recorded. */
export interface Link {
  pid: number;
  parent: number;
}

export interface ProcessStat {
  parent: number;
  group: number;
}

/** Checked this often: the launcher's death is noticed within it. */
export const LAUNCHER_CHECK_MS = 250;

/**
 * The links from `self` up to the group's leader when that leader is one of its ancestors
 * (the processes `npm start` itself consists of); otherwise only `self`'s own link to its
 * parent. `stat` returns undefined for a process that cannot be read.
 */
export function launchChain(self: number, stat: (pid: number) => ProcessStat | undefined): Link[] {
  const own = stat(self);
  if (!own) return [];
  const links: Link[] = [{ pid: self, parent: own.parent }];
  const leader = own.group;
  if (leader === self) return links;
  const upward: Link[] = [...links];
  for (let pid = own.parent; pid > 1 && upward.length < 16;) {
    if (pid === leader) return upward;
    const s = stat(pid);
    if (!s) break;
    upward.push({ pid, parent: s.parent });
    pid = s.parent;
  }
  // The group's leader is not an ancestor (e.g. a shell without job control): the direct parent.
  return links;
}

/** Whether a recorded link no longer holds: the process is gone or was reparented. */
export function chainBroken(chain: readonly Link[], parentOf: (pid: number) => number | undefined): boolean {
  return chain.some((link) => parentOf(link.pid) !== link.parent);
}

function procStat(pid: number): ProcessStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Calls `onGone` once when the launch chain breaks. Without /proc (not Linux), only this
 * process's own parent is watched. The timer never keeps the process alive. Returns a stop.
 */
export function watchLauncher(onGone: () => void): () => void {
  const hasProc = procStat(process.pid) !== undefined;
  const chain = hasProc ? launchChain(process.pid, procStat) : [{ pid: process.pid, parent: process.ppid }];
  const parentOf = hasProc
    ? (pid: number) => procStat(pid)?.parent
    : (pid: number) => (pid === process.pid ? process.ppid : undefined);
  const timer = setInterval(() => {
    if (!chainBroken(chain, parentOf)) return;
    clearInterval(timer);
    onGone();
  }, LAUNCHER_CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
