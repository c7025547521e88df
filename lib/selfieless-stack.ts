/**
 * The whole deployment: a VPC without NAT, an internet-facing load balancer that routes
 * `/api/v1/users*` to the users hosts and everything else to the acts hosts, one Auto Scaling
 * group of hosts per service (one host each by default), the database (RDS by default),
 * alarms, and the stack parameter that pins the hosts' AMI.
 * Environment-agnostic (no `env`, no lookups), so it synthesizes offline without credentials.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  AssetHashType,
  BundlingOutput,
  CfnOutput,
  CfnParameter,
  DockerImage,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { replicaBudget } from './host-capacity';
import { bundleOrchestrator } from './orchestrator-bundle';
import { ServiceHosts } from './service-hosts';
import { SERVICE_NAMES, type ServiceName } from './service-images';
import type { DeploymentSettings } from './settings';

export interface SelfieLessActsStackProps extends StackProps {
  /** Repository root: Docker build context, orchestrator sources, host/ files. */
  repoRoot: string;
  settings: DeploymentSettings;
}

/** Priority of the users path rule; the default action (acts) has none. */
export const USERS_RULE_PRIORITY = 10;
export const USERS_PATH_PATTERN = '/api/v1/users*';
/** The orchestrator answers `/` itself: 200 only while a replica is in rotation; never forwarded or counted. */
export const HEALTH_CHECK_PATH = '/';
export const SYSTEMD_UNIT_PATH = 'host/selfieless-orchestrator.service';
/** The orchestrator log file's rotation: its logrotate config and the timer that runs it. */
export const LOG_ROTATION_PATHS = {
  config: 'host/selfieless-logrotate.conf',
  service: 'host/selfieless-logrotate.service',
  timer: 'host/selfieless-logrotate.timer',
} as const;
/** The stack parameter holding the hosts' AMI (docs/deploy.md: choosing and refreshing it). */
export const HOST_IMAGE_PARAMETER = 'HostImageId';
/** How long the load balancer lets a leaving host finish its requests (the orchestrator drains in 30 s). */
export const DEREGISTRATION_DELAY = Duration.seconds(30);
/** The orchestrator's scaling rule on each host: one replica per this many requests per window. */
export const ORCHESTRATOR_SCALING = { requestsPerReplica: 20, windowSeconds: 120 } as const;
/** Hosts are added when their orchestrators are at this share of their replica cap. */
export const HOST_SCALE_OUT_SHARE = 0.7;
export const DATABASE_PORT = 3306;

const title = (service: ServiceName) => (service === 'users' ? 'Users' : 'Acts');

/** Requests per minute per host at which the group adds a host: 70 % of what the host's replicas take. */
export function requestsPerHostTarget(maxReplicas: number): number {
  const perMinute =
    (ORCHESTRATOR_SCALING.requestsPerReplica * maxReplicas * 60) / ORCHESTRATOR_SCALING.windowSeconds;
  return Math.max(1, Math.floor(perMinute * HOST_SCALE_OUT_SHARE));
}

export class SelfieLessActsStack extends Stack {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly hosts: Record<ServiceName, ServiceHosts>;
  readonly database?: rds.DatabaseInstance;

