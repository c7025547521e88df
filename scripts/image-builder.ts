/**
 * Builds `users:latest` and `acts:latest` on the local Docker engine from the deployment
 * Dockerfile, installing dependencies inside the build as a deploy does. When the official
 * Node 22 images are neither present nor pullable (no registry), the images are built on
 * bases made from this machine's own Node runtime instead, and this machine's CA bundle is
 * lent to the dependency install as a build secret (never stored in a layer).
 * Images carry a label with a hash of their sources, so `ensureImages()` without `force`
 * is a no-op when they are current and a rebuild when the code changed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  type BaseImages,
  DOCKERFILE,
  imageBuildArgs,
  NPM_CA_SECRET_ID,
  SERVICE_NAMES,
  type ServiceName,
} from '../lib/service-images';
import {
  buildLocalBaseImage,
  buildLocalBuildBaseImage,
  localBaseImageTag,
  localBuildBaseImageTag,
} from './base-image';
import { findBuildKitDocker, runDockerBuild } from './docker-assets';
import { SERVICES as TOPOLOGY } from '../common/topology';

export const SERVICES = SERVICE_NAMES;
export type { ServiceName };
export const DEFAULT_BASE_IMAGE = 'node:22-bookworm-slim';
export const DEFAULT_BUILD_BASE_IMAGE = 'node:22-bookworm';
/** This machine's CA bundle: lent to npm inside the build when present (a TLS-inspecting proxy needs it). */
export const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const SOURCE_LABEL = 'selfieless.source';
const REPO_ROOT = path.resolve(__dirname, '..');

export interface EnsureImagesOptions {
  /** Rebuild even when the images are current. */
  force?: boolean;
  /** Progress lines; defaults to stderr. */
  log?: (line: string) => void;
}

export function imageName(service: ServiceName): string {
  return TOPOLOGY[service].image;
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

/** What an image is built from: the service sources and common/ (which they import), the manifests, the Dockerfile and ignore file, the bases. */
export function sourceHash(service: ServiceName, bases: Required<BaseImages>, repoRoot = REPO_ROOT): string {
  const hash = createHash('sha256').update(`${service}\0${bases.baseImage}\0${bases.buildBaseImage}\0`);
  const inputs = [
    ...listFiles(path.join(repoRoot, 'common')),
    ...listFiles(path.join(repoRoot, 'services')),
    ...['package.json', 'package-lock.json', DOCKERFILE, '.dockerignore'].map((f) => path.join(repoRoot, f)),
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

/** The official image when it is here or can be pulled; otherwise the local stand-in, made when missing. */
async function resolveImage(
  official: string,
  local: string,
  make: () => string,
  log: (line: string) => void,
): Promise<string> {
  if (imageExists(official)) return official;
  if (imageExists(local)) {
    log(`using local image ${local} (${official} is not on this engine)`);
    return local;
  }
  if (await tryPull(official, log)) return official;
  log(`no registry reachable for ${official}`);
  return make();
}

/** Both bases of the Dockerfile's stages, official where possible. */
export async function resolveBaseImages(log: (line: string) => void): Promise<Required<BaseImages>> {
  const options = { repoRoot: REPO_ROOT, log };
  const baseImage = await resolveImage(
    DEFAULT_BASE_IMAGE,
    localBaseImageTag(),
    () => buildLocalBaseImage(options),
    log,
  );
  const buildBaseImage = await resolveImage(
    DEFAULT_BUILD_BASE_IMAGE,
    localBuildBaseImageTag(),
    () => buildLocalBuildBaseImage(options),
    log,
  );
  return { baseImage, buildBaseImage };
}

/** The `docker build` arguments of one service image (run in the repository root). */
export function localBuildCommand(
  service: ServiceName,
  bases: BaseImages,
  source: string,
  caBundle: string | undefined,
): string[] {
  return [
    'build',
    ...Object.entries(imageBuildArgs(service, bases)).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
    ...(caBundle ? ['--secret', `id=${NPM_CA_SECRET_ID},src=${caBundle}`] : []),
    '--label',
    `${SOURCE_LABEL}=${source}`,
    '--tag',
    imageName(service),
    '--file',
    DOCKERFILE,
    '.',
  ];
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
  const buildKit = findBuildKitDocker();
  const caBundle = existsSync(SYSTEM_CA_BUNDLE) ? SYSTEM_CA_BUNDLE : undefined;

  await withBuildLock(async () => {
    const bases = await resolveBaseImages(log);
    for (const service of SERVICES) {
      const source = sourceHash(service, bases);
      if (!opts.force && imageLabel(imageName(service), SOURCE_LABEL) === source) {
        log(`${imageName(service)} is current`);
        continue;
      }
      const started = Date.now();
      log(`building ${imageName(service)} on ${bases.baseImage}`);
      await runDockerBuild(buildKit, localBuildCommand(service, bases, source, caBundle), REPO_ROOT, {
        tag: imageName(service),
        log: (line) => log(`  [${service}] ${line}`),
      });
      log(`${imageName(service)} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    removeLeftoverImages();
  });
}
