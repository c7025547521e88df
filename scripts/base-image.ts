/**
 * Node base images made from this machine's own Node runtime, for engines that cannot pull
 * the official `node:22-bookworm*` images from a registry. Two of them, as the Dockerfile's
 * two stages need:
 *
 * - the run-time base holds only what a service image runs: the node binary, the shared
 *   libraries it and the better-sqlite3 addon load, a POSIX shell, a non-root `node` user
 *   (uid 1000, as in the official image, so the Dockerfile says `USER node` for both), CA
 *   certificates and a world-writable /tmp;
 * - the build base is a minimal Debian (debootstrap) with a C++ toolchain and Python, plus
 *   this machine's node, npm and Node headers, so `npm ci` inside the build compiles native
 *   addons when no prebuilt binary can be downloaded.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
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

/** The build stage's base; the version in the tag works as for the run-time base. */
export function localBuildBaseImageTag(nodeVersion = process.version): string {
  return `selfieless/node-build-base:${nodeVersion.replace(/^v/, '')}`;
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

function requireLinux(): void {
  if (process.platform !== 'linux') {
    throw new Error("a local base image can only be made on Linux (it copies this machine's Node runtime)");
  }
}

/** Imports a staged root filesystem as `tag`; ownership is root throughout (the Dockerfile chowns what `node` writes). */
function importRootFilesystem(root: string, tag: string, message: string, env: string[]): void {
  const tarball = `${root}.tar`;
  try {
    execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', tarball, '.']);
    const imported = spawnSync(
      'docker',
      [
        'import',
        ...['ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...env].flatMap(
          (line) => ['--change', line],
        ),
        '--change',
        'CMD ["node"]',
        '--message',
        message,
        tarball,
        tag,
      ],
      { encoding: 'utf8', timeout: 300_000 },
    );
    if (imported.status !== 0) {
      throw new Error(`docker import failed: ${(imported.stderr || imported.error?.message || '').trim()}`);
    }
  } finally {
    rmSync(tarball, { force: true });
  }
}

export function buildLocalBaseImage(options: BaseImageOptions, tag = localBaseImageTag()): string {
  requireLinux();
  const nodeBinary = options.nodeBinary ?? process.execPath;
  const work = mkdtempSync(path.join(os.tmpdir(), 'selfieless-base-'));
  try {
    const root = path.join(work, 'rootfs');
    options.log(`making base image ${tag} from ${nodeBinary} (${process.version}) and its shared libraries`);
    stageRootFilesystem(root, options.repoRoot, nodeBinary);
    importRootFilesystem(root, tag, `Node ${process.version} runtime copied from the build host`, []);
    options.log(`base image ${tag} ready`);
    return tag;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** What the build base adds to a minimal Debian: what node-gyp needs to compile an addon. */
export const BUILD_BASE_PACKAGES = ['ca-certificates', 'python3', 'make', 'g++'];
const DEBIAN_SUITE = 'bookworm';

/** The directories of this machine's Node installation: the binary's prefix holds npm and the headers. */
function nodeInstallation(nodeBinary: string): { npmDir: string; includeDir: string } {
  const prefix = path.resolve(path.dirname(realpathSync(nodeBinary)), '..');
  const npmDir = path.join(prefix, 'lib/node_modules/npm');
  const includeDir = path.join(prefix, 'include/node');
  for (const [what, dir] of [
    ['npm', npmDir],
    ['the Node headers', includeDir],
  ] as const) {
    if (!existsSync(dir))
      throw new Error(`${what} not found at ${dir} (needed for the local build base image)`);
  }
  return { npmDir, includeDir };
}

/**
 * A minimal Debian with a compiler, plus this machine's node, npm and headers at /usr/local
 * (where the official image has them). Takes a few minutes (debootstrap); the image is the cache.
 */
export function buildLocalBuildBaseImage(options: BaseImageOptions, tag = localBuildBaseImageTag()): string {
  requireLinux();
  const nodeBinary = options.nodeBinary ?? process.execPath;
  const { npmDir, includeDir } = nodeInstallation(nodeBinary);
  const probe = spawnSync('debootstrap', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error('debootstrap is needed to make the local build base image (apt-get install debootstrap)');
  }
  const work = mkdtempSync(path.join(os.tmpdir(), 'selfieless-build-base-'));
  try {
    const root = path.join(work, 'rootfs');
    options.log(
      `making build base image ${tag}: debootstrap ${DEBIAN_SUITE} with ${BUILD_BASE_PACKAGES.join(', ')} (a few minutes)`,
    );
    const bootstrap = spawnSync(
      'debootstrap',
      ['--variant=minbase', `--include=${BUILD_BASE_PACKAGES.join(',')}`, DEBIAN_SUITE, root],
      { encoding: 'utf8', timeout: 20 * 60_000 },
    );
    if (bootstrap.status !== 0) {
      const tail = `${bootstrap.stdout ?? ''}${bootstrap.stderr ?? ''}`
        .trim()
        .split('\n')
        .slice(-5)
        .join('\n');
      throw new Error(`debootstrap failed: ${bootstrap.error?.message ?? tail}`);
    }
    copyInto(root, nodeBinary, '/usr/local/bin/node');
    cpSync(npmDir, path.join(root, 'usr/local/lib/node_modules/npm'), { recursive: true });
    cpSync(includeDir, path.join(root, 'usr/local/include/node'), { recursive: true });
    for (const [name, script] of [
      ['npm', 'npm-cli.js'],
      ['npx', 'npx-cli.js'],
    ]) {
      symlinkSync(`../lib/node_modules/npm/bin/${script}`, path.join(root, 'usr/local/bin', name));
    }
    importRootFilesystem(
      root,
      tag,
      `Debian ${DEBIAN_SUITE} build tools with Node ${process.version} copied from the build host`,
      // node-gyp takes the headers from here instead of downloading them.
      ['ENV npm_config_nodedir=/usr/local'],
    );
    options.log(`build base image ${tag} ready`);
    return tag;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
