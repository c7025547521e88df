import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { populateApp } from '../../lib/app';
import { replicaBudget } from '../../lib/host-capacity';
import {
  DEREGISTRATION_DELAY,
  HEALTH_CHECK_PATH,
  HOST_IMAGE_PARAMETER,
  requestsPerHostTarget,
  USERS_PATH_PATTERN,
  USERS_RULE_PRIORITY,
  type SelfieLessActsStack,
} from '../../lib/selfieless-stack';
import { DEFAULT_SETTINGS, readSettings } from '../../lib/settings';

const REPO_ROOT = path.resolve(__dirname, '../..');

// Template JSON is walked freely here; the assertions are the type check.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Props = Record<string, any>;
type Resource = {
  Type: string;
  Properties?: Props;
  DeletionPolicy?: string;
  CreationPolicy?: Props;
  UpdatePolicy?: Props;
};
type Resources = Record<string, Resource>;

/**
 * The stack as the CLI would build it, minus the orchestrator bundling and the copying of the
 * Docker build contexts (both belong to the offline synth suite).
 */
function build(context: Record<string, unknown> = {}): {
  app: App;
  stack: SelfieLessActsStack;
  template: Template;
  json: Props;
  resources: Resources;
} {
  const app = new App({
    context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:disable-asset-staging': true, ...context },
  });
  const stack = populateApp(
    app,
    readSettings((key) => app.node.tryGetContext(key)),
    REPO_ROOT,
  );
  const template = Template.fromStack(stack);
  const json = template.toJSON() as Props;
  return { app, stack, template, json, resources: json.Resources as Resources };
}

function ofType(resources: Resources, type: string): [string, Props][] {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, r.Properties ?? {}]);
}

