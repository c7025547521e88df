/**
 * Builds the orchestrator's dashboard (web/dashboard: plain TypeScript and CSS, bundled by
 * esbuild like the web UI) into the few files the admin server serves. A checkout builds them
 * in memory when the page is first asked for; the deployed bundle carries them prebuilt in a
 * folder beside orchestrator.js (`writeDashboard`), because an instance has no esbuild.
 */
import { build, buildSync, type BuildOptions, type OutputFile } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DASHBOARD_DIR, type DashboardFiles } from '../orchestrator/dashboard-assets';

const REPO_ROOT = path.resolve(__dirname, '..');
const SOURCE_DIR = path.join(REPO_ROOT, 'web/dashboard');
/** Served as they are. */
const STATIC_FILES = ['index.html', 'favicon.svg'];

const OPTIONS: BuildOptions = {
  absWorkingDir: REPO_ROOT,
  entryPoints: [
    { in: 'web/dashboard/main.ts', out: 'dashboard' },
    { in: 'web/dashboard/styles.css', out: 'dashboard' },
  ],
  // Nothing is written: the outputs are taken from memory.
  outdir: path.join(REPO_ROOT, 'web/dashboard/.out'),
  write: false,
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  legalComments: 'none',
  logLevel: 'silent',
};

function collect(outputs: OutputFile[]): DashboardFiles {
  const files: DashboardFiles = {};
  for (const name of STATIC_FILES) files[name] = readFileSync(path.join(SOURCE_DIR, name), 'utf8');
  for (const output of outputs) files[path.basename(output.path)] = output.text;
  return files;
}

export async function buildDashboard(): Promise<DashboardFiles> {
  return collect((await build(OPTIONS)).outputFiles ?? []);
}

export function buildDashboardSync(): DashboardFiles {
  return collect(buildSync(OPTIONS).outputFiles ?? []);
}

/** Writes the built dashboard where a bundled orchestrator in `bundleDir` looks for it. */
export function writeDashboard(bundleDir: string): void {
  const dir = path.join(bundleDir, DASHBOARD_DIR);
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(buildDashboardSync()))
    writeFileSync(path.join(dir, name), content);
}
