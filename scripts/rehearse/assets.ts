/**
 * Publishing, as `cdk deploy` does it before CloudFormation runs: every Docker image asset
 * built in its staged directory by the CDK CLI's own command (scripts/docker-assets.ts) and
 * pushed under its destination's repository and tag; every file asset packaged (a folder is
 * zipped) into its bucket and key, here a folder the AWS stand-in serves.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { buildDockerImageAsset, readDockerImageAssets } from '../docker-assets';
import { must, run } from './process';
import type { Registry } from './registry';

export interface Placeholders {
  accountId: string;
  region: string;
}

/** cdk-assets' placeholders in a destination (`${AWS::AccountId}`, `${AWS::Region}`, `${AWS::Partition}`). */
export function fillPlaceholders(text: string, p: Placeholders): string {
  return text
    .replace(/\$\{AWS::AccountId\}/g, p.accountId)
    .replace(/\$\{AWS::Region\}/g, p.region)
    .replace(/\$\{AWS::Partition\}/g, 'aws');
}

export function ecrRegistry(p: Placeholders): string {
  return `${p.accountId}.dkr.ecr.${p.region}.amazonaws.com`;
}

/** Builds and pushes every image asset; returns the image URIs the template will name. */
export async function publishImages(
  cdkOut: string,
  registry: Registry,
  p: Placeholders,
  log: (line: string) => void,
  adjust: (asset: ReturnType<typeof readDockerImageAssets>[number]) => Promise<void> = async () => {},
): Promise<string[]> {
  const uris: string[] = [];
  const assets = readDockerImageAssets(cdkOut);
  for (const asset of assets) {
    await adjust(asset);
    const tag = `cdkasset-${asset.id}`;
    const started = Date.now();
    log(`building ${asset.displayName ?? asset.id} as the CDK CLI does`);
    await buildDockerImageAsset(asset, { tag, log: (line) => log(`  ${line}`) });
    for (const destination of asset.destinations) {
      const uri = `${ecrRegistry(p)}/${fillPlaceholders(destination.repositoryName, p)}:${fillPlaceholders(destination.imageTag, p)}`;
      registry.push(tag, uri);
      uris.push(uri);
    }
    log(
      `${asset.displayName ?? asset.id}: built and pushed in ${Math.round((Date.now() - started) / 1000)} s`,
    );
  }
  return uris;
}

interface FileAsset {
  source: { path: string; packaging?: 'zip' | 'file' };
  destinations: Record<string, { bucketName: string; objectKey: string }>;
}

/** Packages every file asset into `<s3Root>/<bucket>/<key>`. */
export function publishFiles(cdkOut: string, s3Root: string, p: Placeholders): string[] {
  const published: string[] = [];
  for (const manifest of readdirSync(cdkOut).filter((f) => f.endsWith('.assets.json'))) {
    const files =
      (JSON.parse(readFileSync(path.join(cdkOut, manifest), 'utf8')) as { files?: Record<string, FileAsset> })
        .files ?? {};
    for (const asset of Object.values(files)) {
      const source = path.resolve(cdkOut, asset.source.path);
      for (const destination of Object.values(asset.destinations)) {
        const target = path.join(
          s3Root,
          fillPlaceholders(destination.bucketName, p),
          fillPlaceholders(destination.objectKey, p),
        );
        mkdirSync(path.dirname(target), { recursive: true });
        rmSync(target, { force: true });
        if (asset.source.packaging === 'zip') {
          if (!existsSync(source)) throw new Error(`file asset ${source} is missing`);
          must('zip', ['-q', '-r', '-X', target, '.'], { cwd: source, timeoutMs: 120_000 });
        } else {
          copyFileSync(source, target);
        }
        published.push(
          `s3://${fillPlaceholders(destination.bucketName, p)}/${fillPlaceholders(destination.objectKey, p)}`,
        );
      }
    }
  }
  return published;
}

/** Whether the engine has an image (to decide on this machine's stand-in bases). */
export function imageExists(ref: string): boolean {
  return run('docker', ['image', 'inspect', '--format', '{{.Id}}', ref]).ok;
}