  constructor(scope: Construct, id: string, props: SelfieLessActsStackProps) {
    super(scope, id, props);
    const { repoRoot, settings } = props;
    const https = settings.certificateArn !== undefined;

    const vpc = new ec2.Vpc(this, 'Vpc', {
      // Clear of Docker's default bridge (172.17.0.0/16), which the hosts' containers use.
      ipAddresses: ec2.IpAddresses.cidr('10.0.0.0/16'),
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        // The database has no route to the internet at all.
        ...(settings.database === 'rds'
          ? [{ name: 'database', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }]
          : []),
      ],
      // Nothing uses the default security group; locking it down would add a custom-resource
      // Lambda (and its own findings) to a stack that otherwise has none.
      restrictDefaultSecurityGroup: false,
    });
    Validations.of(vpc).acknowledge({
      id: 'AwsSolutions-VPC7',
      reason:
        'Flow logs would cost more (CloudWatch ingestion and storage) than the traffic they would explain here; security groups admit only port 80 from the load balancer (and 3306 from the hosts to the database).',
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
        'No per-request log is kept anywhere: access logs would need a bucket (and a clean-up Lambda for cdk destroy) for data nobody here reads; the load balancer 5xx and unhealthy-host alarms, its CloudWatch metrics and the orchestrators\u2019 counts at /metrics cover operations.',
    });
    for (const sg of loadBalancer.connections.securityGroups) {
      Validations.of(sg).acknowledge({
        id: 'AwsSolutions-EC23',
        reason: `The public entry point of the web application: port 80${https ? ' and 443 must be' : ' must be'} open to the internet.`,
      });
    }

