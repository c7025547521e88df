/**
 * `npm run hosts` against mocked AWS clients answering with the shapes the real APIs return
 * (DescribeStackResources, DescribeInstances, DescribeTargetHealth), including their errors.
 */
import { CloudFormationClient, DescribeStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { formatHosts, InventoryError, listHosts } from '../../scripts/host-inventory';
import { parseArgs } from '../../scripts/hosts';

const REGION = 'eu-west-1';
const USERS_TG =
  'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/Selfie-Users-1A2B3C4D5E6F/0123456789abcdef';
const ACTS_TG =
  'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/Selfie-ActsT-6F5E4D3C2B1A/fedcba9876543210';

const cfn = mockClient(CloudFormationClient);
const ec2 = mockClient(EC2Client);
const elb = mockClient(ElasticLoadBalancingV2Client);
const clients = () => ({
  cloudFormation: new CloudFormationClient({ region: REGION }),
  ec2: new EC2Client({ region: REGION }),
  elb: new ElasticLoadBalancingV2Client({ region: REGION }),
});

function instance(
  id: string,
  service: string,
  zone: string,
  privateIp: string,
  publicIp: string | undefined,
  launched: string,
) {
  return {
    InstanceId: id,
    InstanceType: 't3.small' as const,
    State: { Code: 16, Name: 'running' as const },
    Placement: { AvailabilityZone: zone, Tenancy: 'default' as const },
    PrivateIpAddress: privateIp,
    ...(publicIp ? { PublicIpAddress: publicIp } : {}),
    LaunchTime: new Date(launched),
    Tags: [
      { Key: 'aws:cloudformation:stack-name', Value: 'SelfieLessActs' },
      { Key: 'aws:autoscaling:groupName', Value: `SelfieLessActs-${service}HostsGroup-XYZ` },
      { Key: 'service', Value: service },
      { Key: 'project', Value: 'SelfieLessActs' },
    ],
  };
}

beforeEach(() => {
  cfn.reset();
  ec2.reset();
  elb.reset();
  cfn.on(DescribeStackResourcesCommand).resolves({
    StackResources: [
      {
        LogicalResourceId: 'UsersTargets1A2B3C4D',
        PhysicalResourceId: USERS_TG,
        ResourceType: 'AWS::ElasticLoadBalancingV2::TargetGroup',
        ResourceStatus: 'CREATE_COMPLETE',
        Timestamp: new Date(),
        StackName: 'SelfieLessActs',
      },
      {
        LogicalResourceId: 'ActsTargets6F5E4D3C',
        PhysicalResourceId: ACTS_TG,
        ResourceType: 'AWS::ElasticLoadBalancingV2::TargetGroup',
        ResourceStatus: 'CREATE_COMPLETE',
        Timestamp: new Date(),
        StackName: 'SelfieLessActs',
      },
      {
        LogicalResourceId: 'ActsHostsGroupASG1234',
        PhysicalResourceId: 'SelfieLessActs-ActsHostsGroupASG-XYZ',
        ResourceType: 'AWS::AutoScaling::AutoScalingGroup',
        ResourceStatus: 'CREATE_COMPLETE',
        Timestamp: new Date(),
        StackName: 'SelfieLessActs',
      },
    ],
  });
  ec2
    .on(DescribeInstancesCommand)
    .resolvesOnce({
      Reservations: [
        {
          ReservationId: 'r-1',
          Instances: [
            instance(
              'i-0aaa1111bbbb2222c',
              'acts',
              'eu-west-1a',
              '10.0.0.12',
              '203.0.113.10',
              '2026-11-30T09:00:00.000Z',
            ),
          ],
        },
      ],
      NextToken: 'page-2',
    })
    .resolvesOnce({
      Reservations: [
        {
          ReservationId: 'r-2',
          Instances: [
            instance(
              'i-0ddd3333eeee4444f',
              'users',
              'eu-west-1b',
              '10.0.1.7',
              '203.0.113.11',
              '2026-11-30T09:01:00.000Z',
            ),
          ],
        },
        {
          ReservationId: 'r-3',
          Instances: [
            instance(
              'i-0fff5555aaaa6666b',
              'acts',
              'eu-west-1b',
              '10.0.1.9',
              undefined,
              '2026-11-30T10:00:00.000Z',
            ),
          ],
        },
      ],
    });
  elb
    .on(DescribeTargetHealthCommand, { TargetGroupArn: USERS_TG })
    .resolves({
      TargetHealthDescriptions: [
        {
          Target: { Id: 'i-0ddd3333eeee4444f', Port: 80 },
          HealthCheckPort: '80',
          TargetHealth: { State: 'healthy' },
        },
      ],
    })
    .on(DescribeTargetHealthCommand, { TargetGroupArn: ACTS_TG })
    .resolves({
      TargetHealthDescriptions: [
        {
          Target: { Id: 'i-0aaa1111bbbb2222c', Port: 80 },
          HealthCheckPort: '80',
          TargetHealth: { State: 'healthy' },
        },
        {
          Target: { Id: 'i-0fff5555aaaa6666b', Port: 80 },
          HealthCheckPort: '80',
          TargetHealth: { State: 'initial', Reason: 'Elb.RegistrationInProgress' },
        },
      ],
    });
});

describe('npm run hosts', () => {
  test('lists every host of the stack with its service, addresses, launch time and target health, across pages', async () => {
    const rows = await listHosts(clients(), 'SelfieLessActs', REGION);
    expect(
      rows.map((r) => [r.service, r.instanceId, r.zone, r.privateIp, r.publicIp, r.launched, r.health]),
    ).toEqual([
      [
        'acts',
        'i-0aaa1111bbbb2222c',
        'eu-west-1a',
        '10.0.0.12',
        '203.0.113.10',
        '2026-11-30T09:00:00Z',
        'healthy',
      ],
      ['acts', 'i-0fff5555aaaa6666b', 'eu-west-1b', '10.0.1.9', '-', '2026-11-30T10:00:00Z', 'initial'],
      [
        'users',
        'i-0ddd3333eeee4444f',
        'eu-west-1b',
        '10.0.1.7',
        '203.0.113.11',
        '2026-11-30T09:01:00Z',
        'healthy',
      ],
    ]);
    expect(rows[0]!.sessionCommand).toBe(
      'aws ssm start-session --region eu-west-1 --target i-0aaa1111bbbb2222c',
    );
    // Found by the stack's tag, only hosts that exist.
    const filters = ec2.commandCalls(DescribeInstancesCommand)[0]!.args[0].input.Filters!;
    expect(filters).toContainEqual({ Name: 'tag:aws:cloudformation:stack-name', Values: ['SelfieLessActs'] });
    expect(ec2.commandCalls(DescribeInstancesCommand)[1]!.args[0].input.NextToken).toBe('page-2');
  });

  test('prints a table and the session command of each host', async () => {
    const text = formatHosts(await listHosts(clients(), 'SelfieLessActs', REGION), 'SelfieLessActs', REGION);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(
      /^SERVICE\s+INSTANCE\s+STATE\s+ZONE\s+PRIVATE IP\s+PUBLIC IP\s+LAUNCHED\s+HEALTH$/,
    );
    expect(lines[1]).toMatch(
      /^acts\s+i-0aaa1111bbbb2222c\s+running\s+eu-west-1a\s+10\.0\.0\.12\s+203\.0\.113\.10\s+2026-11-30T09:00:00Z\s+healthy$/,
    );
    expect(text).toContain('  users  aws ssm start-session --region eu-west-1 --target i-0ddd3333eeee4444f');
  });

  test('a host not (yet) in its target group says so', async () => {
    elb
      .on(DescribeTargetHealthCommand, { TargetGroupArn: ACTS_TG })
      .resolves({ TargetHealthDescriptions: [] });
    const rows = await listHosts(clients(), 'SelfieLessActs', REGION);
    expect(rows.filter((r) => r.service === 'acts').map((r) => r.health)).toEqual([
      'not registered',
      'not registered',
    ]);
  });

  test('a stack without hosts is said plainly', () => {
    expect(formatHosts([], 'SelfieLessActs', REGION)).toBe(
      'stack SelfieLessActs in eu-west-1 has no running hosts\n',
    );
  });

  test.each([
    [
      'a missing stack',
      Object.assign(new Error('Stack with id Nope does not exist'), { name: 'ValidationError' }),
      /^stack SelfieLessActs not found in eu-west-1: check --stack and --region/,
    ],
    [
      'no credentials',
      Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      }),
      /^no AWS credentials: set AWS_PROFILE/,
    ],
    [
      'expired credentials',
      Object.assign(new Error('The security token included in the request is expired'), {
        name: 'ExpiredTokenException',
      }),
      /^AWS rejected the credentials \(ExpiredTokenException\)/,
    ],
    [
      'an unknown region',
      Object.assign(new Error('getaddrinfo ENOTFOUND cloudformation.xx-nowhere-1.amazonaws.com'), {
        code: 'ENOTFOUND',
      }),
      /^region eu-west-1 has no reachable endpoint/,
    ],
  ])('%s is one clear line', async (_case, error, message) => {
    cfn.on(DescribeStackResourcesCommand).rejects(error);
    const failure = listHosts(clients(), 'SelfieLessActs', REGION);
    await expect(failure).rejects.toBeInstanceOf(InventoryError);
    await expect(failure).rejects.toThrow(message);
  });

  test('arguments: the stack defaults to SelfieLessActs, the region comes from --region or AWS_REGION', () => {
    expect(parseArgs([], { AWS_REGION: 'us-east-1' })).toEqual({
      stack: 'SelfieLessActs',
      region: 'us-east-1',
    });
    expect(parseArgs(['--stack', 'Dev', '--region', 'eu-west-1'], {})).toEqual({
      stack: 'Dev',
      region: 'eu-west-1',
    });
    expect(() => parseArgs([], {})).toThrow(/^no region: pass --region/);
    expect(() => parseArgs(['--region', 'Europe'], {})).toThrow(/not a region name/);
    expect(() => parseArgs(['--stack'], { AWS_REGION: 'us-east-1' })).toThrow(/--stack needs a value/);
    expect(() => parseArgs(['--verbose'], { AWS_REGION: 'us-east-1' })).toThrow(/unknown option --verbose/);
  });
});
