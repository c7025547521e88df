import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { createDockerRuntime } from '../../orchestrator/docker-runtime';
import { silentLogger } from '../../common/log';
import type { ContainerRuntime } from '../../orchestrator/runtime';
import { ensureImages } from '../../scripts/image-builder';
import { describeWith } from '../support/requirements';
import { runtimeContract } from './runtime-contract';

const run = promisify(execFile);
/** Its own owner label: this file never sees or touches anyone else's containers. */
const owner = `test-contract-${randomBytes(3).toString('hex')}`;

async function removeAllOwned(runtime: ContainerRuntime): Promise<void> {
  for (const replica of await runtime.list()) await runtime.remove(replica.id);
}

describeWith('docker', 'Docker runtime', () => {
  beforeAll(() => ensureImages({ log: () => {} }), 300_000);

  runtimeContract('docker', {
    createRuntime: () => createDockerRuntime({ publishHost: '127.0.0.1', logger: silentLogger, owner }),
    spec: (port) => ({
      pool: 'contract',
      port,
      internalPort: 8000,
      image: 'acts:latest',
      env: { DATABASE_URL: 'sqlite:/tmp/acts.db', LOG_LEVEL: 'warn' },
      specHash: 'contract-spec',
    }),
    killFromOutside: async (replica) => {
      await run('docker', ['kill', replica.id]);
    },
    isGone: async (replica) => {
      try {
        await run('docker', ['container', 'inspect', replica.id]);
        return false;
      } catch {
        return true;
      }
    },
    cleanup: removeAllOwned,
  });
});
