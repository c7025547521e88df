/**
 * Builds what a host installs under /opt/selfieless: the orchestrator as one JavaScript
 * file (dependencies included, so the host needs no npm install) and, when asked, the built
 * web UI under web/dist. Runs on the machine that synthesizes, with esbuild only: no Docker,
 * no network.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { writeDashboard } from '../scripts/build-dashboard';

export interface OrchestratorBundleOptions {
  /** Repository root: holds orchestrator/, scripts/ and node_modules/. */
  repoRoot: string;
  /** Directory to fill; created when missing. */
  outputDir: string;
  /** Entry point relative to repoRoot. */
  entry?: string;
  /** Build and include the web UI (scripts/build-web.ts). */
  includeWebUi: boolean;
}

export const BUNDLE_ENTRY = 'orchestrator/main.ts';
export const BUNDLE_MAIN = 'orchestrator.js';
export const WEB_BUILD_SCRIPT = 'scripts/build-web.ts';
export const WEB_DIST = 'web/dist';
const SSH2_STUB = path.join(__dirname, 'orchestrator-bundle-ssh2-stub.js');

export function bundleOrchestrator(options: OrchestratorBundleOptions): void {
  const { repoRoot, outputDir } = options;
  const entry = path.join(repoRoot, options.entry ?? BUNDLE_ENTRY);
  if (!existsSync(entry)) throw new Error(`orchestrator entry point not found: ${entry}`);
  mkdirSync(outputDir, { recursive: true });

  buildSync({
    entryPoints: [entry],
    outfile: path.join(outputDir, BUNDLE_MAIN),
    absWorkingDir: repoRoot,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'error',
    // docker-modem loads ssh2 at start-up for ssh:// hosts only; its optional native parts
    // cannot be bundled. A stub keeps the require working and fails loudly if ever used.
    alias: { ssh2: SSH2_STUB },
    external: ['cpu-features'],
  });

  // The admin dashboard's built files, in the folder the bundled admin server reads them from.
  writeDashboard(outputDir);
  if (options.includeWebUi) copyWebUi(repoRoot, outputDir);
}

function copyWebUi(repoRoot: string, outputDir: string): void {
  // buildWeb() is async and CDK bundling is synchronous, so it runs in a child process; its
  // output goes to stderr so it never mixes with what the CDK app writes to stdout.
  const script = `require(${JSON.stringify(path.join(repoRoot, WEB_BUILD_SCRIPT))}).buildWeb().catch((e) => { console.error(e); process.exit(1); })`;
  execFileSync(process.execPath, ['--import', 'tsx', '--eval', script], {
    cwd: repoRoot,
    stdio: ['ignore', 2, 2],
  });
  const source = path.join(repoRoot, WEB_DIST);
  if (!existsSync(path.join(source, 'index.html'))) {
    throw new Error(`the web UI build produced no index.html in ${source}`);
  }
  cpSync(source, path.join(outputDir, WEB_DIST), { recursive: true });
}
