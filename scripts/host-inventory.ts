/**
 * The running hosts of a deployed stack, found the way AWS labels them: the stack's target
 * groups from CloudFormation, its instances by the `aws:cloudformation:stack-name` tag the
 * Auto Scaling groups put on them, and each instance's health in its target group.
 * Takes the three clients, so tests hand in mocked ones; `formatHosts` is pure.
 */
import { CloudFormationClient, DescribeStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { DescribeInstancesCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2';
import {
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';

export interface HostRow {
  service: string;
  instanceId: string;
  state: string;
  zone: string;
  privateIp: string;
  publicIp: string;
  launched: string;
  /** `healthy`, `unhealthy`, `initial`, `draining`, ... or `not registered`. */
  health: string;
  sessionCommand: string;
}

export interface InventoryClients {
  cloudFormation: CloudFormationClient;
  ec2: EC2Client;
  elb: ElasticLoadBalancingV2Client;
}

/** A failure the operator can act on, said in one line. */
export class InventoryError extends Error {}

const TARGET_GROUP = 'AWS::ElasticLoadBalancingV2::TargetGroup';

/** Turns the SDK's failures into one clear line each; anything else is rethrown. */
export function explain(error: unknown, stack: string, region: string): Error {
  const e = error as { name?: string; message?: string; code?: string };
  const message = e.message ?? String(error);
  if (
    e.name === 'CredentialsProviderError' ||
    (/credential/i.test(message) && /could not load|missing/i.test(message))
  )
    return new InventoryError(
      'no AWS credentials: set AWS_PROFILE (e.g. after `aws configure sso`) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY',
    );
  if (e.name === 'ValidationError' && /does not exist/.test(message))
    return new InventoryError(
      `stack ${stack} not found in ${region}: check --stack and --region (or AWS_REGION)`,
    );
  if (
    ['UnrecognizedClientException', 'InvalidClientTokenId', 'ExpiredToken', 'ExpiredTokenException'].includes(
      e.name ?? '',
    )
  )
    return new InventoryError(
      `AWS rejected the credentials (${e.name}): refresh them, e.g. \`aws sso login\``,
    );
  if (e.name === 'AccessDenied' || e.name === 'AccessDeniedException' || e.name === 'UnauthorizedOperation')
    return new InventoryError(`not allowed: ${message}`);
  if (e.code === 'ENOTFOUND' || e.name === 'UnknownEndpoint' || /getaddrinfo ENOTFOUND/.test(message))
    return new InventoryError(
      `region ${region} has no reachable endpoint: is it a real region name (e.g. us-east-1)?`,
    );
  return error instanceof Error ? error : new Error(message);
}

function tag(instance: Instance, key: string): string | undefined {
  return instance.Tags?.find((t) => t.Key === key)?.Value;
}

export async function listHosts(
  clients: InventoryClients,
  stack: string,
  region: string,
): Promise<HostRow[]> {
  try {
    const resources = await clients.cloudFormation.send(
      new DescribeStackResourcesCommand({ StackName: stack }),
    );
    const targetGroups = (resources.StackResources ?? [])
      .filter((r) => r.ResourceType === TARGET_GROUP && r.PhysicalResourceId)
      .map((r) => r.PhysicalResourceId!);

    const instances: Instance[] = [];
    let nextToken: string | undefined;
    do {
      const page = await clients.ec2.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: 'tag:aws:cloudformation:stack-name', Values: [stack] },
            {
              Name: 'instance-state-name',
              Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'],
            },
          ],
          ...(nextToken ? { NextToken: nextToken } : {}),
        }),
      );
      for (const reservation of page.Reservations ?? []) instances.push(...(reservation.Instances ?? []));
      nextToken = page.NextToken;
    } while (nextToken);

    const health = new Map<string, string>();
    for (const arn of targetGroups) {
      const described = await clients.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
      for (const target of described.TargetHealthDescriptions ?? []) {
        const id = target.Target?.Id;
        if (id) health.set(id, target.TargetHealth?.State ?? 'unknown');
      }
    }

    return instances
      .map((instance) => {
        const id = instance.InstanceId ?? '?';
        return {
          service: tag(instance, 'service') ?? '?',
          instanceId: id,
          state: instance.State?.Name ?? '?',
          zone: instance.Placement?.AvailabilityZone ?? '?',
          privateIp: instance.PrivateIpAddress ?? '-',
          publicIp: instance.PublicIpAddress ?? '-',
          launched: instance.LaunchTime ? instance.LaunchTime.toISOString().replace(/\.\d{3}Z$/, 'Z') : '?',
          health: health.get(id) ?? 'not registered',
          sessionCommand: `aws ssm start-session --region ${region} --target ${id}`,
        };
      })
      .sort((a, b) => a.service.localeCompare(b.service) || a.launched.localeCompare(b.launched));
  } catch (error) {
    throw explain(error, stack, region);
  }
}

const COLUMNS: [keyof HostRow, string][] = [
  ['service', 'SERVICE'],
  ['instanceId', 'INSTANCE'],
  ['state', 'STATE'],
  ['zone', 'ZONE'],
  ['privateIp', 'PRIVATE IP'],
  ['publicIp', 'PUBLIC IP'],
  ['launched', 'LAUNCHED'],
  ['health', 'HEALTH'],
];

/** A table of the hosts, then the session command of each. */
export function formatHosts(rows: HostRow[], stack: string, region: string): string {
  if (rows.length === 0) return `stack ${stack} in ${region} has no running hosts\n`;
  const widths = COLUMNS.map(([key, title]) => Math.max(title.length, ...rows.map((r) => r[key].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [
    line(COLUMNS.map(([, title]) => title)),
    ...rows.map((r) => line(COLUMNS.map(([key]) => r[key]))),
    '',
    'Shells (Session Manager):',
    ...rows.map((r) => `  ${r.service.padEnd(6)} ${r.sessionCommand}`),
    '',
  ].join('\n');
}
