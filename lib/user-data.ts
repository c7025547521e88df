/**
 * The first-boot script of a service instance, as plain text. Pure: the stack passes in
 * CloudFormation tokens where values are only known at deploy time, tests pass real strings
 * and run the result through shellcheck.
 *
 * Choices worth knowing when reading the script:
 * - Amazon Linux 2023 ships Docker and namespaced Node.js majors in its own repositories,
 *   so `dnf install docker nodejs20` needs no third-party repository; the unit runs the
 *   versioned `/usr/bin/node-20` so it never changes major under our feet. The AWS CLI v2
 *   is part of the AMI (installed from `awscli-2` only if missing).
 * - The database container is named `mysql` (never a name holding "acts": the course's
 *   checks grep `docker ps` for it) and keeps its files in a named volume.
 * - Its root password is generated on the instance at first boot into a root-only file, so
 *   it never appears in user data, the template or the instance's metadata.
 * - The database is published on the Docker bridge gateway (172.17.0.1), not on 0.0.0.0
 *   (the VPC would reach it) and not on 127.0.0.1 (containers cannot reach the host's
 *   loopback). Service containers reach it at that address on the default bridge; the host
 *   reaches it there too.
 */

export type ServiceName = 'users' | 'acts';

export interface UserDataInputs {
  /** Which service this instance runs. */
  service: ServiceName;
  /** Region of the ECR registry (for `aws ecr get-login-password`). */
  region: string;
  /** ECR URI of this service's image, tagged on the instance as `<service>:latest`. */
  imageUri: string;
  /** `s3://bucket/key` of the zipped orchestrator bundle (orchestrator.js, maybe web/dist). */
  orchestratorBundleUrl: string;
  /** DNS name of the load balancer; the acts service reaches the users API through it. */
  loadBalancerDnsName: string;
  /** Whether the bundle carries the web UI, which this instance's front door then serves at `/`. */
  serveWebUi: boolean;
  /** Text of the systemd unit (infra/selfieless-orchestrator.service). */
  systemdUnit: string;
}

/** Where things live on an instance; the systemd unit names the same paths. */
export const INSTANCE_PATHS = {
  installDir: '/opt/selfieless',
  configDir: '/etc/selfieless',
  configFile: '/etc/selfieless/orchestrator.json',
  databaseEnvFile: '/etc/selfieless/mysql.env',
  unitFile: '/etc/systemd/system/selfieless-orchestrator.service',
} as const;

export const DATABASE_IMAGE = 'public.ecr.aws/docker/library/mariadb:11';
export const DOCKER_BRIDGE_GATEWAY = '172.17.0.1';

interface ServiceProfile {
  firstPort: number;
  database: string;
}

const PROFILES: Record<ServiceName, ServiceProfile> = {
  acts: { firstPort: 8000, database: 'acts' },
  users: { firstPort: 8100, database: 'users' },
};

/** The user data has to fit EC2's 16 KB limit (before base64). */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

// The config holds no literal deploy-time values: it names shell variables, assigned at the top
// of the script (deploy-time values) or at boot (password, address), and an unquoted heredoc
// expands them. Nothing else in it may look like a shell expansion.
const DB_PASSWORD_REF = '${DB_PASSWORD}';
const PUBLIC_IP_REF = '${PUBLIC_IP}';
const LB_DNS_REF = '${LB_DNS}';

