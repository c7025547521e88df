import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfigFile } from '../../orchestrator/config';
import {
  DATABASE_IMAGE,
  INSTANCE_PATHS,
  renderUserData,
  stepTitles,
  USER_DATA_LIMIT_BYTES,
  type ServiceName,
  type UserDataInputs,
} from '../../lib/user-data';

const REPO_ROOT = path.resolve(__dirname, '../..');
const UNIT = readFileSync(path.join(REPO_ROOT, 'infra/selfieless-orchestrator.service'), 'utf8');

// Deploy-time values as long as CloudFormation makes them, so the size check is honest.
function inputs(service: ServiceName): UserDataInputs {
  const account = '123456789012';
  const region = 'ap-southeast-2';
  return {
    service,
    region,
    imageUri: `${account}.dkr.ecr.${region}.amazonaws.com/cdk-hnb659fds-container-assets-${account}-${region}:${'f'.repeat(64)}`,
    orchestratorBundleUrl: `s3://cdk-hnb659fds-assets-${account}-${region}/${'e'.repeat(64)}.zip`,
    loadBalancerDnsName: `SelfieLessActs-LoadBalancer-ABCDEFGHIJKL-1234567890.${region}.elb.amazonaws.com`,
    serveWebUi: service === 'acts',
    systemdUnit: UNIT,
  };
}

const SERVICES: ServiceName[] = ['acts', 'users'];

function configHeredoc(script: string): string {
  const match = /cat > \/etc\/selfieless\/orchestrator\.json <<CONFIG\n([\s\S]*?)\nCONFIG\n/.exec(script);
  if (!match) throw new Error('no config heredoc in the script');
  return match[1]!;
}

/** Expands the config heredoc with bash exactly as the instance would, given boot-time values. */
function expandConfig(script: string, vars: Record<string, string>): string {
  const assignments = Object.entries(vars).map(([k, v]) => `${k}='${v}'`);
  return execFileSync(
    'bash',
    ['-c', `set -euo pipefail\n${assignments.join('\n')}\ncat <<CONFIG\n${configHeredoc(script)}\nCONFIG\n`],
    {
      encoding: 'utf8',
    },
  );
}

