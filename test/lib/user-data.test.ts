import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfigFile } from '../../orchestrator/config';
import { DOCKER_DAEMON_CONFIG, DOCKER_DAEMON_CONFIG_PATH } from '../../lib/docker-daemon';
import { CLOUDWATCH_AGENT_CTL, cloudWatchAgentConfig, HOST_LOG_PATHS } from '../../lib/host-logging';
import {
  AL2023_PACKAGES,
  DATABASE_IMAGE,
  INSTANCE_PATHS,
  renderUserData,
  stepTitles,
  USER_DATA_LIMIT_BYTES,
  type HostLogging,
  type ServiceName,
  type UserDataInputs,
} from '../../lib/user-data';

const REPO_ROOT = path.resolve(__dirname, '../..');
const UNIT = readFileSync(path.join(REPO_ROOT, 'host/selfieless-orchestrator.service'), 'utf8');
const hostFile = (name: string) => readFileSync(path.join(REPO_ROOT, 'host', name), 'utf8');
const LOGGING: HostLogging = {
  logGroupName: '/SelfieLessActs/acts',
  rotation: {
    config: hostFile('selfieless-logrotate.conf'),
    service: hostFile('selfieless-logrotate.service'),
    timer: hostFile('selfieless-logrotate.timer'),
  },
};
const LB_DNS = 'SelfieLessActs-LoadBalancer-ABCDEFGHIJKL-1234567890.ap-southeast-2.elb.amazonaws.com';

// Deploy-time values as long as CloudFormation makes them, so the size check is honest.
function inputs(service: ServiceName, database: 'rds' | 'container' = 'rds'): UserDataInputs {
  const account = '123456789012';
  const region = 'ap-southeast-2';
  return {
    service,
    region,
    stackName: 'SelfieLessActs',
    signalResource: `${service === 'acts' ? 'Acts' : 'Users'}HostsGroupASG0123ABCD`,
    imageUri: `${account}.dkr.ecr.${region}.amazonaws.com/cdk-hnb659fds-container-assets-${account}-${region}:${'f'.repeat(64)}`,
    orchestratorBundleUrl: `s3://cdk-hnb659fds-assets-${account}-${region}/${'e'.repeat(64)}.zip`,
    usersUrl: `http://${LB_DNS}`,
    serveWebUi: service === 'acts',
    systemdUnit: UNIT,
    maxReplicas: 3,
    database:
      database === 'rds'
        ? {
            kind: 'rds',
            secretArn: `arn:aws:secretsmanager:${region}:${account}:secret:DatabaseSecret3B817195-AbCdEfGhIjKl-a1B2c3`,
          }
        : { kind: 'container' },
  };
}

const SERVICES: ServiceName[] = ['acts', 'users'];
const VARIANTS = SERVICES.flatMap((service) =>
  (['rds', 'container'] as const).map((db) => [service, db] as const),
);

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