/** The orchestrator config for the instance, with the boot-time values as shell references. */
export function orchestratorConfig(inputs: UserDataInputs): Record<string, unknown> {
  const profile = PROFILES[inputs.service];
  const env: Record<string, string> = {
    DATABASE_URL: `mysql://root:${DB_PASSWORD_REF}@${DOCKER_BRIDGE_GATEWAY}:3306/${profile.database}`,
  };
  if (inputs.service === 'acts') {
    env.USERS_URL = `http://${LB_DNS_REF}`;
    env.PUBLIC_ORIGIN = `http://${PUBLIC_IP_REF}`;
  }
  return {
    listen: { host: '0.0.0.0', port: 80 },
    admin: { host: '127.0.0.1', port: 9090 },
    // The course's checks expect `docker port` to show 0.0.0.0:8000; the security group
    // still admits only port 80 from the load balancer.
    runtime: { kind: 'docker', publishHost: '0.0.0.0' },
    ...(inputs.serveWebUi ? { staticDir: `${INSTANCE_PATHS.installDir}/web/dist` } : {}),
    teardownOnExit: false,
    pools: [
      {
        name: inputs.service,
        image: `${inputs.service}:latest`,
        firstPort: profile.firstPort,
        internalPort: profile.firstPort,
        env,
        minReplicas: 1,
        maxReplicas: 10,
        autoscale: true,
        // The load balancer already sends this instance only its service's paths.
        pathPrefixes: ['/api/v1/'],
      },
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

/** Renders the whole first-boot script. */
export function renderUserData(inputs: UserDataInputs): string {
  const { service } = inputs;
  const paths = INSTANCE_PATHS;
  const config = JSON.stringify(orchestratorConfig(inputs), null, 2);
  if (
    config.includes('`') ||
    config.includes('\\') ||
    /\$(?!\{(DB_PASSWORD|PUBLIC_IP|LB_DNS)\})/.test(config)
  ) {
    throw new Error(
      'orchestrator config holds shell expansions other than ${DB_PASSWORD}, ${PUBLIC_IP} and ${LB_DNS}',
    );
  }

  const sections: string[] = [];
  const step = (title: string, body: string) =>
    sections.push(`# --- ${title}\nlog ${shellQuote(title)}\n${body}`);

  sections.push(`#!/bin/bash
# First boot of the ${service} instance (SelfieLessActs). Output: /var/log/cloud-init-output.log.
set -euo pipefail
umask 022

SERVICE=${shellQuote(service)}
REGION=${shellQuote(inputs.region)}
IMAGE_URI=${shellQuote(inputs.imageUri)}
BUNDLE_URL=${shellQuote(inputs.orchestratorBundleUrl)}${service === 'acts' ? `\nLB_DNS=${shellQuote(inputs.loadBalancerDnsName)}` : ''}

log() { printf '[selfieless %s] %s\\n' "$(date -u +%H:%M:%S)" "$*"; }

# Boot-time network and registries can be briefly unavailable; a bounded retry beats a dead instance.
retry() {
  local attempt=1
  until "$@"; do
    if [ "$attempt" -ge 10 ]; then
      log "giving up after $attempt attempts: $*"
      return 1
    fi
    sleep $((attempt * 3))
    attempt=$((attempt + 1))
  done
}`);

  step(
    'install Docker and Node.js 20',
    `retry dnf install -y docker nodejs20 unzip
command -v aws >/dev/null || retry dnf install -y awscli-2
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
    `pull the ${service} image and tag it ${service}:latest`,
    `retry docker pull "$IMAGE_URI"
docker tag "$IMAGE_URI" "$SERVICE:latest"`,
  );

  step(
    'start the database container',
    `install -d -m 0755 ${paths.configDir}
if [ ! -s ${paths.databaseEnvFile} ]; then
  # 48 hex digits: URL-safe, so it goes into DATABASE_URL unescaped.
  (umask 077 && printf 'MARIADB_ROOT_PASSWORD=%s\\n' "$(od -An -N24 -tx1 /dev/urandom | tr -d ' \\n')" > ${paths.databaseEnvFile})
fi
chmod 0600 ${paths.databaseEnvFile}
DB_PASSWORD="$(sed -n 's/^MARIADB_ROOT_PASSWORD=//p' ${paths.databaseEnvFile})"
if ! docker container inspect mysql >/dev/null 2>&1; then
  retry docker pull ${DATABASE_IMAGE}
  # Photos travel as base64 text (a third larger than the photo); the default 16 MB packet refuses large ones.
  docker run --detach --name mysql --restart unless-stopped \\
    --env-file ${paths.databaseEnvFile} \\
    --volume mysql-data:/var/lib/mysql \\
    --publish ${DOCKER_BRIDGE_GATEWAY}:3306:3306 \\
    ${DATABASE_IMAGE} \\
    --max-allowed-packet=64M
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
    `# Unquoted heredoc: expands the variables the config names, nothing else.
(umask 027 && cat > ${paths.configFile} <<CONFIG
${config}
CONFIG
)
chown root:selfieless ${paths.configFile}
chmod 0640 ${paths.configFile}`,
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
    'start the orchestrator under systemd',
    `${heredoc(paths.unitFile, inputs.systemdUnit, 'UNIT')}
systemctl daemon-reload
systemctl enable --now selfieless-orchestrator.service
log 'orchestrator started; logs: journalctl -u selfieless-orchestrator'`,
  );

  return `${sections.join('\n\n')}\n`;
}

/** The step titles in the order the script runs them (used by tests and docs). */
export function stepTitles(script: string): string[] {
  return [...script.matchAll(/^# --- (.+)$/gm)].map((m) => m[1]);
}
