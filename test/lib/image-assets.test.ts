/**
 * The Docker image assets as `cdk deploy` builds them: synthesize, read the assets manifest,
 * run the CDK CLI's `docker build` in each staged directory (Dockerfile, platform, build
 * arguments and secrets from the manifest), run the image and ask it for `_health`.
 *
 * The project is a copy whose node_modules was installed for another platform (macOS on
 * ARM), as a deployer's laptop would have it: nothing of it may reach the images.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { populateApp } from '../../lib/app';
import { readSettings } from '../../lib/settings';
import { buildDockerImageAsset, readDockerImageAssets } from '../../scripts/docker-assets';
import { resolveBaseImages, SYSTEM_CA_BUNDLE } from '../../scripts/image-builder';
import { describeWith } from '../support/requirements';

const REPO_ROOT = path.resolve(__dirname, '../..');
/** What synthesizing the stack reads from the project, besides node_modules. */
const PROJECT_FILES = [
  'package.json',
  'package-lock.json',
  'Dockerfile',
  '.dockerignore',
  'common',
  'services',
  'orchestrator',
  'host',
];
const RUN_LABEL = 'selfieless.test=image-assets';

function docker(args: string[], timeout = 60_000): string {
  return execFileSync('docker', args, { encoding: 'utf8', timeout }).trim();
}

async function health(port: number, deadline = Date.now() + 30_000): Promise<number> {
  for (;;) {
    try {
      // A published port accepts before the service listens; a stalled attempt is retried.
      const response = await fetch(`http://127.0.0.1:${port}/api/v1/_health`, {
        signal: AbortSignal.timeout(2_000),
      });
      return response.status;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

describeWith('docker', 'image assets built as cdk deploy builds them', () => {
  let scratch: string;
  let project: string;
  let cdkOut: string;
  const tags: string[] = [];

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'image-assets-'));
    project = path.join(scratch, 'project');
    for (const file of PROJECT_FILES)
      cpSync(path.join(REPO_ROOT, file), path.join(project, file), { recursive: true });
    // A deployer's Mac: packages for darwin/arm64, native addons not built for this machine.
    const install = spawnSync(
      'npm',
      [
        'ci',
        '--os=darwin',
        '--cpu=arm64',
        '--omit=dev',
        '--ignore-scripts',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
      ],
      { cwd: project, encoding: 'utf8', timeout: 600_000 },
    );
    if (install.status !== 0) throw new Error(`npm ci for darwin/arm64 failed: ${install.stderr}`);
    expect(existsSync(path.join(project, 'node_modules/@esbuild/darwin-arm64'))).toBe(true);
    expect(existsSync(path.join(project, 'node_modules/@esbuild/linux-x64'))).toBe(false);

    // No registry here: the bases made from this machine's Node, as `npm run images` uses, and
    // this machine's CA bundle lent to npm inside the build.
    const bases = await resolveBaseImages(() => {});
    const app = new App({
      outdir: path.join(scratch, 'cdk.out'),
      context: {
        // The orchestrator bundle is another asset (its own suite); only the images matter here.
        'aws:cdk:bundling-stacks': [],
        baseImage: bases.baseImage,
        buildBaseImage: bases.buildBaseImage,
        ...(existsSync(SYSTEM_CA_BUNDLE) ? { npmCaBundle: SYSTEM_CA_BUNDLE } : {}),
      },
    });
    populateApp(
      app,
      readSettings((key) => app.node.tryGetContext(key)),
      project,
    );
    cdkOut = app.synth().directory;
  }, 900_000);

  afterAll(() => {
    for (const tag of tags) spawnSync('docker', ['image', 'rm', '--force', tag]);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  test('the manifest names one image per service, from the one Dockerfile, staged without node_modules', () => {
    const assets = readDockerImageAssets(cdkOut);
    expect(assets.map((a) => a.buildArgs.SERVICE).sort()).toEqual(['acts', 'users']);
    for (const asset of assets) {
      expect(asset.dockerFile).toBe('Dockerfile');
      expect(asset.platform).toBe('linux/amd64');
      const staged = readdirSync(asset.directory).sort();
      expect(staged).toEqual([
        '.dockerignore',
        'Dockerfile',
        'common',
        'package-lock.json',
        'package.json',
        'services',
      ]);
    }
  });

  test('every image builds in its staged directory exactly as the CLI builds it, and its service answers _health', async () => {
    const assets = readDockerImageAssets(cdkOut);
    for (const asset of assets) {
      const service = asset.buildArgs.SERVICE!;
      const tag = `selfieless-image-assets-test-${service}:${asset.id.slice(0, 12)}`;
      tags.push(tag);
      await buildDockerImageAsset(asset, { tag });
      // The CA lent to the build is neither a file nor a setting of the image.
      const container = docker(['create', '--label', RUN_LABEL, tag]);
      try {
        const files = execFileSync('bash', ['-c', `docker export ${container} | tar -t`], {
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        });
        expect(files.split('\n').filter((f) => f.startsWith('run/secrets/') && f !== 'run/secrets/')).toEqual(
          [],
        );
      } finally {
        spawnSync('docker', ['rm', container]);
      }
      expect(docker(['image', 'inspect', '--format', '{{json .Config.Env}}', tag])).not.toContain(
        'NODE_EXTRA_CA_CERTS',
      );

      const name = `selfieless-image-assets-test-${service}-${process.pid}`;
      const port = Number(asset.buildArgs.PORT);
      docker([
        'run',
        '--detach',
        '--rm',
        '--name',
        name,
        '--label',
        RUN_LABEL,
        '--publish',
        `127.0.0.1::${port}`,
        tag,
      ]);
      try {
        const published = Number(
          docker(['port', name, `${port}/tcp`])
            .split('\n')[0]!
            .split(':')
            .pop(),
        );
        expect(await health(published)).toBe(200);
      } finally {
        spawnSync('docker', ['rm', '--force', name]);
      }
    }
  }, 1_800_000);
});
