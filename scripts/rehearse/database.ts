/**
 * Stand-ins for the stack's RDS databases: one MariaDB server container per database on the
 * rehearsal network, with the master credentials the template's generated secret would hold,
 * served to the hosts through the AWS CLI stand-in.
 */
import { randomBytes } from 'node:crypto';
import { DATABASE_CONTAINER, LABEL, NETWORK, PREFIX } from './names';
import { must, run, waitFor } from './process';
import type { DatabaseResource } from './template';

export interface RunningDatabase {
  resource: DatabaseResource;
  container: string;
  address: string;
  /** The name hosts reach it by, like an RDS endpoint. */
  endpoint: string;
  port: number;
  /** The secret's JSON, as RDS and Secrets Manager hold it. */
  secretString: string;
}

export function databaseContainerName(index: number): string {
  return index === 0 ? DATABASE_CONTAINER : `${DATABASE_CONTAINER}-${index + 1}`;
}

export async function startDatabase(
  resource: DatabaseResource,
  index: number,
  address: string,
  endpoint: string,
  image: string,
): Promise<RunningDatabase> {
  const container = databaseContainerName(index);
  // Alphanumeric, like a generated secret that excludes punctuation.
  const password = randomBytes(24).toString('hex');
  must('docker', [
    'volume',
    'create',
    '--label',
    LABEL,
    `${PREFIX}-${container.slice(PREFIX.length + 1)}-data`,
  ]);
  must(
    'docker',
    [
      'run',
      '--detach',
      '--name',
      container,
      '--label',
      LABEL,
      '--network',
      NETWORK,
      '--ip',
      address,
      '--env',
      `MARIADB_ROOT_PASSWORD=${password}`,
      '--env',
      `MARIADB_USER=${resource.username}`,
      '--env',
      `MARIADB_PASSWORD=${password}`,
      ...(resource.databaseName ? ['--env', `MARIADB_DATABASE=${resource.databaseName}`] : []),
      '--volume',
      `${PREFIX}-${container.slice(PREFIX.length + 1)}-data:/var/lib/mysql`,
      image,
      // The stack's parameter group, as server options.
      ...Object.entries(resource.parameters).map(([name, value]) => `--${name}=${value}`),
    ],
    { timeoutMs: 60_000 },
  );
  await waitFor(
    `the database stand-in ${container}`,
    () =>
      run('docker', ['exec', container, 'mariadb-admin', '--socket=/run/mysqld/mysqld.sock', 'ping'], {
        timeoutMs: 5000,
      }).ok
        ? true
        : undefined,
    90_000,
    1000,
  );
  return {
    resource,
    container,
    address,
    endpoint,
    port: 3306,
    secretString: JSON.stringify({
      username: resource.username,
      password,
      engine: 'mysql',
      // The address, as verified end to end; the endpoint name also resolves through the rehearsal's resolver.
      host: address,
      port: 3306,
      ...(resource.databaseName ? { dbname: resource.databaseName } : {}),
      dbInstanceIdentifier: resource.logicalId.toLowerCase(),
    }),
  };
}
