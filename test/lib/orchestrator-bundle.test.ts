import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { isBuiltin } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { BUNDLE_MAIN, bundleOrchestrator, WEB_DIST } from '../../lib/orchestrator-bundle';

const REPO_ROOT = path.resolve(__dirname, '../..');

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'orch-bundle-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function runNode(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, args, {
    encoding: 'utf8',
    cwd: scratch,
    env: { PATH: process.env.PATH, ...env },
    timeout: 20_000,
  });
}

describe('the orchestrator bundle', () => {
  test('is one self-contained file with the web UI beside it, and starts outside the repository', () => {
    const out = path.join(scratch, 'full');
    bundleOrchestrator({ repoRoot: REPO_ROOT, outputDir: out, includeWebUi: true });
    expect(existsSync(path.join(out, BUNDLE_MAIN))).toBe(true);
    expect(existsSync(path.join(out, WEB_DIST, 'index.html'))).toBe(true);

    const code = readFileSync(path.join(out, BUNDLE_MAIN), 'utf8');
    // Dependencies are inside; only Node built-ins (and the never-loaded optional native) stay required.
    const required = [...code.matchAll(/\brequire\("([^"./][^"]*)"\)/g)].map((m) => m[1]!);
    expect(required.length).toBeGreaterThan(0);
    // `node:` names are built-ins of some Node version (undici lazily asks for node:sqlite), never packages.
    expect(required.filter((name) => !name.startsWith('node:') && !isBuiltin(name))).toEqual([]);

    // Run from a directory with no node_modules anywhere above it: a bad config is reported
    // cleanly, which means every module loaded.
    const result = runNode([path.join(out, BUNDLE_MAIN), '--config', path.join(scratch, 'missing.json')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^orchestrator: /);
  }, 120_000);

  test('carries dockerode with ssh2 stubbed out, and the Docker client works over a socket', async () => {
    const entryDir = path.join(scratch, 'docker-probe');
    bundleOrchestrator({
      repoRoot: REPO_ROOT,
      outputDir: entryDir,
      entry: 'test/lib/fixtures/docker-probe.ts',
      includeWebUi: false,
    });
    expect(existsSync(path.join(entryDir, WEB_DIST))).toBe(false);
    expect(readFileSync(path.join(entryDir, BUNDLE_MAIN), 'utf8')).toContain(
      'Docker over SSH is not available in the orchestrator bundle',
    );

    const socketPath = path.join(scratch, 'docker.sock');
    const server = http.createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ Version: 'probe', Path: req.url }));
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      // Asynchronous: the fake engine answers from this process.
      const result = await new Promise<{ status: number | null; stdout: string; stderr: string }>(
        (resolve) => {
          const child = spawn(process.execPath, [path.join(entryDir, BUNDLE_MAIN), socketPath], {
            cwd: scratch,
          });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d: Buffer) => (stdout += d));
          child.stderr.on('data', (d: Buffer) => (stderr += d));
          child.on('close', (status) => resolve({ status, stdout, stderr }));
        },
      );
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ Version: 'probe', Path: '/version' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }, 120_000);

  test('fails loudly when the entry point is missing', () => {
    expect(() =>
      bundleOrchestrator({
        repoRoot: REPO_ROOT,
        outputDir: path.join(scratch, 'none'),
        entry: 'orchestrator/no-such-main.ts',
        includeWebUi: false,
      }),
    ).toThrow(/entry point not found/);
  });
});
