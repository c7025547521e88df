/**
 * The services as process mode runs them: each one bundled into a single JavaScript file, as
 * the images run them, so a replica starts without a TypeScript loader (faster, and tens of
 * megabytes smaller). The build options and the replica's environment come from
 * services/shared/bundle.json, which the Dockerfile reads too, so both run the same bundle the
 * same way. The native SQLite addon and the MySQL driver stay external and resolve from the
 * repository's node_modules.
 */
import { buildSync, type BuildOptions } from 'esbuild';
import { mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { SERVICES, type ServiceName } from '../common/topology';
import bundle from '../services/shared/bundle.json';

export const SERVICES_BUNDLE_DIR = 'data/bundle';

/**
 * Set for every replica process, in process mode by its command and in the images by the
 * Dockerfile. `MALLOC_MMAP_THRESHOLD_`: glibc otherwise raises its threshold after the first
 * large block is freed and keeps the start-up's freed compiler memory in its heap for good
 * (about 6 MB of an idle replica); a fixed 32 KB threshold returns such blocks on free.
 */
export const REPLICA_ENV: Readonly<Record<string, string>> = bundle.env;

/**
 * node's flags for every replica process, in process mode and in the images' command.
 * `--max-semi-space-size=4` (MB): under sustained load V8 otherwise grows the young generation
 * to 16 MB semi-spaces, about 25 MB more resident memory for no measurable CPU saved.
 * `--heap-growing-percent=50`: V8 sizes the next old-generation limit by a factor that, on a
 * machine with gigabytes to spare, reaches 4×; a replica under load then keeps half-empty old
 * space it never gives back (78–101 MB resident after load against 77–80 MB with 1.5×).
 * The heap's maximum, which the health check compares with, is unchanged.
 */
export const REPLICA_NODE_FLAGS: readonly string[] = bundle.nodeFlags;

/** Where the bundle of `service` is written, under `repoRoot`. */
export function serviceBundlePath(repoRoot: string, service: ServiceName): string {
  return path.join(repoRoot, SERVICES_BUNDLE_DIR, `${service}.js`);
}

/**
 * Bundles `services/<service>/main.ts` into `outfile` (by default its place under `repoRoot`);
 * returns the file's path. Written beside and renamed into place, so a replica starting while
 * another build runs never reads half a file.
 */
export function bundleService(
  repoRoot: string,
  service: ServiceName,
  outfile = serviceBundlePath(repoRoot, service),
): string {
  mkdirSync(path.dirname(outfile), { recursive: true });
  const staging = `${outfile}.${process.pid}.tmp`;
  buildSync({
    ...(bundle.esbuild as BuildOptions),
    entryPoints: [path.join(repoRoot, SERVICES[service].entryPoint)],
    outfile: staging,
    absWorkingDir: repoRoot,
    logLevel: 'error',
  });
  renameSync(staging, outfile);
  return outfile;
}

const REPO_ROOT = path.resolve(__dirname, '..');
const built = new Map<ServiceName, string>();

/**
 * The command that runs a service in process mode: plain node on its bundle, no loader, with
 * REPLICA_ENV (through `env`, which replaces itself with node: the process is node, same pid)
 * and REPLICA_NODE_FLAGS.
 * The bundle is built from the current sources on the first call in this process.
 */
export function bundledServiceCommand(service: ServiceName): string[] {
  let file = built.get(service);
  if (file === undefined) {
    file = bundleService(REPO_ROOT, service);
    built.set(service, file);
  }
  return [
    '/usr/bin/env',
    ...Object.entries(REPLICA_ENV).map(([name, value]) => `${name}=${value}`),
    process.execPath,
    ...REPLICA_NODE_FLAGS,
    file,
  ];
}