    const hostImage = new CfnParameter(this, HOST_IMAGE_PARAMETER, {
      type: 'AWS::EC2::Image::Id',
      description:
        'Amazon Linux 2023 AMI of every host. Kept across deploys until you pass a new one (docs/deploy.md, "The hosts\u2019 AMI").',
    });

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
            bundleOrchestrator({ repoRoot, outputDir, includeWebUi: true });
            return true;
          },
        },
      },
    });

    // Alarm state changes and host launches/terminations; `-c alarmEmail=...` subscribes an address.
    const alarmTopic = new sns.Topic(this, 'Alarms', {
      displayName: 'SelfieLessActs alarms',
      enforceSSL: true,
    });
    if (settings.alarmEmail !== undefined) {
      alarmTopic.addSubscription(new subscriptions.EmailSubscription(settings.alarmEmail));
    }

    const database = settings.database === 'rds' ? this.createDatabase(vpc, settings) : undefined;
    this.database = database;

    const budget = replicaBudget(settings.instanceType, settings.database);
    const hostFile = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');
    const systemdUnit = hostFile(SYSTEMD_UNIT_PATH);
    const logRotation = {
      config: hostFile(LOG_ROTATION_PATHS.config),
      service: hostFile(LOG_ROTATION_PATHS.service),
      timer: hostFile(LOG_ROTATION_PATHS.timer),
    };
    const instanceType = new ec2.InstanceType(settings.instanceType);
    const publicHost = settings.domainName ?? loadBalancer.loadBalancerDnsName;
    const hosts = (service: ServiceName) =>
      new ServiceHosts(this, `${title(service)}Hosts`, {
        service,
        vpc,
        instanceType,
        imageId: hostImage.valueAsString,
        hosts: settings.hosts[service],
        maxReplicas: budget.maxReplicas,
        repoRoot,
        imageBuild: settings,
        orchestratorBundle,
        // The acts service calls the users API through the load balancer, as a browser would.
        usersUrl: `${https ? 'https' : 'http'}://${publicHost}`,
        // The load balancer's default route is the acts hosts, so their front doors serve the UI.
        serveWebUi: service === 'acts',
        systemdUnit,
        logRotation,
        ...(database?.secret ? { databaseSecret: database.secret } : {}),
        notifications: alarmTopic,
        rootVolumeGiB: 16,
      });
    this.hosts = { users: hosts('users'), acts: hosts('acts') };

    const targetGroup = (service: ServiceName) =>
      new elbv2.ApplicationTargetGroup(this, `${title(service)}Targets`, {
        vpc,
        port: 80,
        protocol: elbv2.ApplicationProtocol.HTTP,
        targetType: elbv2.TargetType.INSTANCE,
        targets: [this.hosts[service].group],
        healthCheck: {
          path: HEALTH_CHECK_PATH,
          healthyHttpCodes: '200',
          interval: Duration.seconds(10),
          timeout: Duration.seconds(5),
          healthyThresholdCount: 2,
          unhealthyThresholdCount: 3,
        },
        // Longer than any request a replica serves, no longer than the orchestrator's drain.
        deregistrationDelay: DEREGISTRATION_DELAY,
      });
    const targets = { users: targetGroup('users'), acts: targetGroup('acts') };

    const listener = https
      ? loadBalancer.addListener('Https', {
          port: 443,
          protocol: elbv2.ApplicationProtocol.HTTPS,
          certificates: [elbv2.ListenerCertificate.fromArn(settings.certificateArn!)],
          sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
          open: true,
        })
      : loadBalancer.addListener('Http', { port: 80, open: true });
    if (https) loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443 });
    listener.addAction('Users', {
      priority: USERS_RULE_PRIORITY,
      conditions: [elbv2.ListenerCondition.pathPatterns([USERS_PATH_PATTERN])],
      action: elbv2.ListenerAction.forward([targets.users]),
    });
    listener.addAction('Default', { action: elbv2.ListenerAction.forward([targets.acts]) });

    for (const service of SERVICE_NAMES) {
      const { group, securityGroup } = this.hosts[service];
      // `open: true` admits the internet to the load balancer; the hosts admit only it.
      securityGroup.connections.allowFrom(loadBalancer, ec2.Port.tcp(80), 'HTTP from the load balancer');
      if (settings.directAccessCidr !== undefined) {
        securityGroup.addIngressRule(
          ec2.Peer.ipv4(settings.directAccessCidr),
          ec2.Port.tcp(80),
          'HTTP from the operator-chosen CIDR (directAccessCidr)',
        );
      }
      if (database)
        database.connections.allowFrom(
          securityGroup,
          ec2.Port.tcp(DATABASE_PORT),
          `MySQL from the ${service} hosts`,
        );
      const range = settings.hosts[service];
      if (range.max > range.min) {
        group.scaleOnRequestCount('RequestsPerHost', {
          targetRequestsPerMinute: requestsPerHostTarget(budget.maxReplicas),
        });
      }
    }

    this.createAlarms(alarmTopic, loadBalancer, targets, database);

    new CfnOutput(this, 'Url', {
      description: 'The application',
      value: `${https ? 'https' : 'http'}://${publicHost}/`,
    });
    new CfnOutput(this, 'HostsCommand', {
      description:
        'The running hosts: service, instance, addresses, health and a Session Manager command each',
      value: `npm run hosts -- --stack ${this.stackName} --region ${this.region}`,
    });
    if (settings.directAccessCidr !== undefined) {
      new CfnOutput(this, 'HostAddressesCommand', {
        description: `Public addresses of the hosts, open on port 80 to ${settings.directAccessCidr}`,
        value: `aws ec2 describe-instances --region ${this.region} --filters Name=tag:aws:cloudformation:stack-name,Values=${this.stackName} Name=instance-state-name,Values=running --query "Reservations[].Instances[].[Tags[?Key=='service']|[0].Value,PublicIpAddress]" --output text`,
      });
    }
  }

  private createDatabase(vpc: ec2.Vpc, settings: DeploymentSettings): rds.DatabaseInstance {
    // MariaDB, the engine the services are tested against (and the on-host container runs).
    const engine = rds.DatabaseInstanceEngine.mariaDb({ version: rds.MariaDbEngineVersion.VER_11_4_10 });
    const parameterGroup = new rds.ParameterGroup(this, 'DatabaseParameters', {
      engine,
      description: 'SelfieLessActs: 20 MB photos as base64 text; plain connections inside the VPC',
      parameters: {
        // A 20 MB photo is about 27 MB as base64 text.
        max_allowed_packet: String(64 * 1024 * 1024),
        // The services' MySQL driver connects without TLS today; the database is reachable only
        // from the hosts' security groups inside the VPC (docs/deploy.md, "Database").
        require_secure_transport: '0',
      },
    });
    const database = new rds.DatabaseInstance(this, 'Database', {
      engine,
      parameterGroup,
      instanceType: new ec2.InstanceType(settings.databaseInstanceType),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      // One instance, a database per service inside it (each service creates its own at start).
      credentials: rds.Credentials.fromGeneratedSecret('selfieless'),
      port: DATABASE_PORT,
      storageEncrypted: true,
      allocatedStorage: 20,
      maxAllocatedStorage: 100,
      storageType: rds.StorageType.GP3,
      multiAz: settings.multiAz,
      backupRetention: Duration.days(7),
      // cdk destroy must succeed; the snapshot (by default) is what keeps the data.
      deletionProtection: false,
      removalPolicy: settings.dataRemoval === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.SNAPSHOT,
      publiclyAccessible: false,
    });
    Validations.of(database).acknowledge(
      {
        id: 'AwsSolutions-RDS10',
        reason:
          '`cdk destroy` must remove the stack; the default removal policy takes a final snapshot instead, so the data survives.',
      },
      {
        id: 'AwsSolutions-RDS11',
        reason:
          'The services speak the MySQL default port; the database is in isolated subnets and admits only the hosts\u2019 security groups, so a different port would hide nothing.',
      },
      ...(settings.multiAz
        ? []
        : [
            {
              id: 'AwsSolutions-RDS3',
              reason:
                'Single-AZ by default to halve the database cost; `-c multiAz=true` turns on a standby. Daily backups (7 days) and the final snapshot keep the data.',
            },
          ]),
    );
    Validations.of(database.node.findChild('Secret')).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotation would change the password under running hosts, which read it once at boot; the secret is readable only by the hosts\u2019 roles and never leaves AWS.',
    });
    return database;
  }

  private createAlarms(
    topic: sns.Topic,
    loadBalancer: elbv2.ApplicationLoadBalancer,
    targets: Record<ServiceName, elbv2.ApplicationTargetGroup>,
    database: rds.DatabaseInstance | undefined,
  ): void {
    const action = new cloudwatchActions.SnsAction(topic);
    const alarm = (
      id: string,
      props: cloudwatch.CreateAlarmOptions & { metric: cloudwatch.Metric | cloudwatch.MathExpression },
    ) => {
      const created = props.metric.createAlarm(this, id, props);
      created.addAlarmAction(action);
      created.addOkAction(action);
    };

    const requests = loadBalancer.metrics.requestCount({ period: Duration.minutes(5) });
    const errors = new cloudwatch.MathExpression({
      expression: '100 * (elb5xx + target5xx) / MAX([requests, 1])',
      usingMetrics: {
        elb5xx: loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, {
          period: Duration.minutes(5),
        }),
        target5xx: loadBalancer.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, {
          period: Duration.minutes(5),
        }),
        requests,
      },
      label: '5xx share of requests (%)',
      period: Duration.minutes(5),
    });
    alarm('ServerErrorRate', {
      metric: errors,
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: 'More than 5 % of requests answered 5xx (load balancer or hosts) over 5 minutes',
    });
    for (const service of SERVICE_NAMES) {
      alarm(`${title(service)}UnhealthyHosts`, {
        metric: targets[service].metrics.unhealthyHostCount({ period: Duration.minutes(1) }),
        threshold: 0,
        evaluationPeriods: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `A ${service} host failed the load balancer's health check for 3 minutes`,
      });
    }
    if (database) {
      alarm('DatabaseCpu', {
        metric: database.metricCPUUtilization({ period: Duration.minutes(5) }),
        threshold: 80,
        evaluationPeriods: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        alarmDescription: 'Database CPU above 80 % for 15 minutes',
      });
      alarm('DatabaseFreeStorage', {
        metric: database.metricFreeStorageSpace({ period: Duration.minutes(5) }),
        threshold: 2 * 1024 ** 3,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        alarmDescription: 'Less than 2 GiB of database storage left (it grows by itself up to 100 GiB)',
      });
    }
  }
}
