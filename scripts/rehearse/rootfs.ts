/**
 * The hosts' root filesystem: Debian made by `debootstrap` (pulled images are not available
 * here), prepared once and kept as one tarball in the git-ignored cache, then imported as two
 * images: the host (systemd as PID 1, Docker installed but not enabled, as on a fresh AMI
 * before its user data runs) and a MariaDB server image that stands in for the databases the
 * stack names (the on-host database image, or RDS).
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import {
  CACHE_DIR,
  DATABASE_IMAGE_REPO,
  DEBIAN_MIRROR,
  DEBIAN_SUITE,
  HOST_IMAGE_REPO,
  HOST_SUPPORT_DIR,
  ROOTFS_PACKAGES,
} from './names';
import { must, run, runAsync, tail } from './process';

/** Bump when prepareRootfs() changes what it writes, so caches made by an older one are not reused. */
const PREPARATION_VERSION = 2;
const BOOT_UNIT = 'rehearsal-boot.service';
const DATABASE_ENTRYPOINT = '/usr/local/bin/rehearsal-mariadb-entrypoint';

export function rootfsKey(): string {
  return createHash('sha256')
    .update(JSON.stringify([DEBIAN_SUITE, ROOTFS_PACKAGES, PREPARATION_VERSION]))
    .digest('hex')
    .slice(0, 12);
}

export function rootfsTarball(key = rootfsKey()): string {
  return path.join(CACHE_DIR, `rootfs-${DEBIAN_SUITE}-${key}.tar`);
}

export const hostImage = (key = rootfsKey()) => `${HOST_IMAGE_REPO}:${key}`;
export const databaseImage = (key = rootfsKey()) => `${DATABASE_IMAGE_REPO}:${key}-slim`;

/**
 * First-run setup of an empty data directory, as the official image's entrypoint does for the
 * variables the stack uses; then the server in the foreground, with the container's arguments.
 */
const ENTRYPOINT_SCRIPT = `#!/bin/sh
set -eu
DATADIR=/var/lib/mysql
install -d -o mysql -g mysql /run/mysqld
sql_quote() { printf "%s" "$1" | sed "s/'/''/g"; }
if [ ! -d "$DATADIR/mysql" ]; then
  : "\${MARIADB_ROOT_PASSWORD:?MARIADB_ROOT_PASSWORD is required}"
  chown -R mysql:mysql "$DATADIR"
  mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db --auth-root-authentication-method=normal >/dev/null
  mariadbd --user=mysql --datadir="$DATADIR" --skip-networking --socket=/run/mysqld/setup.sock &
  setup_pid=$!
  i=0
  until mariadb-admin --socket=/run/mysqld/setup.sock ping >/dev/null 2>&1; do
    i=$((i + 1)); [ "$i" -lt 120 ] || { echo "database setup did not start" >&2; exit 1; }; sleep 0.5
  done
  root_pw="$(sql_quote "$MARIADB_ROOT_PASSWORD")"
  {
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$root_pw';"
    echo "CREATE USER 'root'@'%' IDENTIFIED BY '$root_pw';"
    echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    if [ -n "\${MARIADB_DATABASE:-}" ]; then echo "CREATE DATABASE IF NOT EXISTS \\\`$MARIADB_DATABASE\\\`;"; fi
    if [ -n "\${MARIADB_USER:-}" ]; then
      echo "CREATE USER '$MARIADB_USER'@'%' IDENTIFIED BY '$(sql_quote "\${MARIADB_PASSWORD:-}")';"
      echo "GRANT ALL ON *.* TO '$MARIADB_USER'@'%';"
    fi
    echo "FLUSH PRIVILEGES;"
  } | mariadb --socket=/run/mysqld/setup.sock --user=root
  kill "$setup_pid"
  wait "$setup_pid" || true
fi
exec mariadbd --user=mysql --datadir="$DATADIR" --bind-address=0.0.0.0 --skip-name-resolve "$@"
`;

/** Like must(), without blocking the event loop: imports run while the images build. */
async function mustAsync(
  command: string,
  args: string[],
  options: { timeoutMs?: number } = {},
): Promise<void> {
  const result = await runAsync(command, args, options);
  if (!result.ok) throw new Error(`${command} ${args.slice(0, 3).join(' ')} failed: ${tail(result)}`);
}

function unlinkIfPresent(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already absent
  }
}

function link(target: string, file: string): void {
  unlinkIfPresent(file);
  symlinkSync(target, file);
}

