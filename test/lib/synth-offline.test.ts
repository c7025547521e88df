/**
 * `npx cdk synth` as a developer runs it, but with no network at all (a fresh network
 * namespace: loopback only, and down), no AWS credentials or configuration, and no Docker.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '../..');

function offlineEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(AWS_|CDK_)/.test(key) || /_proxy$/i.test(key)) continue;
    env[key] = value;
  }
  return {
    ...env,
    // No ~/.aws: no credentials file, no config, no SSO cache.
    HOME: home,
    // Any attempt to run Docker (image build, bundling fallback) fails instead of working.
    CDK_DOCKER: path.join(home, 'no-docker-here'),
    npm_config_offline: 'true',
  };
}

describe('npx cdk synth', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'synth-offline-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  test('succeeds with no network, no credentials and no Docker, and the AwsSolutions report is clean', () => {
    const probe = spawnSync('unshare', ['-n', 'true'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      throw new Error(
        `unshare -n is needed to cut the network (run as root): ${probe.error?.message ?? probe.stderr}`,
      );
    }
    const outdir = path.join(scratch, 'cdk.out');
    const result = spawnSync(
      'unshare',
      ['-n', '--', 'npx', '--no-install', 'cdk', 'synth', '--output', outdir],
      {
        cwd: REPO_ROOT,
        env: offlineEnv(scratch),
        encoding: 'utf8',
        timeout: 240_000,
      },
    );
    const output = `${result.stdout}\n${result.stderr}`;
    expect({ status: result.status, output: result.status === 0 ? '' : output }).toEqual({
      status: 0,
      output: '',
    });
    // Findings would be reported on stderr (the template on stdout names its acknowledgements).
    expect(result.stderr).not.toMatch(/AwsSolutions-|Validation failed/);
    // The template went to stdout.
    expect(result.stdout).toMatch(/AWS::ElasticLoadBalancingV2::LoadBalancer/);

    const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { summary?: { status?: string }; violations?: unknown[] }[];
    };
    for (const plugin of report.pluginReports) expect(plugin.violations ?? []).toEqual([]);

    // The checks ran: their acknowledgements were written into the template.
    const template = JSON.parse(readFileSync(path.join(outdir, 'SelfieLessActs.template.json'), 'utf8')) as {
      Resources: Record<string, { Metadata?: { cdk_nag?: { rules_to_suppress: { id: string }[] } } }>;
    };
    const acknowledged = Object.values(template.Resources)
      .flatMap((r) => r.Metadata?.cdk_nag?.rules_to_suppress ?? [])
      .map((s) => s.id);
    expect(acknowledged).toEqual(
      expect.arrayContaining([
        'AwsSolutions-VPC7',
        'AwsSolutions-ELB2',
        'AwsSolutions-EC23',
        'AwsSolutions-RDS10',
      ]),
    );

    // Images are only described (built at publish time); the bundle was made locally.
    const assets = JSON.parse(readFileSync(path.join(outdir, 'SelfieLessActs.assets.json'), 'utf8')) as {
      dockerImages: Record<string, { source: { dockerFile: string; platform: string } }>;
      files: Record<string, { source: { path: string; packaging: string } }>;
    };
    expect(
      Object.values(assets.dockerImages)
        .map((i) => [i.source.dockerFile, i.source.platform])
        .sort(),
    ).toEqual([
      ['Dockerfile', 'linux/amd64'],
      ['Dockerfile', 'linux/amd64'],
    ]);
    const bundles = Object.values(assets.files).filter((f) => f.source.packaging === 'zip');
    expect(bundles).toHaveLength(1);
    const bundleDir = path.join(outdir, bundles[0]!.source.path);
    expect(readdirSync(bundleDir).sort()).toEqual(expect.arrayContaining(['orchestrator.js', 'web']));
    expect(existsSync(path.join(bundleDir, 'web/dist/index.html'))).toBe(true);
  }, 300_000);
});
