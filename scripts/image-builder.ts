/**
 * Builds `users:latest` and `acts:latest` on the local Docker engine from the deployment
 * Dockerfiles. When `node:20-bookworm-slim` is neither present nor pullable (no registry),
 * the images are built on a base made from this machine's own Node runtime instead.
 * Images carry a label with a hash of their sources, so `ensureImages()` without `force`
 * is a no-op when they are current and a rebuild when the code changed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildLocalBaseImage, localBaseImageTag } from './base-image';

export const SERVICES = ['users', 'acts'] as const;
export type ServiceName = (typeof SERVICES)[number];
export const DEFAULT_BASE_IMAGE = 'node:20-bookworm-slim';
const SOURCE_LABEL = 'selfieless.source';
const REPO_ROOT = path.resolve(__dirname, '..');

export interface EnsureImagesOptions {
  /** Rebuild even when the images are current. */
  force?: boolean;
  /** Progress lines; defaults to stderr. */
  log?: (line: string) => void;
}

export function imageName(service: ServiceName): string {
  return `${service}:latest`;
}

/** Runs a docker CLI command to completion with a deadline; never throws. */
function docker(args: string[], timeoutMs = 30_000): { ok: boolean; stdout: string; stderr: string } {
  const result = spawnSync('docker', args, { encoding: 'utf8', timeout: timeoutMs });
  return {
    ok: result.status === 0,
    stdout: result.stdout ?? '',
    stderr: (result.stderr ?? '') + (result.error ? result.error.message : ''),
  };
}

function imageExists(ref: string): boolean {
  return docker(['image', 'inspect', '--format', '{{.Id}}', ref]).ok;
}

function imageLabel(ref: string, label: string): string | undefined {
  const result = docker(['image', 'inspect', '--format', `{{index .Config.Labels "${label}"}}`, ref]);
  return result.ok ? result.stdout.trim() : undefined;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') out.push(...listFiles(full));
    } else if (entry.isFile()) out.push(full);
  }
  return out.sort();
}

/** What an image is built from: every service source and what it imports from common/, the lock file, the ignore file, the base. */
export function sourceHash(service: ServiceName, baseImage: string, repoRoot = REPO_ROOT): string {
  const hash = createHash('sha256').update(`${service}\0${baseImage}\0`);
  const inputs = [
    ...listFiles(path.join(repoRoot, 'common')),
    ...listFiles(path.join(repoRoot, 'services')),
    path.join(repoRoot, 'package-lock.json'),
    path.join(repoRoot, '.dockerignore'),
  ];
  for (const file of inputs) {
    hash.update(path.relative(repoRoot, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/** Pulls with a watchdog: a pull that makes no progress for a while counts as "no registry". */
function tryPull(ref: string, log: (line: string) => void, stallMs = 20_000): Promise<boolean> {
  return new Promise((resolve) => {
    log(`pulling ${ref}`);
    const child = spawn('docker', ['pull', ref], { stdio: ['ignore', 'pipe', 'pipe'] });
    let watchdog = setTimeout(stalled, stallMs);
    function stalled(): void {
      log(`pull of ${ref} made no progress for ${stallMs / 1000} s; giving up`);
      child.kill('SIGKILL');
    }
    const onOutput = (chunk: Buffer): void => {
      clearTimeout(watchdog);
      watchdog = setTimeout(stalled, stallMs);
      for (const line of chunk.toString().split('\n')) if (line.trim()) log(`  ${line.trim()}`);
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    child.on('error', () => resolve(false));
    child.on('close', (code) => {
      clearTimeout(watchdog);
      resolve(code === 0);
    });
  });
}

/** The official base when it is here or can be pulled; otherwise one made from this machine's Node. */
export async function resolveBaseImage(log: (line: string) => void): Promise<string> {
  if (imageExists(DEFAULT_BASE_IMAGE)) return DEFAULT_BASE_IMAGE;
  const local = localBaseImageTag();
  if (imageExists(local)) {
    log(`using local base image ${local} (${DEFAULT_BASE_IMAGE} is not on this engine)`);
    return local;
  }
  if (await tryPull(DEFAULT_BASE_IMAGE, log)) return DEFAULT_BASE_IMAGE;
  log(`no registry reachable for ${DEFAULT_BASE_IMAGE}`);
  return buildLocalBaseImage({ repoRoot: REPO_ROOT, log }, local);
}

function buildImage(
  service: ServiceName,
  baseImage: string,
  source: string,
  log: (line: string) => void,
): Promise<void> {
  const args = [
    'build',
    '--force-rm',
    '--file',
    `services/${service}/Dockerfile`,
    '--tag',
    imageName(service),
    '--build-arg',
    `BASE_IMAGE=${baseImage}`,
    '--label',
    `${SOURCE_LABEL}=${source}`,
    '.',
  ];
  log(`building ${imageName(service)} on ${baseImage}`);
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const deadline = setTimeout(() => child.kill('SIGKILL'), 15 * 60_000);
    const onOutput = (chunk: Buffer): void => {
      for (const raw of chunk.toString().split('\n')) {
        const line = raw.trimEnd();
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 30) tail.shift();
        // Step headers are the progress; the rest is kept for the error message.
        if (/^(Step \d+\/\d+|Successfully)/.test(line))
          log(`  [${service}] ${line.replace(/\s+/g, ' ').slice(0, 110)}`);
      }
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    child.on('error', (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(deadline);
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `docker build of ${imageName(service)} failed (${code ?? 'killed'}):\n${tail.join('\n')}`,
          ),
        );
    });
  });
}

/**
 * Serialises builds across processes (parallel test files call ensureImages at once): a
 * lock directory holding the owner's pid, taken over when that process is gone.
 */
async function withBuildLock<T>(work: () => Promise<T>): Promise<T> {
  const lock = path.join(os.tmpdir(), 'selfieless-images.lock');
  const owner = path.join(lock, 'pid');
  const giveUpAt = Date.now() + 20 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(owner, String(process.pid));
      break;
    } catch {
      if (lockOwnerIsGone(owner)) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > giveUpAt) throw new Error(`image build lock ${lock} is still held`);
      else await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function lockOwnerIsGone(ownerFile: string): boolean {
  try {
    const pid = Number(readFileSync(ownerFile, 'utf8'));
    if (!Number.isInteger(pid) || pid <= 0) return isOld(ownerFile);
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // ENOENT: the owner has not written its pid yet (or just released).
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function isOld(file: string): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs > 10_000;
  } catch {
    return false;
  }
}

/**
 * Each rebuild leaves the previous final image untagged and a build-stage image behind
 * (about 280 MB together); only dangling images carrying the project's labels are removed.
 */
function removeLeftoverImages(): void {
  for (const label of [SOURCE_LABEL, 'selfieless.stage=build']) {
    docker(['image', 'prune', '--force', '--filter', `label=${label}`], 60_000);
  }
}

export async function ensureImages(opts: EnsureImagesOptions = {}): Promise<void> {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const version = docker(['version', '--format', '{{.Server.Version}}'], 10_000);
  if (!version.ok) throw new Error(`no Docker engine answers: ${version.stderr.trim()}`);

  await withBuildLock(async () => {
    const base = await resolveBaseImage(log);
    for (const service of SERVICES) {
      const source = sourceHash(service, base);
      if (!opts.force && imageLabel(imageName(service), SOURCE_LABEL) === source) {
        log(`${imageName(service)} is current`);
        continue;
      }
      const started = Date.now();
      await buildImage(service, base, source, log);
      log(`${imageName(service)} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    removeLeftoverImages();
  });
}
