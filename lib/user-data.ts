/**
 * The first-boot script of a service host, as plain text. Pure: the stack passes in
 * CloudFormation tokens where values are only known at deploy time, tests pass real strings
 * and run the result through shellcheck.
 *
 * The script's interface to the machine (stable; the deploy rehearsal provides exactly this):
 * - `dnf install -y` of Amazon Linux 2023 packages: docker, nodejs22, aws-cfn-bootstrap, unzip,
 *   amazon-cloudwatch-agent, logrotate (and awscli-2 only when `aws` is missing);
 * - `systemctl` (daemon-reload, enable --now docker / the log rotation timer / the orchestrator unit);
 * - `amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:PATH`;
 * - instance metadata with IMDSv2 (`curl` to 169.254.169.254: token, then `public-ipv4` on the
 *   acts host);
 * - `aws ecr get-login-password | docker login`, `aws s3 cp` of the orchestrator bundle zip,
 *   and with the RDS database `aws secretsmanager get-secret-value --query SecretString`;
 * - `/opt/aws/bin/cfn-signal -e 0|1 --stack S --resource R --region REGION [--reason TEXT]`;
 * - the docker CLI (pull, tag, and with the on-host database: run, exec, inspect, logs);
 * - `node-22` to read the database secret's JSON (from stdin, never from argv);
 * - files: /etc/selfieless/orchestrator.json (0640 root:selfieless), /opt/selfieless (the
 *   bundle), /etc/systemd/system/selfieless-orchestrator.service, and with the on-host
 *   database /etc/selfieless/mysql.env (0600); /etc/docker/daemon.json (lib/docker-daemon.ts);
 *   for the logs (lib/host-logging.ts) /var/log/selfieless, the agent's config, logrotate's config and
 *   its timer.
 * It runs with `set -Eeuo pipefail`; any exit before the end signals failure to
 * CloudFormation with the step it happened in. Success is signalled only once the orchestrator answers `/`
 * with 200, which it does only while a replica of its pool is in rotation.
 *
 * Choices worth knowing:
 * - Node.js 22 from Amazon Linux's own namespaced package; the unit runs the versioned
 *   `/usr/bin/node-22`, so it never changes major under our feet.
 * - Database credentials never appear in user data, the template or a process listing: RDS
 *   credentials are read at boot from Secrets Manager (the role may read that one secret);
 *   the on-host database's root password is generated on the host into a root-only file.
 * - The on-host database container is named `mysql` (never a name holding "acts": the
 *   course's checks grep `docker ps` for it), keeps its files in a named volume, and is
 *   published on the Docker bridge gateway (172.17.0.1) only: containers on the default
 *   bridge reach it there; the VPC does not.
 */
import path from 'node:path';
import { servicePool, type OrchestratorConfigFile } from '../common/orchestrator-config';
import { REPLICA_LIMITS, SERVICES, type ServiceName } from '../common/topology';
import { DATABASE_CONTAINER_MIB } from './host-capacity';
import { DOCKER_DAEMON_CONFIG, DOCKER_DAEMON_CONFIG_PATH } from './docker-daemon';
import { CLOUDWATCH_AGENT_CTL, cloudWatchAgentConfig, HOST_LOG_PATHS } from './host-logging';

export type { ServiceName };

export type DatabaseAccess =
  /** RDS: the secret (host, port, username, password) is read at boot. */
  | { kind: 'rds'; secretArn: string }
  /** A MariaDB container on the host itself, its password generated at first boot. */
  | { kind: 'container' };

export interface UserDataInputs {
  /** Which service this host runs. */
  service: ServiceName;
  /** Region of the stack, its registry, bucket and secret. */
  region: string;
  /** Stack name and logical id of the Auto Scaling group, for cfn-signal. */
  stackName: string;
  signalResource: string;
  /** ECR URI of this service's image, tagged on the host as `<service>:latest`. */
  imageUri: string;
  /** `s3://bucket/key` of the zipped orchestrator bundle (orchestrator.js, web/dist). */
  orchestratorBundleUrl: string;
  /** Base URL of the users API as the acts service calls it (through the load balancer). */
  usersUrl: string;
  /** Whether this host's front door serves the web UI from the bundle at `/`. */
  serveWebUi: boolean;
  /** Text of the systemd unit (host/selfieless-orchestrator.service). */
  systemdUnit: string;
  /** The most replicas this host's memory holds (see host-capacity.ts). */
  maxReplicas: number;
  database: DatabaseAccess;
}

