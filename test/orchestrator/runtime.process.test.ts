import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createProcessRuntime, type ProcessRuntime } from '../../orchestrator/process-runtime';
import type { ReplicaInfo } from '../../orchestrator/runtime';
import { runtimeContract } from './runtime-contract';

const repoRoot = path.resolve(__dirname, '../..');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'runtime-process-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function pidOf(replica: ReplicaInfo): number {
  return Number(replica.id.replace(/^pid:/, ''));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

runtimeContract('process', {
  createRuntime: () => createProcessRuntime({ cwd: repoRoot, logDir: path.join(dataDir, 'logs') }),
  spec: (port) => ({
    pool: 'contract',
    port,
    internalPort: port,
    command: [process.execPath, '--import', 'tsx', 'services/acts/main.ts'],
    env: { DATABASE_URL: `sqlite:${path.join(dataDir, `acts-${port}.db`)}`, LOG_LEVEL: 'warn' },
    specHash: 'contract-spec',
  }),
  killFromOutside: async (replica) => {
    process.kill(pidOf(replica), 'SIGKILL');
  },
  isGone: async (replica) => !isAlive(pidOf(replica)),
  cleanup: (runtime) => (runtime as ProcessRuntime).removeAll(),
});
