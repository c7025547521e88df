import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { populateApp } from '../../lib/app';
import {
  HEALTH_CHECK_PATH,
  USERS_PATH_PATTERN,
  USERS_RULE_PRIORITY,
  type SelfieLessActsStack,
} from '../../lib/selfieless-stack';
import { DEFAULT_SETTINGS, readSettings } from '../../lib/settings';

const REPO_ROOT = path.resolve(__dirname, '../..');

// Template JSON is walked freely here; the assertions are the type check.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Props = Record<string, any>;
type Resources = Record<string, { Type: string; Properties?: Props }>;

/**
 * The stack as the CLI would build it, minus the orchestrator bundling and the copying of the
 * Docker build contexts (both belong to the offline synth suite).
 */
function build(context: Record<string, unknown> = {}): {
  app: App;
  stack: SelfieLessActsStack;
  template: Template;
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
  return { app, stack, template, resources: template.toJSON().Resources as Resources };
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

describe('the SelfieLessActs stack', () => {
  const { stack, template, resources } = build();
  const instances = ofType(resources, 'AWS::EC2::Instance');
  const instanceId = (name: 'UsersHost' | 'ActsHost') =>
    instances.find(([id]) => id.startsWith(`${name}Instance`))![0];

  test('is environment-agnostic, so synth needs no credentials and no lookups', () => {
    expect(Token.isUnresolved(stack.account)).toBe(true);
    expect(Token.isUnresolved(stack.region)).toBe(true);
  });

  test('has two public subnets in two zones and no NAT gateway', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::Subnet', 2);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::EIP', 0);
    const zones = ofType(resources, 'AWS::EC2::Subnet').map(([, p]) => JSON.stringify(p.AvailabilityZone));
    expect(new Set(zones).size).toBe(2);
    for (const [, p] of ofType(resources, 'AWS::EC2::Subnet')) expect(p.MapPublicIpOnLaunch).toBe(true);
  });

  test('has one internet-facing load balancer, one listener on 80, two target groups, two instances', () => {
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internet-facing',
      Type: 'application',
    });
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::TargetGroup', 2);
    template.resourceCountIs('AWS::EC2::Instance', 2);
  });

  test('routes /api/v1/users* to the users host with a fixed priority, everything else to the acts host', () => {
    const rules = ofType(resources, 'AWS::ElasticLoadBalancingV2::ListenerRule');
    expect(rules).toHaveLength(1);
    const [, rule] = rules[0]!;
    expect(rule.Priority).toBe(USERS_RULE_PRIORITY);
    expect(rule.Conditions).toEqual([
      { Field: 'path-pattern', PathPatternConfig: { Values: [USERS_PATH_PATTERN] } },
    ]);

    const targetGroupOf = (instance: string) =>
      ofType(resources, 'AWS::ElasticLoadBalancingV2::TargetGroup').find(
        ([, p]) => p.Targets?.[0]?.Id?.Ref === instance,
      )![0];
    expect(rule.Actions).toEqual([
      { Type: 'forward', TargetGroupArn: { Ref: targetGroupOf(instanceId('UsersHost')) } },
    ]);
    const [, listener] = ofType(resources, 'AWS::ElasticLoadBalancingV2::Listener')[0]!;
    expect(listener.DefaultActions).toEqual([
      { Type: 'forward', TargetGroupArn: { Ref: targetGroupOf(instanceId('ActsHost')) } },
    ]);
  });

  test('health-checks the orchestrator on / (not counted) and deregisters quickly', () => {
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
        Value: '10',
      });
      expect(tg.Targets).toEqual([{ Id: expect.anything(), Port: 80 }]);
    }
  });

  test('runs Amazon Linux 2023 on t3.micro by default, with IMDSv2 required and one metadata hop', () => {
    for (const [, instance] of instances) {
      expect(instance.InstanceType).toBe('t3.micro');
      expect(instance.MetadataOptions).toEqual({
        HttpEndpoint: 'enabled',
        HttpTokens: 'required',
        HttpPutResponseHopLimit: 1,
      });
      const amiParameter = template.toJSON().Parameters[instance.ImageId.Ref];
      expect(amiParameter.Default).toMatch(
        /^\/aws\/service\/ami-amazon-linux-latest\/al2023-ami-kernel-.*-x86_64$/,
      );
    }
    template.resourceCountIs('AWS::EC2::LaunchTemplate', 0);
  });

  test('encrypts every volume', () => {
    for (const [, instance] of instances) {
      expect(instance.BlockDeviceMappings).toHaveLength(1);
      for (const mapping of instance.BlockDeviceMappings)
        expect(mapping.Ebs).toMatchObject({ Encrypted: true, VolumeType: 'gp3' });
    }
    template.resourceCountIs('AWS::EC2::Volume', 0);
  });

  test('has no key pair and no SSH: the hosts admit only port 80 from the load balancer', () => {
    template.resourceCountIs('AWS::EC2::KeyPair', 0);
    for (const [, instance] of instances) expect(instance.KeyName).toBeUndefined();

    const lbGroups = ofType(resources, 'AWS::ElasticLoadBalancingV2::LoadBalancer')[0]![1].SecurityGroups as {
      'Fn::GetAtt': [string, string];
    }[];
    expect(lbGroups).toHaveLength(1);
    const lbGroup = lbGroups[0]!['Fn::GetAtt'][0];

    for (const [, instance] of instances) {
      const groups = instance.NetworkInterfaces[0].GroupSet as { 'Fn::GetAtt': [string, string] }[];
      expect(groups).toHaveLength(1);
      const group = groups[0]!['Fn::GetAtt'][0];
      expect(resources[group]!.Properties!.SecurityGroupIngress).toBeUndefined();
      const ingress = ofType(resources, 'AWS::EC2::SecurityGroupIngress').filter(
        ([, p]) => p.GroupId['Fn::GetAtt'][0] === group,
      );
      expect(ingress.map(([, p]) => p)).toEqual([
        expect.objectContaining({
          IpProtocol: 'tcp',
          FromPort: 80,
          ToPort: 80,
          SourceSecurityGroupId: { 'Fn::GetAtt': [lbGroup, 'GroupId'] },
        }),
      ]);
    }
    // Nothing anywhere opens port 22.
    const opensSsh = (rule: Props) => rule.FromPort <= 22 && rule.ToPort >= 22;
    for (const [, sg] of ofType(resources, 'AWS::EC2::SecurityGroup'))
      expect((sg.SecurityGroupIngress ?? []).filter(opensSsh)).toEqual([]);
    expect(ofType(resources, 'AWS::EC2::SecurityGroupIngress').filter(([, p]) => opensSsh(p))).toEqual([]);
  });

  test('gives each host least-privilege pulls from the asset repository, one S3 object, and Session Manager', () => {
    const policies = ofType(resources, 'AWS::IAM::Policy');
    expect(policies).toHaveLength(2);
    for (const [, policy] of policies) {
      const statements = policy.PolicyDocument.Statement as Props[];
      expect(statements).toContainEqual({
        Effect: 'Allow',
        Action: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
        Resource: expect.objectContaining({ 'Fn::Join': expect.anything() }),
      });
      const pull = statements.find((s) => Array.isArray(s.Action) && s.Action.includes('ecr:BatchGetImage'))!;
      expect(text(pull.Resource)).toContain('cdk-hnb659fds-container-assets-');
      expect(statements).toContainEqual({
        Effect: 'Allow',
        Action: 'ecr:GetAuthorizationToken',
        Resource: '*',
      });
      const read = statements.find((s) => s.Action === 's3:GetObject')!;
      expect(text(read.Resource)).toMatch(/cdk-hnb659fds-assets-.*\/[0-9a-f]{64}\.zip$/);
      // Nothing else: no wildcards beyond the token call, no writes.
      expect(statements).toHaveLength(3);
    }
    for (const [, role] of ofType(resources, 'AWS::IAM::Role')) {
      expect(text(role.ManagedPolicyArns)).toContain('AmazonSSMManagedInstanceCore');
      expect(role.ManagedPolicyArns).toHaveLength(1);
    }
  });

  test('boots each host with its own image, the shared bundle and the load balancer address', () => {
    for (const name of ['UsersHost', 'ActsHost'] as const) {
      const userData = text(resources[instanceId(name)]!.Properties!.UserData);
      expect(userData).toContain(`SERVICE='${name === 'UsersHost' ? 'users' : 'acts'}'`);
      expect(userData).toContain('cdk-hnb659fds-container-assets-');
      expect(userData).toMatch(/BUNDLE_URL='s3:\/\/.*cdk-hnb659fds-assets-.*\/[0-9a-f]{64}\.zip'/);
    }
    expect(text(resources[instanceId('ActsHost')]!.Properties!.UserData)).toContain('LB_DNS=');
  });

  test('outputs the URL and a Session Manager command per host', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs).sort()).toEqual(['ActsSessionCommand', 'Url', 'UsersSessionCommand']);
    expect(text(outputs.Url!.Value)).toMatch(/^http:\/\/.*LoadBalancer.*\/$/);
    expect(text(outputs.UsersSessionCommand!.Value)).toContain(
      `aws ssm start-session --region {"Ref":"AWS::Region"} --target {"Ref":"${instanceId('UsersHost')}"}`,
    );
    expect(text(outputs.ActsSessionCommand!.Value)).toContain(`--target {"Ref":"${instanceId('ActsHost')}"}`);
  });

  test('tags everything taggable with the project', () => {
    const taggable = Object.values(resources).filter((r) => r.Properties && 'Tags' in r.Properties);
    expect(taggable.length).toBeGreaterThan(10);
    for (const r of taggable)
      expect(r.Properties!.Tags).toContainEqual({ Key: 'project', Value: 'SelfieLessActs' });
    for (const type of [
      'AWS::EC2::VPC',
      'AWS::EC2::Instance',
      'AWS::ElasticLoadBalancingV2::LoadBalancer',
      'AWS::IAM::Role',
    ]) {
      template.hasResourceProperties(type, {
        Tags: Match.arrayWith([{ Key: 'project', Value: 'SelfieLessActs' }]),
      });
    }
  });
});