describe.each(SERVICES)('user data of the %s host', (service) => {
  const script = renderUserData(inputs(service));

  test('runs its steps in the order the host needs them', () => {
    const expected = [
      'install Docker and Node.js 20',
      'log in to ECR',
      `pull the ${service} image and tag it ${service}:latest`,
      'start the database container',
      'wait for the database',
      ...(service === 'acts' ? ['read the public address from instance metadata (IMDSv2)'] : []),
      'write the orchestrator config',
      'install the orchestrator bundle',
      'start the orchestrator under systemd',
    ];
    expect(stepTitles(script)).toEqual(expected);
    // The commands themselves follow the same order.
    const order = [
      'dnf install -y docker nodejs20',
      'aws ecr get-login-password',
      'docker pull "$IMAGE_URI"',
      `docker tag "$IMAGE_URI" "$SERVICE:latest"`,
      'docker run --detach --name mysql',
      'mariadb-admin ping',
      `cat > ${INSTANCE_PATHS.configFile} <<CONFIG`,
      'aws s3 cp',
      `cat > ${INSTANCE_PATHS.unitFile} <<'UNIT'`,
      'systemctl enable --now selfieless-orchestrator.service',
    ].map((needle) => script.indexOf(needle));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  test('passes shellcheck', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'user-data-'));
    try {
      const file = path.join(dir, `${service}.sh`);
      writeFileSync(file, script);
      const result = spawnSync('shellcheck', ['--shell=bash', '--severity=style', file], {
        encoding: 'utf8',
      });
      expect(result.error).toBeUndefined();
      expect(result.stdout + result.stderr).toBe('');
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('parses as bash and fits the 16 KB user data limit', () => {
    expect(spawnSync('bash', ['-n'], { input: script }).status).toBe(0);
    expect(Buffer.byteLength(script, 'utf8')).toBeLessThan(USER_DATA_LIMIT_BYTES);
  });

  test('carries no database password: it is generated on the host into a root-only file', () => {
    const mentions = script.split('\n').filter((line) => line.includes('MARIADB_ROOT_PASSWORD='));
    expect(mentions.length).toBeGreaterThan(0);
    // Written from /dev/urandom with printf, read back with sed: never a literal value.
    for (const line of mentions) expect(line).toMatch(/MARIADB_ROOT_PASSWORD=(%s\\n|\/\/p)/);
    expect(script).toContain('umask 077');
    expect(script).toContain(`chmod 0600 ${INSTANCE_PATHS.databaseEnvFile}`);
    expect(script).toContain(`--env-file ${INSTANCE_PATHS.databaseEnvFile}`);
  });

  test('runs the database as a container named mysql, with a named volume, published on the bridge gateway only', () => {
    const run = /docker run --detach(?:[^\n]*\\\n)*[^\n]*/.exec(script)![0];
    expect(run).toContain('--name mysql');
    expect(run).toContain('--volume mysql-data:/var/lib/mysql');
    expect(run).toContain('--publish 172.17.0.1:3306:3306');
    expect(run).toContain(DATABASE_IMAGE);
    expect(run).not.toMatch(/acts/);
  });

  test('writes a config the orchestrator accepts, with the boot-time values filled in', () => {
    const password = 'a1'.repeat(24);
    const expanded = expandConfig(script, {
      DB_PASSWORD: password,
      PUBLIC_IP: '203.0.113.7',
      LB_DNS: inputs(service).loadBalancerDnsName,
    });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'orch-config-'));
    try {
      const file = path.join(dir, 'orchestrator.json');
      writeFileSync(file, expanded);
      const config = loadConfigFile(file);
      expect(config.listen).toEqual({ host: '0.0.0.0', port: 80 });
      expect(config.runtime).toMatchObject({ kind: 'docker', publishHost: '0.0.0.0' });
      expect(config.pools).toHaveLength(1);
      const pool = config.pools[0]!;
      expect(pool.name).toBe(service);
      expect(pool.image).toBe(`${service}:latest`);
      expect(pool.firstPort).toBe(service === 'acts' ? 8000 : 8100);
      expect(pool.pathPrefixes).toEqual(['/api/v1/']);
      expect(pool.env.DATABASE_URL).toBe(`mysql://root:${password}@172.17.0.1:3306/${service}`);
      if (service === 'acts') {
        expect(pool.env.USERS_URL).toBe(`http://${inputs(service).loadBalancerDnsName}`);
        expect(pool.env.PUBLIC_ORIGIN).toBe('http://203.0.113.7');
        expect(config.staticDir).toBe(`${INSTANCE_PATHS.installDir}/web/dist`);
      } else {
        expect(pool.env).not.toHaveProperty('USERS_URL');
        expect(config).not.toHaveProperty('staticDir');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('installs the unit file verbatim', () => {
    expect(script).toContain(`<<'UNIT'\n${UNIT}UNIT\n`);
  });
});

describe('user data inputs', () => {
  test('a value with a single quote stays one shell word', () => {
    const script = renderUserData({ ...inputs('users'), region: "x'; rm -rf / #" });
    // Only the assignment block: it must evaluate to the literal value.
    const header = script.slice(0, script.indexOf('log() {'));
    const out = execFileSync('bash', ['-c', `${header}\nprintf %s "$REGION"`], { encoding: 'utf8' });
    expect(out).toBe("x'; rm -rf / #");
  });

  test('the acts host reads its public address with an IMDSv2 token', () => {
    const script = renderUserData(inputs('acts'));
    expect(script).toContain('-X PUT http://169.254.169.254/latest/api/token');
    expect(script).toContain('X-aws-ec2-metadata-token: $IMDS_TOKEN');
    expect(renderUserData(inputs('users'))).not.toContain('169.254.169.254');
  });
});
