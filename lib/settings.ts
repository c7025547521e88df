/**
 * The deployment's settings, read from CDK context (`cdk.json` or `-c key=value`) once by
 * the entry point and validated here, so a typo fails with the setting's name before
 * anything is synthesized. docs/deploy.md lists them; none is needed for a default deploy.
 */
import { SERVICE_NAMES, type ServiceName } from './service-images';

export interface HostRange {
  min: number;
  max: number;
}

export type DatabasePlacement = 'rds' | 'container';
export type DataRemoval = 'snapshot' | 'destroy';

export interface DeploymentSettings {
  stackName: string;
  /** Every host's EC2 instance type; an ARM type (t4g, m7g, ...) switches images and AMI to arm64. */
  instanceType: string;
  /** Opens port 80 of every host to this CIDR alone (the course's per-instance checks). */
  directAccessCidr?: string;
  /** Hosts per service: one each by default, as the system is specified. */
  hosts: Record<ServiceName, HostRange>;
  /** RDS (durable, survives hosts) or a MariaDB container on each host (cheapest, course-faithful). */
  database: DatabasePlacement;
  /** What `cdk destroy` does with the RDS instance. */
  dataRemoval: DataRemoval;
  databaseInstanceType: string;
  multiAz: boolean;
  /** HTTPS on 443 with this ACM certificate; port 80 then redirects. */
  certificateArn?: string;
  domainName?: string;
  alarmEmail?: string;
  /** Image build: base images other than the official Node 22 ones (a machine without a registry). */
  baseImage?: string;
  buildBaseImage?: string;
  /** A CA bundle npm must trust inside the image build (a TLS-inspecting proxy); passed as a build secret. */
  npmCaBundle?: string;
}

export const DEFAULT_SETTINGS: DeploymentSettings = {
  stackName: 'SelfieLessActs',
  // 2 GiB: seven replicas at their peak beside the orchestrator (t3.micro's 1 GiB holds two).
  instanceType: 't3.small',
  hosts: { users: { min: 1, max: 1 }, acts: { min: 1, max: 1 } },
  database: 'rds',
  dataRemoval: 'snapshot',
  databaseInstanceType: 't4g.micro',
  multiAz: false,
};

const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const IMAGE_REF = /^[a-z0-9][a-z0-9._/:@-]*$/;
const CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]+$/;
const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** Enough hosts for any course load; a typo like 1-40 fails instead of deploying 40 hosts. */
export const MAX_HOSTS_PER_SERVICE = 10;

export class SettingsError extends Error {
  constructor(key: string, problem: string) {
    super(`context "${key}" ${problem}`);
    this.name = 'SettingsError';
  }
}

/** `a.b.c.d/n` with each part in range; host bits must be zero, as AWS requires. */
export function parseCidr(key: string, raw: string): string {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(raw);
  const bad = () =>
    new SettingsError(key, `must be an IPv4 CIDR such as 203.0.113.7/32, got ${JSON.stringify(raw)}`);
  if (!match) throw bad();
  const octets = match.slice(1, 5).map(Number);
  const prefix = Number(match[5]);
  if (octets.some((o) => o > 255) || prefix > 32) throw bad();
  if (prefix === 0) throw new SettingsError(key, 'must not open the hosts to the whole internet (/0)');
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const hostBits = 2 ** (32 - prefix);
  if (address % hostBits !== 0) {
    throw new SettingsError(
      key,
      `has host bits set: ${raw} (did you mean ${octetsOf(address - (address % hostBits))}/${prefix}?)`,
    );
  }
  return raw;
}

function octetsOf(address: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join('.');
}

/** `N` or `MIN-MAX`, 1 ≤ MIN ≤ MAX ≤ MAX_HOSTS_PER_SERVICE. */
export function parseHostRange(key: string, raw: string): HostRange {
  const match = /^(\d+)(?:-(\d+))?$/.exec(raw.trim());
  if (!match)
    throw new SettingsError(
      key,
      `must be a host count or range such as 2 or 1-4, got ${JSON.stringify(raw)}`,
    );
  const min = Number(match[1]);
  const max = match[2] === undefined ? min : Number(match[2]);
  if (min < 1) throw new SettingsError(key, `needs at least one host, got ${JSON.stringify(raw)}`);
  if (max < min) throw new SettingsError(key, `has its maximum below its minimum: ${JSON.stringify(raw)}`);
  if (max > MAX_HOSTS_PER_SERVICE) {
    throw new SettingsError(key, `allows at most ${MAX_HOSTS_PER_SERVICE} hosts, got ${JSON.stringify(raw)}`);
  }
  return { min, max };
}