describe('deployment settings', () => {
  test('the instance type is a context setting; an ARM type gets ARM images and an ARM AMI', () => {
    const { app, stack, resources, template } = build({ instanceType: 't4g.small' });
    for (const [, instance] of ofType(resources, 'AWS::EC2::Instance')) {
      expect(instance.InstanceType).toBe('t4g.small');
      expect(template.toJSON().Parameters[instance.ImageId.Ref].Default).toMatch(
        /al2023-ami-kernel-.*-arm64$/,
      );
    }
    const manifest = JSON.parse(
      readFileSync(path.join(app.synth().directory, `${stack.stackName}.assets.json`), 'utf8'),
    );
    const images = Object.values(manifest.dockerImages) as {
      source: { dockerFile: string; platform: string };
    }[];
    expect(images.map((i) => [i.source.dockerFile, i.source.platform]).sort()).toEqual([
      ['services/acts/Dockerfile', 'linux/arm64'],
      ['services/users/Dockerfile', 'linux/arm64'],
    ]);
  }, 120_000);

  test('defaults apply when the context says nothing; bad values fail before synth', () => {
    expect(readSettings(() => undefined)).toEqual(DEFAULT_SETTINGS);
    expect(() => readSettings((key) => (key === 'instanceType' ? 't3 micro' : undefined))).toThrow(
      /instanceType/,
    );
    expect(() => readSettings((key) => (key === 'stackName' ? 42 : undefined))).toThrow(/stackName/);
  });
});
