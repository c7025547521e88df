/**
 * The services as process mode runs them: each one bundled into a single JavaScript file, as
 * the images run them, so a replica starts without a TypeScript loader (faster, and tens of
 * megabytes smaller). The native SQLite addon and the MySQL driver stay external and resolve
 * from the repository's node_modules.
 */
import { buildSync } from 'esbuild';
import { mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { SERVICES, type ServiceName } from '../common/topology';

export const SERVICES_BUNDLE_DIR = 'data/bundle';

/** Where the bundle of `service` is written, under `repoRoot`. */
export function serviceBundlePath(repoRoot: string, service: ServiceName): string {
  return path.join(repoRoot, SERVICES_BUNDLE_DIR, `${service}.js`);
}

/**
 * Bundles `services/<service>/main.ts`; returns the file's path. Written beside and renamed
 * into place, so a replica starting while another build runs never reads half a file.
 */
export function bundleService(repoRoot: string, service: ServiceName): string {
  const outfile = serviceBundlePath(repoRoot, service);
  mkdirSync(path.dirname(outfile), { recursive: true });
  const staging = `${outfile}.${process.pid}.tmp`;
  buildSync({
    entryPoints: [path.join(repoRoot, SERVICES[service].entryPoint)],
    outfile: staging,
    absWorkingDir: repoRoot,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    legalComments: 'none',
    // Smaller source text: V8 keeps all of it in memory for the life of the process.
    minify: true,
    keepNames: true,
    logLevel: 'error',
    external: ['better-sqlite3', 'mysql2'],
  });
  renameSync(staging, outfile);
  return outfile;
}

const REPO_ROOT = path.resolve(__dirname, '..');
const built = new Map<ServiceName, string>();

/**
 * The command that runs a service in process mode: plain node on its bundle, no loader. The
 * bundle is built from the current sources on the first call in this process.
 */
export function bundledServiceCommand(service: ServiceName): string[] {
  let file = built.get(service);
  if (file === undefined) {
    file = bundleService(REPO_ROOT, service);
    built.set(service, file);
  }
  return [process.execPath, file];
}