/** Reads settings from a context getter (e.g. `(key) => app.node.tryGetContext(key)`). */
export function readSettings(context: (key: string) => unknown): DeploymentSettings {
  const text = (key: string): string | undefined => {
    const raw = context(key);
    if (raw === undefined || raw === null || raw === '') return undefined;
    if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
    if (typeof raw !== 'string') throw new SettingsError(key, `must be a string, got ${JSON.stringify(raw)}`);
    return raw;
  };
  const matching = (key: string, pattern: RegExp, what: string): string | undefined => {
    const raw = text(key);
    if (raw !== undefined && !pattern.test(raw)) {
      throw new SettingsError(key, `must be ${what}, got ${JSON.stringify(raw)}`);
    }
    return raw;
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const raw = text(key);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      throw new SettingsError(key, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
    }
    return raw as T;
  };

  const hosts = Object.fromEntries(
    SERVICE_NAMES.map((service) => {
      const key = `${service}Hosts`;
      const raw = text(key);
      return [service, raw === undefined ? DEFAULT_SETTINGS.hosts[service] : parseHostRange(key, raw)];
    }),
  ) as Record<ServiceName, HostRange>;
  const database = oneOf('database', ['rds', 'container'] as const, DEFAULT_SETTINGS.database);
  if (database === 'container') {
    for (const service of SERVICE_NAMES) {
      if (hosts[service].max > 1) {
        throw new SettingsError(
          `${service}Hosts`,
          'must stay 1 with database=container: each host would have a database of its own',
        );
      }
    }
  }
  const directAccess = text('directAccessCidr');
  const certificateArn = matching('certificateArn', CERTIFICATE_ARN, 'an ACM certificate ARN');
  const domainName = matching('domainName', DOMAIN_NAME, 'a DNS name such as acts.example.com');
  // The acts hosts call the users API at https://domainName: the certificate must match a name.
  if ((domainName === undefined) !== (certificateArn === undefined)) {
    throw new SettingsError(
      domainName === undefined ? 'certificateArn' : 'domainName',
      'needs the other of certificateArn and domainName too (HTTPS is served for that name)',
    );
  }
  const optional = <K extends keyof DeploymentSettings>(key: K, value: DeploymentSettings[K] | undefined) =>
    value === undefined ? {} : { [key]: value };

  return {
    stackName:
      matching('stackName', STACK_NAME, `a stack name matching ${STACK_NAME}`) ?? DEFAULT_SETTINGS.stackName,
    instanceType:
      matching('instanceType', INSTANCE_TYPE, 'an EC2 instance type such as t3.small') ??
      DEFAULT_SETTINGS.instanceType,
    ...optional(
      'directAccessCidr',
      directAccess === undefined ? undefined : parseCidr('directAccessCidr', directAccess),
    ),
    hosts,
    database,
    dataRemoval: oneOf('dataRemoval', ['snapshot', 'destroy'] as const, DEFAULT_SETTINGS.dataRemoval),
    databaseInstanceType:
      matching(
        'databaseInstanceType',
        INSTANCE_TYPE,
        'an RDS instance class without "db.", such as t4g.small',
      ) ?? DEFAULT_SETTINGS.databaseInstanceType,
    multiAz: oneOf('multiAz', ['true', 'false'] as const, 'false') === 'true',
    ...optional('certificateArn', certificateArn),
    ...optional('domainName', domainName),
    ...optional('alarmEmail', matching('alarmEmail', EMAIL, 'an email address')),
    ...optional('baseImage', matching('baseImage', IMAGE_REF, 'an image reference')),
    ...optional('buildBaseImage', matching('buildBaseImage', IMAGE_REF, 'an image reference')),
    ...optional('npmCaBundle', matching('npmCaBundle', /^\/\S+$/, 'an absolute file path')),
  };
}