/** Makes a fresh debootstrap tree into the host filesystem the rehearsal boots (idempotent). */
export function prepareRootfs(root: string): void {
  const etc = (...parts: string[]) => path.join(root, 'etc', ...parts);
  // A fresh AMI has no Docker until the user data installs and enables it; hosts don't run MariaDB.
  for (const wants of ['multi-user.target.wants', 'sockets.target.wants']) {
    for (const unit of [
      'docker.service',
      'docker.socket',
      'mariadb.service',
      'mariadb.socket',
      'mariadb-extra.socket',
    ]) {
      unlinkIfPresent(etc('systemd', 'system', wants, unit));
    }
  }
  for (const alias of ['mysql.service', 'mysqld.service']) unlinkIfPresent(etc('systemd', 'system', alias));
  // Consoles and device management have nothing to do in a container.
  for (const unit of [
    'getty@tty1.service',
    'console-getty.service',
    'systemd-udevd.service',
    'systemd-udev-trigger.service',
  ]) {
    link('/dev/null', etc('systemd', 'system', unit));
  }
  // The rehearsal's boot unit lives in the read-only support folder mounted into every host.
  link(`${HOST_SUPPORT_DIR}/${BOOT_UNIT}`, etc('systemd', 'system', BOOT_UNIT));
  link(`/etc/systemd/system/${BOOT_UNIT}`, etc('systemd', 'system', 'multi-user.target.wants', BOOT_UNIT));
  // The server's first-run setup must find an empty data directory.
  const data = path.join(root, 'var', 'lib', 'mysql');
  for (const entry of readdirSync(data)) rmSync(path.join(data, entry), { recursive: true, force: true });
  writeFileSync(path.join(root, DATABASE_ENTRYPOINT), ENTRYPOINT_SCRIPT);
  chmodSync(path.join(root, DATABASE_ENTRYPOINT), 0o755);
  rmSync(path.join(root, 'var', 'cache', 'apt', 'archives'), { recursive: true, force: true });
  mkdirSync(path.join(root, 'var', 'cache', 'apt', 'archives', 'partial'), { recursive: true });
  writeFileSync(etc('hostname'), 'localhost\n');
}

/** Builds the tarball when it is not cached. */
export async function ensureRootfs(log: (line: string) => void): Promise<string> {
  const tarball = rootfsTarball();
  if (existsSync(tarball)) {
    log(`root filesystem cached: ${path.relative(process.cwd(), tarball)}`);
    return tarball;
  }
  mkdirSync(CACHE_DIR, { recursive: true });
  const work = `${tarball}.work`;
  rmSync(work, { recursive: true, force: true });
  const root = path.join(work, 'root');
  log(`debootstrap ${DEBIAN_SUITE} with ${ROOTFS_PACKAGES.length} packages (a few minutes, once)`);
  const started = Date.now();
  let extracted = 0;
  const result = await runAsync(
    'debootstrap',
    ['--variant=minbase', `--include=${ROOTFS_PACKAGES.join(',')}`, DEBIAN_SUITE, root, DEBIAN_MIRROR],
    {
      timeoutMs: 20 * 60_000,
      onLine: (line) => {
        if (/^I: (Unpacking|Configuring)/.test(line) && ++extracted % 40 === 0)
          log(`  debootstrap: ${line.slice(3)}`);
      },
    },
  );
  if (!result.ok) {
    rmSync(work, { recursive: true, force: true });
    throw new Error(`debootstrap failed: ${tail(result)}`);
  }
  adoptRootfs(root, tarball);
  log(`root filesystem made in ${Math.round((Date.now() - started) / 1000)} s`);
  return tarball;
}

/** Prepares a debootstrap tree and packs it into the cache tarball (the tree is then removed). */
export function adoptRootfs(root: string, tarball = rootfsTarball()): void {
  prepareRootfs(root);
  must('tar', ['-C', root, '--numeric-owner', '-cf', `${tarball}.partial`, '.'], { timeoutMs: 5 * 60_000 });
  must('mv', [`${tarball}.partial`, tarball]);
  rmSync(path.dirname(root), { recursive: true, force: true });
}

/** What the database image leaves out of the host filesystem: the container engine, package lists, docs. */
const NOT_IN_DATABASE_IMAGE = [
  './usr/sbin/dockerd',
  './usr/bin/containerd*',
  './usr/bin/docker*',
  './usr/bin/ctr',
  './usr/bin/dnet',
  './usr/sbin/ovrouter',
  './usr/sbin/runc',
  './var/lib/apt/lists',
  './usr/share/locale',
  './usr/share/doc',
  './usr/share/man',
];

/** The database image's filesystem: the host's, less what only a host needs (about half the size). */
async function databaseTarball(hostTarball: string): Promise<string> {
  const tarball = hostTarball.replace(/\.tar$/, '-mariadb.tar');
  if (existsSync(tarball)) return tarball;
  const work = `${tarball}.work`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    await mustAsync('tar', ['-C', work, '--numeric-owner', '-xf', hostTarball], { timeoutMs: 5 * 60_000 });
    await mustAsync(
      'tar',
      [
        '-C',
        work,
        '--numeric-owner',
        ...NOT_IN_DATABASE_IMAGE.map((p) => `--exclude=${p}`),
        '-cf',
        `${tarball}.partial`,
        '.',
      ],
      {
        timeoutMs: 5 * 60_000,
      },
    );
    await mustAsync('mv', [`${tarball}.partial`, tarball]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return tarball;
}

function imageExists(ref: string): boolean {
  return run('docker', ['image', 'inspect', '--format', '{{.Id}}', ref]).ok;
}

/** Imports the host and database images from the tarball when the engine lacks them. */
export async function ensureImages(
  tarball: string,
  log: (line: string) => void,
): Promise<{ host: string; database: string }> {
  const host = hostImage();
  const database = databaseImage();
  if (!imageExists(host)) {
    log(`importing ${host}`);
    await mustAsync('docker', ['import', '--change', 'CMD ["/lib/systemd/systemd"]', tarball, host], {
      timeoutMs: 5 * 60_000,
    });
  }
  if (!imageExists(database)) {
    log(`importing ${database}`);
    await mustAsync(
      'docker',
      [
        'import',
        '--change',
        `ENTRYPOINT ["${DATABASE_ENTRYPOINT}"]`,
        '--change',
        'EXPOSE 3306',
        '--change',
        'VOLUME /var/lib/mysql',
        await databaseTarball(tarball),
        database,
      ],
      { timeoutMs: 5 * 60_000 },
    );
  }
  return { host, database };
}
