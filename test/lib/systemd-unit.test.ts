import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HOST_LOG_PATHS } from '../../lib/host-logging';
import { INSTANCE_PATHS } from '../../lib/user-data';

const UNIT_NAME = 'selfieless-orchestrator.service';
const UNIT = readFileSync(path.resolve(__dirname, '../../host', UNIT_NAME), 'utf8');
const INSTANCE_NODE = '/usr/bin/node-22';

const hostFile = (name: string) => readFileSync(path.resolve(__dirname, '../../host', name), 'utf8');

/** `systemd-analyze verify` on copies; its output is empty only for units without any complaint. */
function verify(
  unitText: string,
  others: Record<string, string> = {},
): { status: number | null; output: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'unit-'));
  try {
    const file = path.join(dir, UNIT_NAME);
    writeFileSync(file, unitText);
    for (const [name, text] of Object.entries(others)) writeFileSync(path.join(dir, name), text);
    const files = [file, ...Object.keys(others).map((name) => path.join(dir, name))];
    const result = spawnSync('systemd-analyze', ['verify', '--man=no', ...files], { encoding: 'utf8' });
    if (result.error) throw result.error;
    return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the orchestrator systemd unit', () => {
  test('passes systemd-analyze verify without a warning', () => {
    // verify checks that ExecStart's binary exists; this machine's node stands in for the
    // host's /usr/bin/node-22, everything else is verified as shipped.
    expect(UNIT).toContain(`ExecStart=${INSTANCE_NODE} `);
    const result = verify(UNIT.replace(`ExecStart=${INSTANCE_NODE} `, `ExecStart=${process.execPath} `));
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  test('verify does complain about a broken unit (the check above can fail)', () => {
    const broken = UNIT.replace(`ExecStart=${INSTANCE_NODE} `, `ExecStart=${process.execPath} `).replace(
      'Restart=on-failure',
      'Restart=sometimes',
    );
    expect(verify(broken).output).toMatch(/restart/i);
  });

  test('runs the installed bundle with the config the user data writes, restarts on failure, appends its output to the shipped file', () => {
    const exec = /^ExecStart=(.*)$/m.exec(UNIT)![1]!.split(/\s+/);
    expect(exec).toContain(`${INSTANCE_PATHS.installDir}/orchestrator.js`);
    expect(exec.slice(-2)).toEqual(['--config', INSTANCE_PATHS.configFile]);
    expect(UNIT).toMatch(/^Restart=on-failure$/m);
    // stdout and stderr both: the same descriptor, opened by systemd in append mode.
    expect(UNIT).toMatch(new RegExp(`^StandardOutput=append:${HOST_LOG_PATHS.orchestrator}$`, 'm'));
    expect(UNIT).toMatch(/^StandardError=inherit$/m);
    expect(UNIT).toMatch(/^Requires=docker\.service$/m);
    expect(UNIT).toMatch(/^WantedBy=multi-user\.target$/m);
  });
});

describe('the orchestrator log rotation', () => {
  const conf = hostFile('selfieless-logrotate.conf');
  const service = hostFile('selfieless-logrotate.service');
  const timer = hostFile('selfieless-logrotate.timer');

  test('the timer and its service pass systemd-analyze verify', () => {
    const result = verify(UNIT.replace(`ExecStart=${INSTANCE_NODE} `, `ExecStart=${process.execPath} `), {
      'selfieless-logrotate.service': service,
      'selfieless-logrotate.timer': timer,
    });
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  test('rotates the file the unit appends to, by size, in place, with the config the user data installs', () => {
    expect(conf).toContain(`${HOST_LOG_PATHS.orchestrator} {`);
    expect(conf).toMatch(/^\s+size 10M$/m);
    expect(conf).toMatch(/^\s+copytruncate$/m);
    expect(service).toMatch(
      new RegExp(`^ExecStart=/usr/sbin/logrotate .* ${HOST_LOG_PATHS.logrotateConfig}$`, 'm'),
    );
    expect(timer).toMatch(/^OnCalendar=\*:0\/5$/m);
  });

  test('logrotate rotates a file past 10 MB in place, and a writer holding it in append mode writes to the start', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'logrotate-'));
    try {
      const log = path.join(dir, 'orchestrator.log');
      const config = path.join(dir, 'logrotate.conf');
      writeFileSync(config, conf.replace(HOST_LOG_PATHS.orchestrator, log), { mode: 0o644 });
      // As systemd's StandardOutput=append: opens it for the orchestrator.
      const fd = openSync(log, 'a');
      try {
        writeSync(fd, `${'x'.repeat(1023)}\n`.repeat(11 * 1024));
        const rotate = () =>
          spawnSync('logrotate', ['--state', path.join(dir, 'state'), config], { encoding: 'utf8' });
        const result = rotate();
        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);
        expect(statSync(`${log}.1`).size).toBe(11 * 1024 * 1024);
        expect(statSync(log).size).toBe(0);
        writeSync(fd, 'after rotation\n');
        expect(readFileSync(log, 'utf8')).toBe('after rotation\n');
        // Below the size nothing moves.
        appendFileSync(log, 'small\n');
        expect(rotate().status).toBe(0);
        expect(existsSync(`${log}.2`)).toBe(false);
      } finally {
        closeSync(fd);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
