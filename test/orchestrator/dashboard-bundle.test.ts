/**
 * The dashboard as a deployed host serves it: the orchestrator bundled into one file, run
 * from a folder with no repository or node_modules around it, answers `/` on its admin
 * address with the prebuilt page beside it, and carries no build tooling inside.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUNDLE_MAIN, bundleOrchestrator } from '../../lib/orchestrator-bundle';
import { DASHBOARD_DIR } from '../../orchestrator/dashboard-assets';
import { eventually, freePortRange, request, REPO_ROOT, runCommand } from './helpers';

jest.setTimeout(120_000);

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'dashboard-bundle-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test('the bundled orchestrator serves the prebuilt dashboard on its admin address', async () => {
  const out = path.join(scratch, 'opt');
  bundleOrchestrator({ repoRoot: REPO_ROOT, outputDir: out, includeWebUi: false });
  for (const file of ['index.html', 'dashboard.js', 'dashboard.css', 'favicon.svg'])
    expect(existsSync(path.join(out, DASHBOARD_DIR, file))).toBe(true);
  // The build tool stays on the build machine.
  expect(readFileSync(path.join(out, BUNDLE_MAIN), 'utf8')).not.toContain('ESBUILD_BINARY_PATH');

  const firstPort = await freePortRange(1);
  const server = `require('http').createServer((q, s) => s.end('ok')).listen(process.env.PORT, '127.0.0.1')`;
  const config = path.join(scratch, 'orchestrator.json');
  writeFileSync(
    config,
    JSON.stringify({
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      runtime: { kind: 'process', logDir: path.join(scratch, 'logs') },
      pools: [
        {
          name: 'tiny',
          command: [process.execPath, '-e', server],
          firstPort,
          minReplicas: 1,
          maxReplicas: 1,
        },
      ],
    }),
  );
  const run = runCommand(process.execPath, [path.join(out, BUNDLE_MAIN), '--config', config], {
    cwd: scratch,
    env: { PATH: process.env.PATH },
  });
  try {
    const admin = await eventually(() => {
      if (run.child.exitCode !== null) throw new Error(run.output());
      const port = /"admin":"127\.0\.0\.1:(\d+)"/.exec(run.output())?.[1];
      return port ? Number(port) : undefined;
    }, 50);
    const page = await request(admin, 'GET', '/');
    expect(page.status).toBe(200);
    expect(page.body).toBe(readFileSync(path.join(out, DASHBOARD_DIR, 'index.html'), 'utf8'));
    const script = await request(admin, 'GET', '/dashboard.js');
    expect(script.status).toBe(200);
    expect(script.body).toBe(readFileSync(path.join(out, DASHBOARD_DIR, 'dashboard.js'), 'utf8'));
    await eventually(
      async () => (await request(admin, 'GET', '/status')).json<{ events: unknown[] }>().events.length > 0,
    );
  } finally {
    run.child.kill('SIGTERM');
    await run.exited;
  }
});
