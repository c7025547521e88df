import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { INSTANCE_PATHS } from '../../lib/user-data';

const UNIT_NAME = 'selfieless-orchestrator.service';
const UNIT = readFileSync(path.resolve(__dirname, '../../host', UNIT_NAME), 'utf8');
const INSTANCE_NODE = '/usr/bin/node-22';

/** `systemd-analyze verify` on a copy; its output is empty only for a unit without any complaint. */
function verify(unitText: string): { status: number | null; output: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'unit-'));
  try {
    const file = path.join(dir, UNIT_NAME);
    writeFileSync(file, unitText);
    const result = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
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

  test('runs the installed bundle with the config the user data writes, restarts on failure, logs to the journal', () => {
    const exec = /^ExecStart=(.*)$/m.exec(UNIT)![1]!.split(/\s+/);
    expect(exec).toContain(`${INSTANCE_PATHS.installDir}/orchestrator.js`);
    expect(exec.slice(-2)).toEqual(['--config', INSTANCE_PATHS.configFile]);
    expect(UNIT).toMatch(/^Restart=on-failure$/m);
    expect(UNIT).toMatch(/^StandardOutput=journal$/m);
    expect(UNIT).toMatch(/^Requires=docker\.service$/m);
    expect(UNIT).toMatch(/^WantedBy=multi-user\.target$/m);
  });
});
