/**
 * The whole deployment: a VPC without NAT, an internet-facing load balancer that routes
 * `/api/v1/users*` to the users host and everything else to the acts host, and the two hosts.
 * Environment-agnostic (no `env`, no lookups), so it synthesizes offline without credentials.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  AssetHashType,
  BundlingOutput,
  CfnOutput,
  DockerImage,
  Duration,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { InstanceTarget } from 'aws-cdk-lib/aws-elasticloadbalancingv2-targets';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import type { Construct } from 'constructs';
import { bundleOrchestrator, hasWebUiBuild } from './orchestrator-bundle';
import { ServiceHost } from './service-host';
import type { ServiceName } from './user-data';

export interface SelfieLessActsStackProps extends StackProps {
  /** Repository root: Docker build context, orchestrator sources, infra/ files. */
  repoRoot: string;
  /** EC2 instance type of both hosts, e.g. `t3.micro`. */
  instanceType: string;
}

/** Priority of the users path rule; the default action (acts) has none. */
export const USERS_RULE_PRIORITY = 10;
export const USERS_PATH_PATTERN = '/api/v1/users*';
/** The orchestrator answers `/` itself: not forwarded, not counted by `_count`. */
export const HEALTH_CHECK_PATH = '/';
export const SYSTEMD_UNIT_PATH = 'infra/selfieless-orchestrator.service';

export class SelfieLessActsStack extends Stack {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly hosts: Record<ServiceName, ServiceHost>;

  constructor(scope: Construct, id: string, props: SelfieLessActsStackProps) {
    super(scope, id, props);
    const { repoRoot } = props;

    const vpc = new ec2.Vpc(this, 'Vpc', {
      // Clear of Docker's default bridge (172.17.0.0/16), which the hosts use for the database.
      ipAddresses: ec2.IpAddresses.cidr('10.0.0.0/16'),
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
      // Nothing uses the default security group; locking it down would add a custom-resource
      // Lambda (and its own findings) to a stack that otherwise has none.
      restrictDefaultSecurityGroup: false,
    });
    Validations.of(vpc).acknowledge({
      id: 'AwsSolutions-VPC7',
      reason:
        'Two hosts behind one load balancer: flow logs would cost more (CloudWatch ingestion and storage) than the traffic they would explain; security groups admit only port 80 from the load balancer.',
    });

    const loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      dropInvalidHeaderFields: true,
    });
    this.loadBalancer = loadBalancer;
    Validations.of(loadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason:
        'Access logs need a dedicated, retained S3 bucket; the orchestrators log every request outcome to the journal on each host, which is enough for this deployment.',
    });
    for (const sg of loadBalancer.connections.securityGroups) {
      Validations.of(sg).acknowledge({
        id: 'AwsSolutions-EC23',
        reason: 'The public entry point of the web application: port 80 must be open to the internet.',
      });
    }

    const serveWebUi = hasWebUiBuild(repoRoot);
    const orchestratorBundle = new Asset(this, 'OrchestratorBundle', {
      path: path.join(repoRoot, 'orchestrator'),
      displayName: 'orchestrator bundle',
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        // Never used: local bundling always succeeds or throws, so synth needs no Docker.
        image: DockerImage.fromRegistry('scratch'),
        outputType: BundlingOutput.NOT_ARCHIVED,
        local: {
          tryBundle(outputDir: string): boolean {
            bundleOrchestrator({ repoRoot, outputDir, includeWebUi: serveWebUi });
            return true;
          },
        },
      },
    });

    const systemdUnit = readFileSync(path.join(repoRoot, SYSTEMD_UNIT_PATH), 'utf8');
    const instanceType = new ec2.InstanceType(props.instanceType);
    const host = (service: ServiceName) =>
      new ServiceHost(this, service === 'users' ? 'UsersHost' : 'ActsHost', {
        service,
        vpc,
        // One host per zone: losing a zone takes down one service, not both.
        subnet: vpc.publicSubnets[service === 'acts' ? 0 : 1],
        instanceType,
        repoRoot,
        orchestratorBundle,
        loadBalancerDnsName: loadBalancer.loadBalancerDnsName,
        // The load balancer's default route is the acts host, so its front door serves the UI.
        serveWebUi: serveWebUi && service === 'acts',
        systemdUnit,
        rootVolumeGiB: 16,
      });
    this.hosts = { users: host('users'), acts: host('acts') };

    const listener = loadBalancer.addListener('Http', { port: 80, open: true });
    const targetGroup = (service: ServiceName) =>
      new elbv2.ApplicationTargetGroup(this, service === 'users' ? 'UsersTargets' : 'ActsTargets', {
        vpc,
        port: 80,
        protocol: elbv2.ApplicationProtocol.HTTP,
        targetType: elbv2.TargetType.INSTANCE,
        targets: [new InstanceTarget(this.hosts[service].instance, 80)],
        healthCheck: {
          path: HEALTH_CHECK_PATH,
          healthyHttpCodes: '200',
          interval: Duration.seconds(10),
          timeout: Duration.seconds(5),
          healthyThresholdCount: 2,
          unhealthyThresholdCount: 3,
        },
        // A host leaves only when it is replaced; its requests are short.
        deregistrationDelay: Duration.seconds(10),
      });
    const usersTargets = targetGroup('users');
    const actsTargets = targetGroup('acts');

    listener.addAction('Users', {
      priority: USERS_RULE_PRIORITY,
      conditions: [elbv2.ListenerCondition.pathPatterns([USERS_PATH_PATTERN])],
      action: elbv2.ListenerAction.forward([usersTargets]),
    });
    listener.addAction('Default', { action: elbv2.ListenerAction.forward([actsTargets]) });

    // `open: true` admits the internet to the load balancer; the hosts admit only it.
    for (const service of ['users', 'acts'] as const) {
      this.hosts[service].instance.connections.allowFrom(
        loadBalancer,
        ec2.Port.tcp(80),
        'HTTP from the load balancer',
      );
    }

    new CfnOutput(this, 'Url', {
      description: 'The application',
      value: `http://${loadBalancer.loadBalancerDnsName}/`,
    });
    for (const service of ['users', 'acts'] as const) {
      const name = service === 'users' ? 'Users' : 'Acts';
      new CfnOutput(this, `${name}SessionCommand`, {
        description: `A shell on the ${service} host (needs the Session Manager plugin for the AWS CLI)`,
        value: `aws ssm start-session --region ${this.region} --target ${this.hosts[service].instance.instanceId}`,
      });
    }
  }
}
