/**
 * What the rehearsal needs to know of a synthesized template: the hosts it would launch (EC2
 * instances, or Auto Scaling groups with their launch templates), whom each host serves, how
 * CloudFormation would wait for it, and the databases and secrets the hosts reach. Pure.
 */
import type { Json, ResolveContext, Template } from './intrinsics';
import { resolve } from './intrinsics';

export interface HostGroup {
  /** The instance's or Auto Scaling group's logical id. */
  logicalId: string;
  kind: 'instance' | 'auto-scaling-group';
  /** Short name, from the target group it serves (`users`, `acts`). */
  service: string;
  /** How many hosts CloudFormation starts: 1 for an instance, the desired (or minimum) size for a group. */
  count: number;
  maxCount: number;
  /** Base64 user data as the template gives it (intrinsics unresolved). */
  userData: Json;
  targetGroups: string[];
  /** CreationPolicy signals CloudFormation waits for, if any. */
  creationPolicy?: { count: number; timeoutSeconds: number };
}

type Resource = Template['Resources'][string];

function props(resource: Resource): Record<string, Json> {
  return resource.Properties ?? {};
}

function refTarget(value: Json | undefined): string | undefined {
  if (value && typeof value === 'object' && !Array.isArray(value) && typeof value.Ref === 'string')
    return value.Ref;
  return undefined;
}

/** `PT15M` → 900. */
export function isoDurationSeconds(text: string): number {
  const match = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$/.exec(text);
  if (!match) throw new Error(`unsupported duration ${text}`);
  return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
}

/** `UsersTargetsD9D052DD` → `users`. */
export function serviceOfTargetGroup(logicalId: string): string {
  return logicalId
    .replace(/[0-9A-F]{8}$/, '')
    .replace(/(TargetGroup|Targets)$/, '')
    .toLowerCase();
}

function creationPolicy(resource: Resource): HostGroup['creationPolicy'] {
  const policy = resource.CreationPolicy as
    { ResourceSignal?: { Count?: Json; Timeout?: string } } | undefined;
  if (!policy?.ResourceSignal) return undefined;
  return {
    count: Number(policy.ResourceSignal.Count ?? 1),
    timeoutSeconds: isoDurationSeconds(policy.ResourceSignal.Timeout ?? 'PT5M'),
  };
}

export function findHostGroups(template: Template): HostGroup[] {
  const resources = template.Resources;
  const targetGroupsOf = new Map<string, string[]>();
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::ElasticLoadBalancingV2::TargetGroup') continue;
    for (const target of (props(resource).Targets as Json[] | undefined) ?? []) {
      const instance = refTarget((target as Record<string, Json>).Id);
      if (instance) targetGroupsOf.set(instance, [...(targetGroupsOf.get(instance) ?? []), id]);
    }
  }
  const groups: HostGroup[] = [];
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type === 'AWS::EC2::Instance') {
      const targetGroups = targetGroupsOf.get(id) ?? [];
      groups.push({
        logicalId: id,
        kind: 'instance',
        service: serviceOf(id, targetGroups),
        count: 1,
        maxCount: 1,
        userData: props(resource).UserData ?? null,
        targetGroups,
        creationPolicy: creationPolicy(resource),
      });
    } else if (resource.Type === 'AWS::AutoScaling::AutoScalingGroup') {
      const p = props(resource);
      const launchTemplate = p.LaunchTemplate as Record<string, Json> | undefined;
      const templateId = refTarget(launchTemplate?.LaunchTemplateId);
      if (!templateId)
        throw new Error(`${id}: only groups with a launch template of this stack are rehearsed`);
      const data = props(resources[templateId]).LaunchTemplateData as Record<string, Json> | undefined;
      const targetGroups = ((p.TargetGroupARNs as Json[] | undefined) ?? [])
        .map((arn) => refTarget(arn))
        .filter((tg): tg is string => Boolean(tg));
      groups.push({
        logicalId: id,
        kind: 'auto-scaling-group',
        service: serviceOf(id, targetGroups),
        count: Number(p.DesiredCapacity ?? p.MinSize ?? 1),
        maxCount: Number(p.MaxSize ?? 1),
        userData: data?.UserData ?? null,
        targetGroups,
        creationPolicy: creationPolicy(resource),
      });
    }
  }
  return groups.sort((a, b) => a.service.localeCompare(b.service));
}

function serviceOf(logicalId: string, targetGroups: string[]): string {
  if (targetGroups.length > 0) return serviceOfTargetGroup(targetGroups[0]);
  return logicalId.toLowerCase();
}

/** The user data a host of the group receives, as text, with intrinsics resolved. */
export function renderUserData(group: HostGroup, ctx: ResolveContext): string {
  const encoded = resolve(group.userData, ctx);
  if (typeof encoded !== 'string') throw new Error(`${group.logicalId} has no user data`);
  return Buffer.from(encoded, 'base64').toString('utf8');
}

export interface DatabaseResource {
  logicalId: string;
  type: string;
  /** The generated secret holding its master credentials, if any. */
  secretId?: string;
  /** Username from the secret's template, e.g. `admin`. */
  username: string;
  databaseName?: string;
  /** The parameter group's settings, e.g. `max_allowed_packet`. */
  parameters: Record<string, string>;
}

/** RDS instances and clusters, with the Secrets Manager secret that holds their credentials. */
export function findDatabases(template: Template): DatabaseResource[] {
  const out: DatabaseResource[] = [];
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::RDS::DBInstance' && resource.Type !== 'AWS::RDS::DBCluster') continue;
    if (resource.Type === 'AWS::RDS::DBInstance' && props(resource).DBClusterIdentifier) continue;
    const secretId =
      secretReferencedBy(props(resource).MasterUsername) ??
      secretReferencedBy(props(resource).MasterUserPassword);
    const secret = secretId ? template.Resources[secretId] : undefined;
    const generate = secret
      ? (props(secret).GenerateSecretString as Record<string, Json> | undefined)
      : undefined;
    const secretTemplate =
      typeof generate?.SecretStringTemplate === 'string' ? JSON.parse(generate.SecretStringTemplate) : {};
    const groupId = refTarget(
      props(resource).DBParameterGroupName ?? props(resource).DBClusterParameterGroupName,
    );
    const parameters = (groupId ? props(template.Resources[groupId]).Parameters : undefined) as
      Record<string, Json> | undefined;
    const username = props(resource).MasterUsername;
    out.push({
      logicalId: id,
      type: resource.Type,
      secretId,
      username: typeof username === 'string' ? username : String(secretTemplate.username ?? 'admin'),
      parameters: Object.fromEntries(Object.entries(parameters ?? {}).map(([k, v]) => [k, String(v)])),
      ...(typeof props(resource).DBName === 'string'
        ? { databaseName: props(resource).DBName as string }
        : {}),
    });
  }
  return out;
}

/** The secret a `{{resolve:secretsmanager:...}}` dynamic reference names, by logical id. */
function secretReferencedBy(value: Json | undefined): string | undefined {
  const text = JSON.stringify(value ?? null);
  const match = /"Ref":"([A-Za-z0-9]+)"\},":SecretString:/.exec(text);
  return match?.[1];
}

/** Secret attachments point a database's secret at it; the rehearsal serves the same value under both ids. */
export function secretAttachments(template: Template): Map<string, string> {
  const out = new Map<string, string>();
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::SecretsManager::SecretTargetAttachment') continue;
    const secret = refTarget(props(resource).SecretId);
    if (secret) out.set(id, secret);
  }
  return out;
}