describe.each(VARIANTS)('user data of the %s host with the database on %s', (service, db) => {
  const script = renderUserData(inputs(service, db), LOGGING);
  // Only the on-host database has a password made on the host and a container to run.
  const onHost = db === 'container' ? test : () => undefined;

  test('runs its steps in the order the host needs them, and signals CloudFormation last', () => {
    const expected = [
      'install Docker, Node.js 22, the CloudFormation helper and the CloudWatch agent',
      'log in to ECR',
      `pull the ${service} image and tag it ${service}:latest`,
      ...(db === 'rds'
        ? ['read the database credentials from Secrets Manager']
        : ['start the database container', 'wait for the database']),
      ...(service === 'acts' ? ['read the public address from instance metadata (IMDSv2)'] : []),
      'write the orchestrator config',
      'install the orchestrator bundle',
      'ship the logs to CloudWatch Logs',
      'start the orchestrator under systemd',
      'wait until a replica serves',
    ];
    expect(stepTitles(script)).toEqual(expected);
    // The commands themselves follow the same order.
    const order = [
      `dnf install -y ${AL2023_PACKAGES.join(' ')}`,
      `cat > ${DOCKER_DAEMON_CONFIG_PATH} <<'DAEMON'`,
      'systemctl enable --now docker',
      'aws ecr get-login-password',
      'docker pull "$IMAGE_URI"',
      `docker tag "$IMAGE_URI" '${service}:latest'`,
      ...(db === 'rds'
        ? ['aws secretsmanager get-secret-value']
        : ['docker run --detach --name mysql', 'mariadb-admin ping']),
      `cat > ${INSTANCE_PATHS.configFile} <<CONFIG`,
      'aws s3 cp',
      `install -d -m 0750 ${HOST_LOG_PATHS.dir}`,
      'systemctl enable --now selfieless-logrotate.timer',
      `${CLOUDWATCH_AGENT_CTL} -a fetch-config -m ec2 -s -c file:${HOST_LOG_PATHS.agentConfig}`,
      `cat > ${INSTANCE_PATHS.unitFile} <<'UNIT'`,
      'systemctl enable --now selfieless-orchestrator.service',
      "signal 0 '",
    ].map((needle) => script.indexOf(needle));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  test('installs Node.js 22 from Amazon Linux and the cfn-signal helper', () => {
    expect(AL2023_PACKAGES).toEqual([
      'docker',
      'nodejs22',
      'aws-cfn-bootstrap',
      'unzip',
      'amazon-cloudwatch-agent',
      'logrotate',
    ]);
    expect(script).not.toMatch(/nodejs20|node-20/);
    expect(script).toContain(
      '/opt/aws/bin/cfn-signal -e "$1" --stack "$STACK" --resource "$SIGNAL_RESOURCE" --region "$REGION"',
    );
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

  onHost('carries no database password: it is generated on the host into a root-only file', () => {
    const mentions = script.split('\n').filter((line) => line.includes('MARIADB_ROOT_PASSWORD='));
    expect(mentions.length).toBeGreaterThan(0);
    // Written from /dev/urandom with printf, read back with sed: never a literal value.
    for (const line of mentions) expect(line).toMatch(/MARIADB_ROOT_PASSWORD=(%s\\n|\/\/p)/);
    expect(script).toContain('umask 077');
    expect(script).toContain(`chmod 0600 ${INSTANCE_PATHS.databaseEnvFile}`);
    expect(script).toContain(`--env-file ${INSTANCE_PATHS.databaseEnvFile}`);
  });

  onHost(
    'runs the database as a container named mysql, with a named volume and a memory limit, published on the bridge gateway only',
    () => {
      const run = /docker run --detach(?:[^\n]*\\\n)*[^\n]*/.exec(script)![0];
      expect(run).toContain('--name mysql');
      expect(run).toContain('--memory 256m');
      expect(run).toContain('--volume mysql-data:/var/lib/mysql');
      expect(run).toContain('--publish 172.17.0.1:3306:3306');
      expect(run).toContain(DATABASE_IMAGE);
      expect(run).not.toMatch(/acts/);
    },
  );

  test('writes a config the orchestrator accepts, with the boot-time values filled in', () => {
    const password = 'a1'.repeat(24);
    const expanded = expandConfig(script, {
      DB_USER: 'selfieless',
      DB_PASSWORD: password,
      DB_HOST: 'db.example.internal',
      DB_PORT: '3306',
      PUBLIC_IP: '203.0.113.7',
      USERS_URL: `http://${LB_DNS}`,
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
      expect(pool.maxReplicas).toBe(3);
      expect(pool.env.DATABASE_URL).toBe(
        `mysql://selfieless:${password}@db.example.internal:3306/${service}`,
      );
      if (service === 'acts') {
        expect(pool.env.USERS_URL).toBe(`http://${LB_DNS}`);
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

  test('writes the log configuration verbatim: Docker defaults, logrotate and its timer, the agent config', () => {
    /** The body of the heredoc that writes `file`, as bash would write it. */
    const written = (file: string) => {
      const match = new RegExp(`cat > ${file} <<'(\\w+)'\n([\\s\\S]*?)\n\\1\n`).exec(script);
      if (!match) throw new Error(`${file} is not written`);
      return match[2]!;
    };
    const daemon: unknown = JSON.parse(written(DOCKER_DAEMON_CONFIG_PATH));
    expect(daemon).toEqual(DOCKER_DAEMON_CONFIG);
    // Replicas' ports are published by NAT rules, not through a proxy process per port.
    expect(daemon).toMatchObject({ 'userland-proxy': false });
    expect(JSON.parse(written(HOST_LOG_PATHS.agentConfig))).toEqual(
      cloudWatchAgentConfig(LOGGING.logGroupName),
    );
    expect(`${written(HOST_LOG_PATHS.logrotateConfig)}\n`).toBe(LOGGING.rotation.config);
    expect(`${written(HOST_LOG_PATHS.logrotateService)}\n`).toBe(LOGGING.rotation.service);
    expect(`${written(HOST_LOG_PATHS.logrotateTimer)}\n`).toBe(LOGGING.rotation.timer);
  });
});

describe('user data inputs', () => {
  test('a log group name CloudWatch Logs would refuse is refused at synth', () => {
    expect(() => renderUserData(inputs('users'), { ...LOGGING, logGroupName: "/x'; reboot #" })).toThrow(
      /not a CloudWatch Logs group name/,
    );
  });

  test('a value with a single quote stays one shell word', () => {
    const script = renderUserData({ ...inputs('users'), region: "x'; rm -rf / #" }, LOGGING);
    // Only the assignment block: it must evaluate to the literal value.
    const header = script.slice(0, script.indexOf('log() {'));
    const out = execFileSync('bash', ['-c', `${header}\nprintf %s "$REGION"`], { encoding: 'utf8' });
    expect(out).toBe("x'; rm -rf / #");
  });

  test('the acts host reads its public address with an IMDSv2 token', () => {
    const script = renderUserData(inputs('acts'), LOGGING);
    expect(script).toContain('-X PUT http://169.254.169.254/latest/api/token');
    expect(script).toContain('X-aws-ec2-metadata-token: $IMDS_TOKEN');
    expect(renderUserData(inputs('users'), LOGGING)).not.toContain('169.254.169.254');
  });
});

/**
 * Runs a rendered script in a scratch directory whose PATH holds small stand-ins for the
 * host's commands, with cfn-signal recording its arguments. Only the commands named here
 * behave; everything else is the real tool.
 */
function runWithStandIns(
  script: string,
  standIns: Record<string, string>,
): { signals: string[]; output: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'user-data-run-'));
  try {
    const bin = path.join(dir, 'bin');
    const signals = path.join(dir, 'signals');
    execFileSync('mkdir', ['-p', bin, path.join(dir, 'etc-docker')]);
    const all: Record<string, string> = {
      sleep: 'exit 0',
      dnf: 'exit 0',
      systemctl: 'exit 0',
      useradd: 'exit 0',
      'cfn-signal': `printf '%s\\n' "$*" >> ${signals}`,
      ...standIns,
    };
    for (const [name, body] of Object.entries(all)) {
      writeFileSync(path.join(bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
    }
    // The first step writes the engine's settings before anything can fail; as root it would
    // write this machine's own /etc/docker/daemon.json and change its next dockerd.
    const patched = script
      .replaceAll('/opt/aws/bin/cfn-signal', path.join(bin, 'cfn-signal'))
      .replaceAll(path.posix.dirname(DOCKER_DAEMON_CONFIG_PATH), path.join(dir, 'etc-docker'));
    const result = spawnSync('bash', ['-c', patched], {
      encoding: 'utf8',
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir },
      timeout: 60_000,
    });
    let recorded = '';
    try {
      recorded = readFileSync(signals, 'utf8');
    } catch {
      // no signal at all
    }
    return { signals: recorded.split('\n').filter(Boolean), output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the boot script and CloudFormation', () => {
  test('a failing step signals failure once, naming the step, so the stack events show why', () => {
    const script = renderUserData(inputs('users'), LOGGING);
    const { signals, output } = runWithStandIns(script, {
      // Docker installs; the registry refuses every login.
      docker: 'exit 0',
      aws: 'echo "An error occurred (AccessDeniedException)" >&2; exit 254',
    });
    expect(output).toContain('failed (exit 1) in step: log in to ECR');
    expect(signals).toHaveLength(1);
    expect(signals[0]).toMatch(
      /^-e 1 --stack SelfieLessActs --resource UsersHostsGroupASG0123ABCD --region ap-southeast-2 --reason users host failed in step: log in to ECR/,
    );
  });

  test('reads the RDS credentials from the secret on stdin and URL-encodes them into the config', () => {
    const script = renderUserData(inputs('users'), LOGGING);
    const secret = JSON.stringify({
      username: 'selfieless',
      password: 'p@ss:w/rd%',
      host: 'db.abc.ap-southeast-2.rds.amazonaws.com',
      port: 3306,
    });
    // Everything up to the bundle: the config is written, then the bundle download fails.
    const { output, signals } = runWithStandIns(
      script
        .replace(`cat > ${INSTANCE_PATHS.configFile} <<CONFIG`, 'cat <<CONFIG')
        .replace(/^(chown|chmod 0640) .*$/gm, ':'),
      {
        docker: 'exit 0',
        'node-22': `exec ${process.execPath} "$@"`,
        aws: `case "$1 $2" in
  "secretsmanager get-secret-value") printf '%s\\n' '${secret}';;
  "ecr get-login-password") echo token;;
  *) exit 1;;
esac`,
        install: 'exit 0',
      },
    );
    expect(output).toContain(
      '"DATABASE_URL": "mysql://selfieless:p%40ss%3Aw%2Frd%25@db.abc.ap-southeast-2.rds.amazonaws.com:3306/users"',
    );
    expect(signals).toEqual([expect.stringMatching(/^-e 1 .*install the orchestrator bundle/)]);
  });

  test('the script reads the secret only through the AWS CLI and never puts the password in an argument', () => {
    const script = renderUserData(inputs('acts'), LOGGING);
    expect(script).toContain(
      'aws secretsmanager get-secret-value --region "$REGION" --secret-id "$DB_SECRET_ARN" --query SecretString --output text',
    );
    // The only commands that see the password get it on stdin (printf is a shell builtin).
    for (const line of script
      .split('\n')
      .filter((l) => l.includes('$DB_PASSWORD') || l.includes('$DB_SECRET"')))
      expect(line).toMatch(/^(DB_FIELDS=.*printf '%s' "\$DB_SECRET" \||if \[ -z "\$DB_HOST" \])/);
  });
});
