/**
 * The Docker image assets of a synthesized CDK app, built as `cdk deploy` builds them.
 *
 * `readDockerImageAssets(cdkOut)` reads every `*.assets.json` in a cloud assembly;
 * `cdkDockerBuildCommand(asset, tag)` is the exact `docker build` argument list the CDK CLI
 * (cdk-assets) runs in the asset's staged directory; `buildDockerImageAsset` runs it.
 * Used by the asset tests and by the deploy rehearsal, so both build what AWS would receive.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface DockerImageAssetBuild {
  /** Manifest key (the asset hash). */
  id: string;
  /** Name of the manifest file it came from, e.g. `SelfieLessActs.assets.json`. */
  manifest: string;
  displayName?: string;
  /** Absolute path of the staged build context. */
  directory: string;
  dockerFile?: string;
  buildArgs: Record<string, string>;
  /** Secret id → cdk-assets spec, e.g. `src=/path/file`. */
  buildSecrets: Record<string, string>;
  platform?: string;
  target?: string;
  networkMode?: string;
  /** Where `cdk deploy` would push it: `repositoryName:imageTag` per destination. */
  destinations: { repositoryName: string; imageTag: string }[];
}

interface ManifestImage {
  displayName?: string;
  source: {
    directory?: string;
    dockerFile?: string;
    dockerBuildArgs?: Record<string, string>;
    dockerBuildSecrets?: Record<string, string>;
    dockerBuildTarget?: string;
    platform?: string;
    networkMode?: string;
    executable?: string[];
  };
  destinations: Record<string, { repositoryName: string; imageTag: string }>;
}

export function readDockerImageAssets(cdkOut: string): DockerImageAssetBuild[] {
  const manifests = readdirSync(cdkOut).filter((name) => name.endsWith('.assets.json'));
  if (manifests.length === 0) throw new Error(`no *.assets.json in ${cdkOut}: synthesize first`);
  return manifests.flatMap((manifest) => {
    const parsed = JSON.parse(readFileSync(path.join(cdkOut, manifest), 'utf8')) as {
      dockerImages?: Record<string, ManifestImage>;
    };
    return Object.entries(parsed.dockerImages ?? {}).map(([id, image]) => {
      const { source } = image;
      if (source.executable || !source.directory) {
        throw new Error(`${manifest} ${id}: only directory-based image assets are supported`);
      }
      return {
        id,
        manifest,
        ...(image.displayName !== undefined ? { displayName: image.displayName } : {}),
        directory: path.resolve(cdkOut, source.directory),
        ...(source.dockerFile !== undefined ? { dockerFile: source.dockerFile } : {}),
        buildArgs: source.dockerBuildArgs ?? {},
        buildSecrets: source.dockerBuildSecrets ?? {},
        ...(source.platform !== undefined ? { platform: source.platform } : {}),
        ...(source.dockerBuildTarget !== undefined ? { target: source.dockerBuildTarget } : {}),
        ...(source.networkMode !== undefined ? { networkMode: source.networkMode } : {}),
        destinations: Object.values(image.destinations),
      };
    });
  });
}

/** The CDK CLI's `docker build` arguments, in its order (aws-cdk's Docker.build). */
export function cdkDockerBuildCommand(asset: DockerImageAssetBuild, tag: string): string[] {
  return [
    'build',
    ...Object.entries(asset.buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
    ...Object.entries(asset.buildSecrets).flatMap(([k, v]) => ['--secret', `id=${k},${v}`]),
    '--tag',
    tag,
    ...(asset.target ? ['--target', asset.target] : []),
    ...(asset.dockerFile ? ['--file', asset.dockerFile] : []),
    ...(asset.networkMode ? ['--network', asset.networkMode] : []),
    ...(asset.platform ? ['--platform', asset.platform] : []),
    '.',
  ];
}

export interface BuildKitDocker {
  /** The docker executable, as `CDK_DOCKER` names it for the CDK CLI. */
  command: string;
  /** What the environment of a build adds. */
  env: Record<string, string>;
}

/**
 * A docker client that builds with BuildKit, which the Dockerfile needs (an optional build
 * secret). Docker 23+ has it by default through buildx; a 20.10 client has it built in when
 * DOCKER_BUILDKIT=1. A newer client without the buildx plugin has neither, so an older
 * client beside it (Debian's /usr/bin/docker) is tried too.
 */
export function findBuildKitDocker(
  candidates = [process.env.CDK_DOCKER, 'docker', '/usr/bin/docker'],
): BuildKitDocker {
  const tried: string[] = [];
  for (const command of new Set(candidates.filter((c): c is string => Boolean(c)))) {
    tried.push(command);
    if (spawnSync(command, ['buildx', 'version'], { encoding: 'utf8' }).status === 0) {
      return { command, env: { DOCKER_BUILDKIT: '1' } };
    }
    const help = spawnSync(command, ['build', '--help'], {
      encoding: 'utf8',
      env: { ...process.env, DOCKER_BUILDKIT: '1' },
    });
    if (help.status === 0 && help.stdout.includes('--secret'))
      return { command, env: { DOCKER_BUILDKIT: '1' } };
  }
  throw new Error(
    `no docker client with BuildKit found (tried ${tried.join(', ')}): install the buildx plugin, or Docker 23 or later`,
  );
}

export interface BuildAssetOptions {
  tag: string;
  docker?: BuildKitDocker;
  /** Progress lines (step headers); the tail of the output goes into the error on failure. */
  log?: (line: string) => void;
  timeoutMs?: number;
}

/** Runs the CDK CLI's build of one asset in its staged directory. */
export function buildDockerImageAsset(
  asset: DockerImageAssetBuild,
  options: BuildAssetOptions,
): Promise<void> {
  const docker = options.docker ?? findBuildKitDocker();
  return runDockerBuild(docker, cdkDockerBuildCommand(asset, options.tag), asset.directory, options);
}

/** `docker <args>` in `cwd` with BuildKit's plain progress; rejects with the output's tail. */
export function runDockerBuild(
  docker: BuildKitDocker,
  args: string[],
  cwd: string,
  options: { log?: (line: string) => void; timeoutMs?: number; tag: string },
): Promise<void> {
  const log = options.log ?? (() => {});
  return new Promise((resolve, reject) => {
    const child = spawn(docker.command, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      // As the CDK CLI runs it (no provenance attestations), plus BuildKit.
      env: { ...process.env, BUILDX_NO_DEFAULT_ATTESTATIONS: '1', BUILDKIT_PROGRESS: 'plain', ...docker.env },
    });
    const tail: string[] = [];
    const deadline = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20 * 60_000);
    const onOutput = (chunk: Buffer): void => {
      for (const raw of chunk.toString().split('\n')) {
        const line = raw.trimEnd();
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 40) tail.shift();
        // BuildKit's step headers ("#7 [build 4/6] RUN ...") are the progress.
        if (/^#\d+ \[/.test(line)) log(line.replace(/\s+/g, ' ').slice(0, 120));
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
        reject(new Error(`docker build of ${options.tag} failed (${code ?? 'killed'}):\n${tail.join('\n')}`));
    });
  });
}
