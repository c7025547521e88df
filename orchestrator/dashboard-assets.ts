/**
 * Where the admin server gets the dashboard's files. A deployed orchestrator is one bundled
 * file with the built dashboard in a folder beside it; a checkout builds it from source (with
 * the esbuild it has) the first time the page is asked for. Either way the files are read once
 * and served from memory.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** File name → content. */
export type DashboardFiles = Record<string, string>;

/** The folder, beside the running orchestrator, that holds a prebuilt dashboard. */
export const DASHBOARD_DIR = 'dashboard';

export function loadDashboardFiles(codeDir: string = __dirname): Promise<DashboardFiles> {
  const prebuilt = path.join(codeDir, DASHBOARD_DIR);
  if (existsSync(path.join(prebuilt, 'index.html'))) {
    const files: DashboardFiles = {};
    for (const name of readdirSync(prebuilt)) files[name] = readFileSync(path.join(prebuilt, name), 'utf8');
    return Promise.resolve(files);
  }
  // A path computed at run time, so bundling never pulls the build (and esbuild) in.
  const builder = path.join(codeDir, '..', 'scripts', 'build-dashboard');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { buildDashboard } = require(builder) as { buildDashboard: () => Promise<DashboardFiles> };
    return buildDashboard();
  } catch (error) {
    return Promise.reject(
      new Error(
        `no dashboard: neither a built one in ${prebuilt} nor its source build (${(error as Error).message})`,
      ),
    );
  }
}