/** Flattens Fn::Join / Fn::Base64 into text, tokens rendered as JSON, for substring checks. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(text).join('');
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if ('Fn::Base64' in obj) return text(obj['Fn::Base64']);
    if ('Fn::Sub' in obj && typeof obj['Fn::Sub'] === 'string') return obj['Fn::Sub'];
    if ('Fn::Join' in obj)
      return (obj['Fn::Join'] as [string, unknown[]])[1].map(text).join((obj['Fn::Join'] as [string])[0]);
    return JSON.stringify(obj);
  }
  return String(value);
}

const groupOf = (resources: Resources, service: 'Users' | 'Acts') =>
  Object.entries(resources).find(
    ([id, r]) => r.Type === 'AWS::AutoScaling::AutoScalingGroup' && id.startsWith(`${service}HostsGroup`),
  )!;
const launchTemplateOf = (resources: Resources, service: 'Users' | 'Acts') =>
  ofType(resources, 'AWS::EC2::LaunchTemplate').find(([id]) =>
    id.startsWith(`${service}HostsLaunchTemplate`),
  )![1];
const securityGroupOf = (resources: Resources, service: 'Users' | 'Acts') =>
  ofType(resources, 'AWS::EC2::SecurityGroup').find(([id]) =>
    id.startsWith(`${service}HostsSecurityGroup`),
  )![0];
const ingressTo = (resources: Resources, group: string) =>
  ofType(resources, 'AWS::EC2::SecurityGroupIngress')
    .map(([, p]) => p)
    .filter((p) => p.GroupId?.['Fn::GetAtt']?.[0] === group);

describe('the SelfieLessActs stack', () => {
  const { stack, template, json, resources } = build();

  test('is environment-agnostic, so synth needs no credentials and no lookups', () => {
    expect(Token.isUnresolved(stack.account)).toBe(true);
    expect(Token.isUnresolved(stack.region)).toBe(true);
  });

  test('has public subnets for the hosts, isolated ones for the database, in two zones, and no NAT gateway', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::Subnet', 4);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::EIP', 0);
    const subnets = ofType(resources, 'AWS::EC2::Subnet').map(([, p]) => p);
    expect(subnets.filter((p) => p.MapPublicIpOnLaunch === true)).toHaveLength(2);
    expect(new Set(subnets.map((p) => JSON.stringify(p.AvailabilityZone))).size).toBe(2);
  });

  test('has one internet-facing load balancer, one listener on 80, and one host group and target group per service', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internet-facing',
      Type: 'application',
    });
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::TargetGroup', 2);
    template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 2);
    template.resourceCountIs('AWS::EC2::Instance', 0);
  });

  test('routes /api/v1/users* to the users group with a fixed priority, everything else to the acts group', () => {
    const rules = ofType(resources, 'AWS::ElasticLoadBalancingV2::ListenerRule');
    expect(rules).toHaveLength(1);
    const [, rule] = rules[0]!;
    expect(rule.Priority).toBe(USERS_RULE_PRIORITY);
    expect(rule.Conditions).toEqual([
      { Field: 'path-pattern', PathPatternConfig: { Values: [USERS_PATH_PATTERN] } },
    ]);
    const targetGroupOf = (service: 'Users' | 'Acts') => {
      const refs = groupOf(resources, service)[1].Properties!.TargetGroupARNs as { Ref: string }[];
      expect(refs).toHaveLength(1);
      return refs[0]!.Ref;
    };
    expect(rule.Actions).toEqual([{ Type: 'forward', TargetGroupArn: { Ref: targetGroupOf('Users') } }]);
    const [, listener] = ofType(resources, 'AWS::ElasticLoadBalancingV2::Listener')[0]!;
    expect(listener.DefaultActions).toEqual([
      { Type: 'forward', TargetGroupArn: { Ref: targetGroupOf('Acts') } },
    ]);
  });

  test('health-checks the orchestrator on / and lets a leaving host drain', () => {
    for (const [, tg] of ofType(resources, 'AWS::ElasticLoadBalancingV2::TargetGroup')) {
      expect(tg).toMatchObject({
        Port: 80,
        Protocol: 'HTTP',
        TargetType: 'instance',
        HealthCheckPath: HEALTH_CHECK_PATH,
        Matcher: { HttpCode: '200' },
      });
      expect(tg.TargetGroupAttributes).toContainEqual({
        Key: 'deregistration_delay.timeout_seconds',
        Value: String(DEREGISTRATION_DELAY.toSeconds()),
      });
    }
  });

  test('pins the AMI in a stack parameter: no SSM look-up that a new Amazon Linux release would change', () => {
    const parameter = json.Parameters[HOST_IMAGE_PARAMETER];
    expect(parameter).toMatchObject({ Type: 'AWS::EC2::Image::Id' });
    expect(parameter.Default).toBeUndefined();
    // Nothing else in the template resolves an image at deploy time.
    const others = Object.entries(json.Parameters as Record<string, Props>).filter(
      ([name]) => name !== HOST_IMAGE_PARAMETER && name !== 'BootstrapVersion',
    );
    expect(others).toEqual([]);
    expect(JSON.stringify(json)).not.toMatch(/ami-amazon-linux-latest|resolve:ssm/);
    for (const service of ['Users', 'Acts'] as const)
      expect(launchTemplateOf(resources, service).LaunchTemplateData.ImageId).toEqual({
        Ref: HOST_IMAGE_PARAMETER,
      });
  });

  test('gates creation and every replacement of a host on its own health signal, one host at a time', () => {
    for (const service of ['Users', 'Acts'] as const) {
      const [id, group] = groupOf(resources, service);
      expect(group.Properties).toMatchObject({ MinSize: '1', MaxSize: '2' });
      expect(group.Properties!.DesiredCapacity).toBeUndefined();
      expect(group.CreationPolicy).toEqual({ ResourceSignal: { Count: 1, Timeout: 'PT20M' } });
      expect(group.UpdatePolicy!.AutoScalingRollingUpdate).toMatchObject({
        MaxBatchSize: 1,
        MinInstancesInService: 1,
        WaitOnResourceSignals: true,
        PauseTime: 'PT20M',
      });
      expect(group.Properties!.HealthCheckType).toBe('ELB');
      // The boot script signals exactly this group.
      const userData = text(launchTemplateOf(resources, service).LaunchTemplateData.UserData);
      expect(userData).toContain(`SIGNAL_RESOURCE='${id}'`);
      expect(userData).toContain(`STACK='SelfieLessActs'`);
    }
  });

  test('boots hosts with IMDSv2 only, one metadata hop, a public address and an encrypted volume', () => {
    for (const service of ['Users', 'Acts'] as const) {
      const data = launchTemplateOf(resources, service).LaunchTemplateData;
      expect(data.InstanceType).toBe('t3.small');
      expect(data.MetadataOptions).toEqual({
        HttpEndpoint: 'enabled',
        HttpTokens: 'required',
        HttpPutResponseHopLimit: 1,
      });
      expect(data.NetworkInterfaces[0]).toMatchObject({ AssociatePublicIpAddress: true, DeviceIndex: 0 });
      expect(data.BlockDeviceMappings).toEqual([
        { DeviceName: '/dev/xvda', Ebs: expect.objectContaining({ Encrypted: true, VolumeType: 'gp3' }) },
      ]);
      expect(data.KeyName).toBeUndefined();
    }
  });

  test('hosts admit only port 80 from the load balancer; the database only 3306 from the hosts', () => {
    const lbGroup = (
      ofType(resources, 'AWS::ElasticLoadBalancingV2::LoadBalancer')[0]![1].SecurityGroups as Props[]
    )[0]!['Fn::GetAtt'][0];
    const hostGroups = (['Users', 'Acts'] as const).map((s) => securityGroupOf(resources, s));
    for (const group of hostGroups) {
      expect(resources[group]!.Properties!.SecurityGroupIngress).toBeUndefined();
      expect(ingressTo(resources, group)).toEqual([
        expect.objectContaining({
          IpProtocol: 'tcp',
          FromPort: 80,
          ToPort: 80,
          SourceSecurityGroupId: { 'Fn::GetAtt': [lbGroup, 'GroupId'] },
        }),
      ]);
    }
    const databaseGroup = ofType(resources, 'AWS::EC2::SecurityGroup').find(([id]) =>
      id.startsWith('DatabaseSecurityGroup'),
    )![0];
    expect(
      ingressTo(resources, databaseGroup)
        .map((p) => [p.FromPort, p.SourceSecurityGroupId['Fn::GetAtt'][0]])
        .sort(),
    ).toEqual(hostGroups.map((g) => [3306, g]).sort());
    const opensSsh = (rule: Props) => rule.FromPort <= 22 && rule.ToPort >= 22;
    expect(ofType(resources, 'AWS::EC2::SecurityGroupIngress').filter(([, p]) => opensSsh(p))).toEqual([]);
  });

  test('keeps the data on an encrypted MariaDB in isolated subnets, snapshotted when the stack goes', () => {
    const [id, db] = ofType(resources, 'AWS::RDS::DBInstance')[0]!;
    expect(db).toMatchObject({
      Engine: 'mariadb',
      DBInstanceClass: 'db.t4g.micro',
      StorageEncrypted: true,
      MultiAZ: false,
      PubliclyAccessible: false,
      DeletionProtection: false,
    });
    expect(resources[id]!.DeletionPolicy).toBe('Snapshot');
    const subnetGroup = ofType(resources, 'AWS::RDS::DBSubnetGroup')[0]![1];
    const isolated = ofType(resources, 'AWS::EC2::Subnet')
      .filter(([, p]) => p.MapPublicIpOnLaunch === false)
      .map(([sid]) => ({ Ref: sid }));
    expect(subnetGroup.SubnetIds).toEqual(isolated);
    template.hasResourceProperties('AWS::RDS::DBParameterGroup', {
      Parameters: { max_allowed_packet: String(64 * 1024 * 1024) },
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ GenerateStringKey: 'password' }),
    });
  });

  test('gives each host role least privilege: its image, one S3 object, the database secret, Session Manager', () => {
    const policies = ofType(resources, 'AWS::IAM::Policy');
    expect(policies).toHaveLength(2);
    for (const [, policy] of policies) {
      const statements = policy.PolicyDocument.Statement as Props[];
      const pull = statements.find((s) => Array.isArray(s.Action) && s.Action.includes('ecr:BatchGetImage'))!;
      expect(text(pull.Resource)).toContain('cdk-hnb659fds-container-assets-');
      expect(statements).toContainEqual({
        Effect: 'Allow',
        Action: 'ecr:GetAuthorizationToken',
        Resource: '*',
      });
      const read = statements.find((s) => s.Action === 's3:GetObject')!;
      expect(text(read.Resource)).toMatch(/cdk-hnb659fds-assets-.*\/[0-9a-f]{64}\.zip$/);
      const secret = statements.find((s) =>
        JSON.stringify(s.Action).includes('secretsmanager:GetSecretValue'),
      )!;
      expect(secret.Resource).toEqual({ Ref: expect.stringMatching(/^DatabaseSecretAttachment/) });
      // The health signal, scoped to this stack.
      expect(statements).toContainEqual({
        Effect: 'Allow',
        Action: 'cloudformation:SignalResource',
        Resource: { Ref: 'AWS::StackId' },
      });
      // Its own service's log group: new streams and their lines, nothing else.
      const writeLogs = statements.find((s) => JSON.stringify(s.Action).includes('logs:'))!;
      expect(writeLogs.Action).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      expect(writeLogs.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/HostsLogs/), 'Arn'] });
      expect(statements).toHaveLength(6);
    }
    // No logs:CreateLogGroup: a host cannot bring back a group `cdk destroy` deleted.
    expect(JSON.stringify(policies)).not.toContain('logs:CreateLogGroup');
    for (const [, role] of ofType(resources, 'AWS::IAM::Role'))
      expect(text(role.ManagedPolicyArns)).toContain('AmazonSSMManagedInstanceCore');
  });

  test('keeps the logs of each service 14 days in a log group of its own, deleted with the stack after its hosts', () => {
    const groups = ofType(resources, 'AWS::Logs::LogGroup');
    expect(groups.map(([, p]) => p.LogGroupName).sort()).toEqual([
      '/SelfieLessActs/acts',
      '/SelfieLessActs/users',
    ]);
    for (const [id, props] of groups) {
      expect(props.RetentionInDays).toBe(14);
      expect(resources[id]).toMatchObject({ DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    }
    for (const service of ['Users', 'Acts'] as const) {
      const [, group] = groupOf(resources, service);
      const [logsId] = groups.find(([id]) => id.startsWith(`${service}HostsLogs`))!;
      expect((group as Props).DependsOn).toContain(logsId);
      const policy = ofType(resources, 'AWS::IAM::Policy').find(([id]) =>
        id.startsWith(`${service}HostsRole`),
      )!;
      expect(JSON.stringify(policy[1])).toContain(logsId);
      const userData = text(launchTemplateOf(resources, service).LaunchTemplateData.UserData);
      expect(userData).toContain(`"log_group_name": "/SelfieLessActs/${service.toLowerCase()}"`);
    }
  });

  test('boots each host with its own image, the shared bundle, the database secret and a replica cap that fits', () => {
    const cap = replicaBudget('t3.small', 'rds').maxReplicas;
    for (const service of ['Users', 'Acts'] as const) {
      const userData = text(launchTemplateOf(resources, service).LaunchTemplateData.UserData);
      expect(userData).toContain(`SERVICE='${service.toLowerCase()}'`);
      expect(userData).toContain('cdk-hnb659fds-container-assets-');
      expect(userData).toMatch(/BUNDLE_URL='s3:\/\/.*cdk-hnb659fds-assets-.*\/[0-9a-f]{64}\.zip'/);
      expect(userData).toMatch(/DB_SECRET_ARN='\{"Ref":"DatabaseSecret/);
      expect(userData).toContain(`"maxReplicas": ${cap}`);
      expect(userData).not.toContain('docker run --detach --name mysql');
    }
    expect(text(launchTemplateOf(resources, 'Acts').LaunchTemplateData.UserData)).toMatch(
      /USERS_URL='http:\/\/.*LoadBalancer/,
    );
  });

  test('alarms on the 5xx rate, unhealthy hosts, database CPU and storage, and announces host launches', () => {
    const alarms = ofType(resources, 'AWS::CloudWatch::Alarm').map(([id]) => id.replace(/[0-9A-F]{8}$/, ''));
    expect(alarms.sort()).toEqual(
      [
        'ActsUnhealthyHosts',
        'DatabaseCpu',
        'DatabaseFreeStorage',
        'ServerErrorRate',
        'UsersUnhealthyHosts',
      ].sort(),
    );
    for (const service of ['Users', 'Acts'] as const)
      expect(groupOf(resources, service)[1].Properties!.NotificationConfigurations).toHaveLength(1);
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  test('outputs the URL and how to find the hosts', () => {
    const outputs = json.Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs).sort()).toEqual(['HostsCommand', 'Url']);
    expect(text(outputs.Url!.Value)).toMatch(/^http:\/\/.*LoadBalancer.*\/$/);
    expect(text(outputs.HostsCommand!.Value)).toBe(
      'npm run hosts -- --stack SelfieLessActs --region {"Ref":"AWS::Region"}',
    );
  });

  test('tags everything taggable with the project, and the hosts with their service', () => {
    const taggable = Object.values(resources).filter((r) => r.Properties && 'Tags' in r.Properties);
    expect(taggable.length).toBeGreaterThan(10);
    for (const r of taggable)
      expect(r.Properties!.Tags).toContainEqual(
        expect.objectContaining({ Key: 'project', Value: 'SelfieLessActs' }),
      );
    for (const service of ['Users', 'Acts'] as const)
      expect(groupOf(resources, service)[1].Properties!.Tags).toContainEqual({
        Key: 'service',
        Value: service.toLowerCase(),
        PropagateAtLaunch: true,
      });
  });
});

describe('deployment settings', () => {
  test('directAccessCidr opens port 80 of every host to that CIDR alone and outputs how to list their addresses', () => {
    const { resources, json } = build({ directAccessCidr: '203.0.113.7/32' });
    for (const service of ['Users', 'Acts'] as const) {
      const group = resources[securityGroupOf(resources, service)]!.Properties!;
      expect(group.SecurityGroupIngress).toEqual([
        expect.objectContaining({ CidrIp: '203.0.113.7/32', FromPort: 80, ToPort: 80, IpProtocol: 'tcp' }),
      ]);
      // The load balancer's rule is still the only other way in.
      expect(ingressTo(resources, securityGroupOf(resources, service))).toHaveLength(1);
    }
    expect(text(json.Outputs.HostAddressesCommand.Value)).toContain('PublicIpAddress');
    expect(() => build({ directAccessCidr: '203.0.113.7' })).toThrow(/directAccessCidr.*CIDR/);
  });

  test('a host range scales out by requests per host; the default stays one host per service', () => {
    const { resources, template } = build({ actsHosts: '2-4' });
    expect(groupOf(resources, 'Acts')[1].Properties).toMatchObject({ MinSize: '2', MaxSize: '4' });
    expect(groupOf(resources, 'Acts')[1].UpdatePolicy!.AutoScalingRollingUpdate.MinInstancesInService).toBe(
      2,
    );
    expect(groupOf(resources, 'Acts')[1].CreationPolicy!.ResourceSignal.Count).toBe(2);
    expect(groupOf(resources, 'Users')[1].Properties).toMatchObject({ MinSize: '1', MaxSize: '2' });
    const policies = ofType(resources, 'AWS::AutoScaling::ScalingPolicy');
    expect(policies).toHaveLength(1);
    expect(policies[0]![1].TargetTrackingConfiguration).toMatchObject({
      PredefinedMetricSpecification: { PredefinedMetricType: 'ALBRequestCountPerTarget' },
      TargetValue: requestsPerHostTarget(replicaBudget('t3.small', 'rds').maxReplicas),
    });
    template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 2);
  });

  test('database=container keeps the on-host MariaDB and no RDS; dataRemoval=destroy and multiAz change the database', () => {
    const onHost = build({ database: 'container' });
    onHost.template.resourceCountIs('AWS::RDS::DBInstance', 0);
    onHost.template.resourceCountIs('AWS::EC2::Subnet', 2);
    const userData = text(launchTemplateOf(onHost.resources, 'Acts').LaunchTemplateData.UserData);
    expect(userData).toContain('docker run --detach --name mysql');
    expect(userData).toContain(`"maxReplicas": ${replicaBudget('t3.small', 'container').maxReplicas}`);

    const throwaway = build({ dataRemoval: 'destroy', multiAz: 'true' });
    const [id, db] = ofType(throwaway.resources, 'AWS::RDS::DBInstance')[0]!;
    expect(throwaway.resources[id]!.DeletionPolicy).toBe('Delete');
    expect(db.MultiAZ).toBe(true);
  });

  test('certificateArn with domainName serves HTTPS on 443 and redirects 80 to it', () => {
    const { template, resources } = build({
      certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0',
      domainName: 'acts.example.com',
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 443, Protocol: 'HTTPS' });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      DefaultActions: [
        Match.objectLike({ Type: 'redirect', RedirectConfig: Match.objectLike({ Port: '443' }) }),
      ],
    });
    expect(text(launchTemplateOf(resources, 'Acts').LaunchTemplateData.UserData)).toContain(
      "USERS_URL='https://acts.example.com'",
    );
  });

  test('alarmEmail subscribes that address to the alarms', () => {
    build({ alarmEmail: 'ops@example.com' }).template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  test('the instance type is a context setting; an ARM type gets ARM images from the one Dockerfile', () => {
    const { app, stack, resources } = build({ instanceType: 't4g.small' });
    for (const service of ['Users', 'Acts'] as const)
      expect(launchTemplateOf(resources, service).LaunchTemplateData.InstanceType).toBe('t4g.small');
    const manifest = JSON.parse(
      readFileSync(path.join(app.synth().directory, `${stack.stackName}.assets.json`), 'utf8'),
    );
    const images = Object.values(manifest.dockerImages) as {
      source: { dockerFile: string; platform: string; dockerBuildArgs: Record<string, string> };
    }[];
    const byService = images
      .map(
        (i) =>
          [
            i.source.dockerBuildArgs.SERVICE,
            [i.source.dockerFile, i.source.platform, i.source.dockerBuildArgs],
          ] as const,
      )
      .sort(([a], [b]) => String(a).localeCompare(String(b)))
      .map(([, image]) => image);
    expect(byService).toEqual([
      ['Dockerfile', 'linux/arm64', { SERVICE: 'acts', PORT: '8000' }],
      ['Dockerfile', 'linux/arm64', { SERVICE: 'users', PORT: '8100' }],
    ]);
  }, 120_000);

  test('defaults apply when the context says nothing', () => {
    expect(readSettings(() => undefined)).toEqual(DEFAULT_SETTINGS);
  });
});
