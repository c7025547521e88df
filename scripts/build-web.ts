/**
 * Builds the web UI into `web/dist`: the bundled script and stylesheet under content-hashed
 * names (served as immutable) and an `index.html` that refers to them (served as no-cache).
 * Run directly with `npx tsx scripts/build-web.ts`, or call `buildWeb()`.
 */
import { build } from 'esbuild';
import { randomBytes } from 'node:crypto';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '..');
const WEB_DIR = path.join(REPO_ROOT, 'web');
const DIST_DIR = path.join(WEB_DIR, 'dist');

/** The output file of the entry point `source`, as a name relative to the output folder. */
function outputOf(outputs: Record<string, { entryPoint?: string }>, source: string, outdir: string): string {
  const match = Object.entries(outputs).find(([, meta]) => meta.entryPoint === source);
  if (!match) throw new Error(`esbuild produced nothing for ${source}`);
  return path.relative(outdir, path.resolve(REPO_ROOT, match[0])).split(path.sep).join('/');
}

function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_match, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`web/index.html asks for unknown {{${key}}}`);
    return value;
  });
}

/** Builds the UI and returns the absolute path of `web/dist`. */
export async function buildWeb(): Promise<string> {
  // Build beside dist and swap it in, so a server reading dist never sees half a build.
  const staging = path.join(WEB_DIR, `.dist-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(staging, { recursive: true });
  try {
    const result = await build({
      absWorkingDir: REPO_ROOT,
      entryPoints: { app: 'web/src/main.ts', styles: 'web/src/styles.css' },
      outdir: staging,
      entryNames: '[name]-[hash]',
      bundle: true,
      minify: true,
      format: 'iife',
      target: ['es2020'],
      legalComments: 'none',
      metafile: true,
      logLevel: 'silent',
    });
    const script = outputOf(result.metafile.outputs, 'web/src/main.ts', staging);
    const styles = outputOf(result.metafile.outputs, 'web/src/styles.css', staging);
    const template = await readFile(path.join(WEB_DIR, 'index.html'), 'utf8');
    const html = fillTemplate(template, { script, styles });
    // Asset names carry their content hash: the same index.html means the same build, and
    // leaving it in place spares a server that is reading it the moment of the swap.
    if (!(await isSameBuild(DIST_DIR, html, [script, styles]))) {
      await writeFile(path.join(staging, 'index.html'), html);
      await swapInto(staging, DIST_DIR);
    }
    return DIST_DIR;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function isSameBuild(dist: string, html: string, assets: string[]): Promise<boolean> {
  try {
    if ((await readFile(path.join(dist, 'index.html'), 'utf8')) !== html) return false;
    await Promise.all(assets.map((asset) => access(path.join(dist, asset))));
    return true;
  } catch {
    return false;
  }
}

async function swapInto(staging: string, target: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    await rm(target, { recursive: true, force: true });
    try {
      await rename(staging, target);
      return;
    } catch (error) {
      // Another build may have swapped its own result in between: theirs is as good, retry a few times.
      const code = (error as NodeJS.ErrnoException).code;
      if (attempt >= 5 || (code !== 'ENOTEMPTY' && code !== 'EEXIST')) throw error;
    }
  }
}

if (require.main === module) {
  const started = Date.now();
  buildWeb().then(
    (dir) => console.log(`web UI built into ${dir} in ${Date.now() - started} ms`),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