/** Where the host's logs go (lib/host-logging.ts). */
export interface HostLogging {
  /** CloudWatch Logs group the agent ships this host's logs to. */
  logGroupName: string;
  /** Texts of host/selfieless-logrotate.{conf,service,timer}. */
  rotation: { config: string; service: string; timer: string };
}

/** Where things live on a host; the systemd unit names the same paths. */
export const INSTANCE_PATHS = {
  installDir: '/opt/selfieless',
  configDir: '/etc/selfieless',
  configFile: '/etc/selfieless/orchestrator.json',
  databaseEnvFile: '/etc/selfieless/mysql.env',
  unitFile: '/etc/systemd/system/selfieless-orchestrator.service',
} as const;

export const DATABASE_IMAGE = 'public.ecr.aws/docker/library/mariadb:11';
export const DOCKER_BRIDGE_GATEWAY = '172.17.0.1';
/** How long a new host may take to serve before it reports failure (image pull, first replica). */
export const HEALTH_WAIT_SECONDS = 600;
export const AL2023_PACKAGES = [
  'docker',
  'nodejs22',
  'aws-cfn-bootstrap',
  'unzip',
  'amazon-cloudwatch-agent',
  'logrotate',
] as const;
export const CFN_SIGNAL = '/opt/aws/bin/cfn-signal';

/** The user data has to fit EC2's 16 KB limit (before base64). */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

// The config holds no literal deploy-time values: it names shell variables, assigned at the top
// of the script (deploy-time values) or at boot (credentials, address), and an unquoted heredoc
// expands them. Nothing else in it may look like a shell expansion.
const CONFIG_VARIABLES = ['DB_USER', 'DB_PASSWORD', 'DB_HOST', 'DB_PORT', 'PUBLIC_IP', 'USERS_URL'] as const;
const ref = (name: (typeof CONFIG_VARIABLES)[number]) => `\${${name}}`;

/** The orchestrator config for the host, with the boot-time values as shell references. */
export function orchestratorConfig(inputs: UserDataInputs): OrchestratorConfigFile {
  const topology = SERVICES[inputs.service];
  const env: Record<string, string> = {
    DATABASE_URL: `mysql://${ref('DB_USER')}:${ref('DB_PASSWORD')}@${ref('DB_HOST')}:${ref('DB_PORT')}/${topology.database}`,
  };
  if (inputs.service === 'acts') {
    env.USERS_URL = ref('USERS_URL');
    env.PUBLIC_ORIGIN = `http://${ref('PUBLIC_IP')}`;
  }
  return {
    listen: { host: '0.0.0.0', port: 80 },
    admin: { host: '127.0.0.1', port: 9090 },
    // The course's checks expect `docker port` to show 0.0.0.0:8000; the security group
    // still admits only port 80 (from the load balancer, or the direct-access CIDR).
    runtime: { kind: 'docker', publishHost: '0.0.0.0' },
    ...(inputs.serveWebUi ? { staticDir: `${INSTANCE_PATHS.installDir}/web/dist` } : {}),
    teardownOnExit: false,
    pools: [
      servicePool(inputs.service, {
        placement: { kind: 'docker' },
        env,
        maxReplicas: inputs.maxReplicas,
        // The load balancer already sends this host only its service's paths.
        pathPrefixes: ['/api/v1/'],
      }),
    ],
  };
}

