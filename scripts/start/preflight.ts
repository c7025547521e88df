/**
 * Checks and preparations before `npm start` starts anything: the ports it will bind must be
 * free, and with containers the images must exist and the data directory be theirs to write.
 */
import { chmodSync, existsSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SERVICES, SERVICE_NAMES } from '../../common/topology';
import type { OrchestratorConfig } from '../../orchestrator/config';
import { ERROR_CODES, OrchestratorError } from '../../orchestrator/errors';
import { ensureImages } from '../image-builder';

function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(true));
    // The wildcard address collides with a listener on any local address, loopback included.
    probe.listen({ port, host: '0.0.0.0', exclusive: true }, () => probe.close(() => resolve(false)));
  });
}

/** Every port this run may bind, with what it is for; the taken ones. */
export async function takenPorts(config: OrchestratorConfig): Promise<string[]> {
  const wanted: Array<[number, string]> = [[config.listen.port, 'front door']];
  if (config.admin.port !== 0) wanted.push([config.admin.port, 'admin']);
  for (const pool of config.pools) {
    for (let i = 0; i < pool.maxReplicas; i++)
      wanted.push([pool.firstPort + i, `${pool.name} replica ${i + 1}`]);
  }
  const taken: string[] = [];
  for (const [port, what] of wanted) if (await portTaken(port)) taken.push(`${port} (${what})`);
  return taken;
}

/** The SQLite files npm start keeps under the data directory, with their WAL journals. */
function sqliteFilesIn(dataDir: string): string[] {
  return SERVICE_NAMES.flatMap((service) =>
    ['.db', '.db-wal', '.db-shm'].map((suffix) => path.join(dataDir, SERVICES[service].database + suffix)),
  );
}

/**
 * The service images run as an unprivileged user whose uid need not own the data directory
 * on the host. SQLite must create its files and journals there, and write the ones an earlier
 * `--runtime process` run created, so the directory is opened up (1777) and existing database
 * files are made writable for everyone. Only the files npm start itself uses are touched.
 */
export function shareDataDirWithContainers(dataDir: string, say: (line: string) => void): void {
  if ((statSync(dataDir).mode & 0o1777) !== 0o1777) {
    chmodSync(dataDir, 0o1777);
    say(`data directory ${dataDir} made writable for the containers' user (mode 1777)`);
  }
  for (const file of sqliteFilesIn(dataDir)) {
    if (!existsSync(file) || (statSync(file).mode & 0o666) === 0o666) continue;
    try {
      chmodSync(file, 0o666);
    } catch (error) {
      throw new OrchestratorError(
        ERROR_CODES.dataDir,
        `${file} is not writable for the containers' user and cannot be changed (${(error as Error).message}); ` +
          'fix its permissions or choose another --data-dir',
        { cause: error },
      );
    }
  }
}

export async function prepareImages(say: (line: string) => void): Promise<void> {
  say('checking the users and acts images…');
  await ensureImages({ log: (line) => say(`  ${line}`) });
}
