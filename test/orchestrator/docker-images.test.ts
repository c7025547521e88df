/**
 * The service images as the deployment uses them: non-root, stopped with SIGTERM, the
 * external packages loadable, and nothing in the users image that says "acts".
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseLddOutput } from '../../scripts/base-image';
import { ensureImages, imageName, SERVICES } from '../../scripts/image-builder';
import { describeWith } from '../support/requirements';

const run = promisify(execFile);

describe('reading ldd output', () => {
  test('finds resolved libraries and the program interpreter, not the vDSO', () => {
    const output = [
      '\tlinux-vdso.so.1 (0x00007ffd)',
      '\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f35)',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f35)',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f35)',
      '\tlibmissing.so => not found',
    ].join('\n');
    expect(parseLddOutput(output)).toEqual([
      '/lib/x86_64-linux-gnu/libstdc++.so.6',
      '/lib/x86_64-linux-gnu/libc.so.6',
      '/lib64/ld-linux-x86-64.so.2',
    ]);
  });
});

interface ImageConfig {
  User: string;
  StopSignal?: string;
  Cmd: string[];
  Env: string[];
  ExposedPorts: Record<string, object>;
}

describeWith('docker', 'the service images', () => {
  beforeAll(() => ensureImages({ log: () => {} }), 300_000);

  const inspect = async (image: string): Promise<ImageConfig> =>
    (JSON.parse((await run('docker', ['image', 'inspect', image])).stdout) as { Config: ImageConfig }[])[0]
      .Config;

  test.each(SERVICES)('%s runs as the non-root node user and stops on SIGTERM', async (service) => {
    const config = await inspect(imageName(service));
    expect(config.User).toBe('node');
    expect(config.StopSignal).toBe('SIGTERM');
    const { stdout } = await run('docker', [
      'run',
      '--rm',
      imageName(service),
      'node',
      '-e',
      'console.log(process.getuid())',
    ]);
    expect(stdout.trim()).toBe('1000');
  });

  test.each(SERVICES)(
    '%s loads its external packages: the SQLite addon and the MySQL driver',
    async (service) => {
      const script =
        "const D = require('better-sqlite3'); const db = new D(':memory:'); console.log(db.prepare('select 41 + 1 as n').get().n, typeof require('mysql2/promise').createPool)";
      const { stdout } = await run('docker', ['run', '--rm', imageName(service), 'node', '-e', script]);
      expect(stdout.trim()).toBe('42 function');
    },
  );

  test('the users image says nothing about acts in its command, environment or ports', async () => {
    const config = await inspect(imageName('users'));
    expect(JSON.stringify([config.Cmd, config.Env, config.ExposedPorts])).not.toMatch(/acts/i);
    expect(config.Env).toContain('PORT=8100');
  });

  test('the acts image listens on 8000 by default', async () => {
    const config = await inspect(imageName('acts'));
    expect(config.Env).toContain('PORT=8000');
    expect(Object.keys(config.ExposedPorts)).toEqual(['8000/tcp']);
  });
});
