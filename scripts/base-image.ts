/**
 * A Node base image made from this machine's own Node runtime, for engines that cannot pull
 * `node:20-bookworm-slim` from a registry. The root filesystem holds only what the service
 * images need: the node binary, the shared libraries it and the better-sqlite3 addon load,
 * a POSIX shell for `RUN` lines, a non-root `node` user (uid 1000, as in the official image,
 * so the Dockerfiles say `USER node` for both), CA certificates and a world-writable /tmp.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface BaseImageOptions {
  repoRoot: string;
  log: (line: string) => void;
  /** Defaults to the Node running this script. */
  nodeBinary?: string;
}

/** The tag names the Node version, so a Node upgrade on the host makes a new base. */
export function localBaseImageTag(nodeVersion = process.version): string {
  return `selfieless/node-base:${nodeVersion.replace(/^v/, '')}`;
}

/** Paths `ldd` resolves for a binary, plus its program interpreter. */
export function parseLddOutput(output: string): string[] {
  const found = new Set<string>();
  for (const line of output.split('\n')) {
    const arrow = /=>\s*(\/\S+)/.exec(line);
    if (arrow) {
      found.add(arrow[1]);
      continue;
    }
    const bare = /^\s*(\/\S+)\s*\(/.exec(line);
    if (bare) found.add(bare[1]);
  }
  return [...found];
}

function sharedLibraries(binary: string): string[] {
  return parseLddOutput(execFileSync('ldd', [binary], { encoding: 'utf8' }));
}

/** Copies a file to the same absolute path under root, following symlinks (the image needs the bytes). */
function copyInto(root: string, source: string, target = source): void {
  const destination = path.join(root, target);
  mkdirSync(path.dirname(destination), { recursive: true });
  copyFileSync(realpathSync(source), destination);
  chmodSync(destination, 0o755);
}

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n';
const GROUP = 'root:x:0:\nnode:x:1000:\n';
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

function stageRootFilesystem(root: string, repoRoot: string, nodeBinary: string): void {
  copyInto(root, nodeBinary, '/usr/local/bin/node');
  const shell = realpathSync('/bin/sh');
  copyInto(root, shell, '/bin/sh');

  const addon = path.join(repoRoot, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node');
  const binaries = [nodeBinary, shell, ...(existsSync(addon) ? [addon] : [])];
  for (const library of new Set(binaries.flatMap(sharedLibraries))) copyInto(root, library);

  mkdirSync(path.join(root, 'etc/ssl/certs'), { recursive: true });
  writeFileSync(path.join(root, 'etc/passwd'), PASSWD);
  writeFileSync(path.join(root, 'etc/group'), GROUP);
  writeFileSync(path.join(root, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  if (existsSync(CA_BUNDLE)) copyFileSync(CA_BUNDLE, path.join(root, CA_BUNDLE));
  for (const dir of ['tmp', 'home/node', 'root', 'usr/bin'])
    mkdirSync(path.join(root, dir), { recursive: true });
  chmodSync(path.join(root, 'tmp'), 0o1777);
}

/** Imports the staged filesystem as `tag`; ownership is root throughout (the Dockerfiles chown what `node` writes). */
export function buildLocalBaseImage(options: BaseImageOptions, tag = localBaseImageTag()): string {
  if (process.platform !== 'linux') {
    throw new Error("a local base image can only be made on Linux (it copies this machine's Node runtime)");
  }
  const nodeBinary = options.nodeBinary ?? process.execPath;
  const work = mkdtempSync(path.join(os.tmpdir(), 'selfieless-base-'));
  try {
    const root = path.join(work, 'rootfs');
    options.log(`making base image ${tag} from ${nodeBinary} (${process.version}) and its shared libraries`);
    stageRootFilesystem(root, options.repoRoot, nodeBinary);
    const tarball = path.join(work, 'rootfs.tar');
    execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', tarball, '.']);
    const imported = spawnSync(
      'docker',
      [
        'import',
        '--change',
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        '--change',
        'CMD ["node"]',
        '--message',
        `Node ${process.version} runtime copied from the build host`,
        tarball,
        tag,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    if (imported.status !== 0) {
      throw new Error(`docker import failed: ${(imported.stderr || imported.error?.message || '').trim()}`);
    }
    options.log(`base image ${tag} ready`);
    return tag;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