/** Single-quotes a value for the shell. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function heredoc(path: string, body: string, marker: string): string {
  if (body.split('\n').includes(marker))
    throw new Error(`heredoc body for ${path} contains its marker ${marker}`);
  const text = body.endsWith('\n') ? body : `${body}\n`;
  return `cat > ${path} <<'${marker}'\n${text}${marker}`;
}

function databaseSteps(inputs: UserDataInputs, step: (title: string, body: string) => void): void {
  const paths = INSTANCE_PATHS;
  if (inputs.database.kind === 'rds') {
    step(
      'read the database credentials from Secrets Manager',
      `# Read into a variable and parsed from stdin: the password is never an argument of a process.
DB_SECRET="$(retry aws secretsmanager get-secret-value --region "$REGION" --secret-id "$DB_SECRET_ARN" --query SecretString --output text)"
# shellcheck disable=SC2016
DB_FIELDS="$(printf '%s' "$DB_SECRET" | node-22 -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => { const j = JSON.parse(s); console.log([j.host, String(j.port), encodeURIComponent(j.username), encodeURIComponent(j.password)].join("\\n")); });')"
unset DB_SECRET
{ read -r DB_HOST; read -r DB_PORT; read -r DB_USER; read -r DB_PASSWORD; } <<<"$DB_FIELDS"
unset DB_FIELDS
if [ -z "$DB_HOST" ] || [ -z "$DB_PASSWORD" ]; then
  log 'the database secret lacks host or password'
  exit 1
fi`,
    );
    return;
  }
  step(
    'start the database container',
    `install -d -m 0755 ${paths.configDir}
if [ ! -s ${paths.databaseEnvFile} ]; then
  # 48 hex digits: URL-safe, so it goes into DATABASE_URL unescaped.
  (umask 077 && printf 'MARIADB_ROOT_PASSWORD=%s\\n' "$(od -An -N24 -tx1 /dev/urandom | tr -d ' \\n')" > ${paths.databaseEnvFile})
fi
chmod 0600 ${paths.databaseEnvFile}
DB_USER=root
DB_PASSWORD="$(sed -n 's/^MARIADB_ROOT_PASSWORD=//p' ${paths.databaseEnvFile})"
DB_HOST=${DOCKER_BRIDGE_GATEWAY}
DB_PORT=3306
if ! docker container inspect mysql >/dev/null 2>&1; then
  retry docker pull ${DATABASE_IMAGE}
  # Photos travel as base64 text (a third larger than the photo); the default 16 MB packet refuses large ones.
  # The memory limit is part of the host's budget (lib/host-capacity.ts); the buffer pool fits inside it.
  docker run --detach --name mysql --restart unless-stopped \\
    --memory ${DATABASE_CONTAINER_MIB}m \\
    --env-file ${paths.databaseEnvFile} \\
    --volume mysql-data:/var/lib/mysql \\
    --publish ${DOCKER_BRIDGE_GATEWAY}:3306:3306 \\
    ${DATABASE_IMAGE} \\
    --max-allowed-packet=64M --innodb-buffer-pool-size=64M --performance-schema=OFF
fi`,
  );
  step(
    'wait for the database',
    `# The password is read inside the container from its own environment, so it never shows in ps.
# shellcheck disable=SC2016
db_ready() { docker exec mysql sh -c 'MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb-admin ping --host=127.0.0.1 --user=root --silent' >/dev/null 2>&1; }
for _ in $(seq 1 90); do
  db_ready && break
  sleep 2
done
db_ready || { log 'database did not become ready'; docker logs --tail 50 mysql; exit 1; }`,
  );
}

/** Renders the whole first-boot script. */
export function renderUserData(inputs: UserDataInputs, logging: HostLogging): string {
  const { service } = inputs;
  const paths = INSTANCE_PATHS;
  if (
    !Number.isInteger(inputs.maxReplicas) ||
    inputs.maxReplicas < REPLICA_LIMITS.min ||
    inputs.maxReplicas > REPLICA_LIMITS.max
  ) {
    throw new Error(
      `maxReplicas must be an integer from ${REPLICA_LIMITS.min} to ${REPLICA_LIMITS.max}, got ${inputs.maxReplicas}`,
    );
  }
  if (!/^[A-Za-z0-9._/#-]{1,512}$/.test(logging.logGroupName)) {
    throw new Error(`not a CloudWatch Logs group name: ${JSON.stringify(logging.logGroupName)}`);
  }
  const config = JSON.stringify(orchestratorConfig(inputs), null, 2);
  const allowed = new RegExp(`\\$(?!\\{(${CONFIG_VARIABLES.join('|')})\\})`);
  if (config.includes('`') || config.includes('\\') || allowed.test(config)) {
    throw new Error(`orchestrator config holds shell expansions other than ${CONFIG_VARIABLES.join(', ')}`);
  }

  const sections: string[] = [];
  const step = (title: string, body: string) =>
    sections.push(`# --- ${title}\nSTEP=${shellQuote(title)}\nlog "$STEP"\n${body}`);

  const assignments = [
    `SERVICE=${shellQuote(service)}`,
    `REGION=${shellQuote(inputs.region)}`,
    `STACK=${shellQuote(inputs.stackName)}`,
    `SIGNAL_RESOURCE=${shellQuote(inputs.signalResource)}`,
    `IMAGE_URI=${shellQuote(inputs.imageUri)}`,
    `BUNDLE_URL=${shellQuote(inputs.orchestratorBundleUrl)}`,
    ...(service === 'acts' ? [`USERS_URL=${shellQuote(inputs.usersUrl)}`] : []),
    ...(inputs.database.kind === 'rds' ? [`DB_SECRET_ARN=${shellQuote(inputs.database.secretArn)}`] : []),
  ];

  sections.push(`#!/bin/bash
# First boot of a ${service} host (SelfieLessActs). Output: /var/log/cloud-init-output.log.
set -Eeuo pipefail
umask 022

${assignments.join('\n')}
STEP='start'

log() { printf '[selfieless %s] %s\\n' "$(date -u +%H:%M:%S)" "$*"; }

# CloudFormation waits for this host's signal; a failure carries the step it happened in,
# so the reason shows in the stack events. Any exit before the last step is a failure.
SIGNALLED=''
signal() {
  SIGNALLED=yes
  if [ -x ${CFN_SIGNAL} ]; then
    ${CFN_SIGNAL} -e "$1" --stack "$STACK" --resource "$SIGNAL_RESOURCE" --region "$REGION" --reason "$2" || true
  fi
}
on_exit() {
  local status=$?
  [ -n "$SIGNALLED" ] && return
  log "failed (exit $status) in step: $STEP"
  signal 1 "$SERVICE host failed in step: $STEP (exit $status); see /var/log/cloud-init-output.log"
}
trap on_exit EXIT

# Boot-time network and registries can be briefly unavailable; a bounded retry beats a dead host.
retry() {
  local attempt=1
  until "$@"; do
    if [ "$attempt" -ge 10 ]; then
      log "giving up after $attempt attempts: $1"
      return 1
    fi
    sleep $((attempt * 3))
    attempt=$((attempt + 1))
  done
}`);

  step(
    'install Docker, Node.js 22, the CloudFormation helper and the CloudWatch agent',
    `retry dnf install -y ${AL2023_PACKAGES.join(' ')}
command -v aws >/dev/null || retry dnf install -y awscli-2
# Before the engine starts: its default log options apply to every container it creates, and
# its ports are published without a proxy process (lib/docker-daemon.ts).
install -d -m 0755 ${path.posix.dirname(DOCKER_DAEMON_CONFIG_PATH)}
${heredoc(DOCKER_DAEMON_CONFIG_PATH, JSON.stringify(DOCKER_DAEMON_CONFIG, null, 2), 'DAEMON')}
systemctl enable --now docker
id -u selfieless >/dev/null 2>&1 || useradd --system --no-create-home --shell /sbin/nologin selfieless`,
  );

  step(
    'log in to ECR',
    `REGISTRY="\${IMAGE_URI%%/*}"
ecr_login() { aws ecr get-login-password --region "$REGION" | docker login --username AWS --password-stdin "$REGISTRY"; }
retry ecr_login`,
  );

  step(
    `pull the ${service} image and tag it ${SERVICES[service].image}`,
    `retry docker pull "$IMAGE_URI"
docker tag "$IMAGE_URI" ${shellQuote(SERVICES[service].image)}`,
  );

  databaseSteps(inputs, step);

  if (service === 'acts') {
    step(
      'read the public address from instance metadata (IMDSv2)',
      `IMDS_TOKEN="$(curl -fsS -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')"
PUBLIC_IP="$(curl -fsS -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" http://169.254.169.254/latest/meta-data/public-ipv4)"
[[ "$PUBLIC_IP" =~ ^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$ ]] || { log "unexpected public address: $PUBLIC_IP"; exit 1; }`,
    );
  }

  step(
    'write the orchestrator config',
    `install -d -m 0755 ${paths.configDir}
# Unquoted heredoc: expands the variables the config names, nothing else.
(umask 027 && cat > ${paths.configFile} <<CONFIG
${config}
CONFIG
)
chown root:selfieless ${paths.configFile}
chmod 0640 ${paths.configFile}
unset DB_PASSWORD`,
  );

  step(
    'install the orchestrator bundle',
    `BUNDLE_ZIP="$(mktemp --suffix=.zip)"
retry aws s3 cp --region "$REGION" "$BUNDLE_URL" "$BUNDLE_ZIP"
rm -rf ${paths.installDir}.new
unzip -q "$BUNDLE_ZIP" -d ${paths.installDir}.new
rm -f "$BUNDLE_ZIP"
test -f ${paths.installDir}.new/orchestrator.js
rm -rf ${paths.installDir}
mv ${paths.installDir}.new ${paths.installDir}
chmod -R u=rwX,go=rX ${paths.installDir}`,
  );

  step(
    'ship the logs to CloudWatch Logs',
    `# The orchestrator's unit appends to a file in this directory; logrotate bounds it.
install -d -m 0750 ${HOST_LOG_PATHS.dir}
install -d -m 0755 ${paths.configDir}
${heredoc(HOST_LOG_PATHS.logrotateConfig, logging.rotation.config, 'LOGROTATE')}
${heredoc(HOST_LOG_PATHS.logrotateService, logging.rotation.service, 'UNIT')}
${heredoc(HOST_LOG_PATHS.logrotateTimer, logging.rotation.timer, 'UNIT')}
systemctl daemon-reload
systemctl enable --now selfieless-logrotate.timer
${heredoc(HOST_LOG_PATHS.agentConfig, JSON.stringify(cloudWatchAgentConfig(logging.logGroupName), null, 2), 'AGENT')}
${CLOUDWATCH_AGENT_CTL} -a fetch-config -m ec2 -s -c file:${HOST_LOG_PATHS.agentConfig}`,
  );

  step(
    'start the orchestrator under systemd',
    `${heredoc(paths.unitFile, inputs.systemdUnit, 'UNIT')}
systemctl daemon-reload
systemctl enable --now selfieless-orchestrator.service
log 'orchestrator started; logs: ${HOST_LOG_PATHS.orchestrator} and CloudWatch Logs group ${logging.logGroupName}'`,
  );

  step(
    'wait until a replica serves',
    `# The front door answers / with 200 only while a replica of its pool is in rotation.
serving() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1/)" = 200 ]; }
deadline=$((SECONDS + ${HEALTH_WAIT_SECONDS}))
until serving; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    log 'no replica served within ${HEALTH_WAIT_SECONDS} s'
    tail -n 30 ${HOST_LOG_PATHS.orchestrator} || true
    false
  fi
  sleep 3
done
signal 0 '${service} host serving'
log 'serving; CloudFormation signalled'`,
  );

  return `${sections.join('\n\n')}\n`;
}

/** The step titles in the order the script runs them (used by tests and docs). */
export function stepTitles(script: string): string[] {
  return [...script.matchAll(/^# --- (.+)$/gm)].map((m) => m[1]!);
}
