/**
 * The hosts of one service: its image (built from the repository's Dockerfile at deploy
 * time), a launch template whose first boot installs Docker and the orchestrator, and an
 * Auto Scaling group that CloudFormation gates on each host's health signal, both when the
 * group is created and when a new template version replaces its hosts one at a time.
 */
import {
  DockerBuildSecret,
  Duration,
  Lazy,
  RemovalPolicy,
  Stack,
  Tags,
  Validations,
  type CfnElement,
} from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { DockerImageAsset, Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { LOG_RETENTION_DAYS } from './host-logging';
import { DOCKERFILE, imageBuildArgs, NPM_CA_SECRET_ID } from './service-images';
import type { HostRange } from './settings';
import { HEALTH_WAIT_SECONDS, renderUserData, type ServiceName } from './user-data';

export interface ServiceHostsProps {
  service: ServiceName;
  vpc: ec2.IVpc;
  instanceType: ec2.InstanceType;
  /** The AMI every host boots: a stack parameter, so it changes only when the operator says so. */
  imageId: string;
  hosts: HostRange;
  /** Replicas one host's memory holds. */
  maxReplicas: number;
  /** Repository root: the Docker build context. */
  repoRoot: string;
  imageBuild: { baseImage?: string; buildBaseImage?: string; npmCaBundle?: string };
  /** The zipped orchestrator bundle every host installs. */
  orchestratorBundle: Asset;
  /** Base URL of the users API for the acts service. */
  usersUrl: string;
  serveWebUi: boolean;
  systemdUnit: string;
  /** Texts of host/selfieless-logrotate.{conf,service,timer}. */
  logRotation: { config: string; service: string; timer: string };
  /** The RDS credentials secret; absent when each host runs its own database container. */
  databaseSecret?: secretsmanager.ISecret;
  /** Where launches, terminations and failures of hosts are announced. */
  notifications: sns.ITopic;
  /** Root volume size; images, the journal (and an on-host database) live there. */
  rootVolumeGiB: number;
}

/** How long CloudFormation waits for a host's signal: the boot script's own wait plus installs and pulls. */
export const SIGNAL_TIMEOUT = Duration.seconds(HEALTH_WAIT_SECONDS + 600);

export class ServiceHosts extends Construct {
  readonly group: autoscaling.AutoScalingGroup;
  readonly image: DockerImageAsset;
  readonly securityGroup: ec2.SecurityGroup;
  /** The orchestrator's and the containers' lines of every host of this service. */
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ServiceHostsProps) {
    super(scope, id);
    const { service, instanceType, hosts } = props;
    // On every host (the group propagates it): `npm run hosts` and the console find hosts by it.
    Tags.of(this).add('service', service);
    const arm = instanceType.architecture === ec2.InstanceArchitecture.ARM_64;

    // Built and pushed by `cdk deploy` (publishing), never by synth. Dependencies are installed
    // inside the build for the image's platform, which follows the hosts' CPU, so a deployer
    // on any OS or CPU builds an image the hosts can run.
    this.image = new DockerImageAsset(this, 'Image', {
      directory: props.repoRoot,
      file: DOCKERFILE,
      buildArgs: imageBuildArgs(service, props.imageBuild),
      ...(props.imageBuild.npmCaBundle
        ? { buildSecrets: { [NPM_CA_SECRET_ID]: DockerBuildSecret.fromSrc(props.imageBuild.npmCaBundle) } }
        : {}),
      platform: arm ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
      displayName: `${service} service image`,
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `${service} hosts: port 80 from the load balancer only; no SSH (Session Manager instead)`,
      // Outbound is needed for dnf, ECR, S3, Secrets Manager, SSM, CloudFormation signals.
      allowAllOutbound: true,
    });

    // Named after the stack and service, so an operator finds it, and deleted with the stack.
    const logGroupName = `/${Stack.of(this).stackName}/${service}`;
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName,
      retention: retentionDays(LOG_RETENTION_DAYS),
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `${service} hosts: pull the image, read the orchestrator bundle and database secret, write their logs, Session Manager`,
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });

    // The boot script signals the group it belongs to, which exists only once the template does.
    const stack = Stack.of(this);
    const signalResource = Lazy.string({
      produce: () => stack.getLogicalId(this.group.node.defaultChild as CfnElement),
    });
    const userData = ec2.UserData.custom(
      renderUserData(
        {
          service,
          region: stack.region,
          stackName: stack.stackName,
          signalResource,
          imageUri: this.image.imageUri,
          orchestratorBundleUrl: props.orchestratorBundle.s3ObjectUrl,
          usersUrl: props.usersUrl,
          serveWebUi: props.serveWebUi,
          systemdUnit: props.systemdUnit,
          maxReplicas: props.maxReplicas,
          database: props.databaseSecret
            ? { kind: 'rds', secretArn: props.databaseSecret.secretArn }
            : { kind: 'container' },
        },
        { logGroupName, rotation: props.logRotation },
      ),
    );

    const launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      machineImage: {
        getImage: () => ({
          imageId: props.imageId,
          osType: ec2.OperatingSystemType.LINUX,
          userData: ec2.UserData.forLinux(),
        }),
      },
      instanceType,
      securityGroup: this.securityGroup,
      role,
      userData,
      // A public address gives the host its way out (no NAT gateway) and the acts service its
      // PUBLIC_ORIGIN; the security group keeps it closed to everything but the load balancer.
      associatePublicIpAddress: true,
      // IMDSv2 only, one hop: the host may read its metadata and role credentials, containers
      // on the Docker bridge may not.
      httpEndpoint: true,
      httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
      httpPutResponseHopLimit: 1,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(props.rootVolumeGiB, {
            encrypted: true,
            volumeType: ec2.EbsDeviceVolumeType.GP3,
            deleteOnTermination: true,
          }),
        },
      ],
    });

    // One spare slot above the minimum: a rolling update starts the new host before it stops
    // the old one (CloudFormation needs MinInstancesInService below MaxSize). Without a scaling
    // policy (max = min) the group never uses it otherwise.
    this.group = new autoscaling.AutoScalingGroup(this, 'Group', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      launchTemplate,
      minCapacity: hosts.min,
      maxCapacity: Math.max(hosts.max, hosts.min + 1),
      signals: autoscaling.Signals.waitForMinCapacity({ timeout: SIGNAL_TIMEOUT }),
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({
        maxBatchSize: 1,
        minInstancesInService: hosts.min,
        pauseTime: SIGNAL_TIMEOUT,
      }),
      notifications: [{ topic: props.notifications }],
      // A host the load balancer finds unhealthy after its boot is replaced.
      healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
        additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
        gracePeriod: SIGNAL_TIMEOUT,
      }),
    });

    // Deleted before its log group: no host ships lines into a group being deleted.
    this.group.node.addDependency(this.logGroup);

    this.image.repository.grantPull(role);
    // Read exactly one object: the bundle. (Asset.grantRead would open the whole asset bucket.)
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [props.orchestratorBundle.bucket.arnForObjects(props.orchestratorBundle.s3ObjectKey)],
      }),
    );
    props.databaseSecret?.grantRead(role);
    // logs:CreateLogStream and logs:PutLogEvents on this group's streams: all the agent calls
    // while the group exists and its config sets no retention. Without logs:CreateLogGroup, a
    // host still running while \`cdk destroy\` deletes the group cannot bring it back.
    this.logGroup.grantWrite(role);

    this.acknowledgeFindings(role);
  }

  private acknowledgeFindings(role: iam.Role): void {
    Validations.of(role).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
        reason:
          'Session Manager replaces SSH (no key pair, no port 22); AWS maintains this policy as the SSM agent evolves.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'ecr:GetAuthorizationToken (added by grantPull) has no resource-level permissions; the pull actions themselves are scoped to the asset repository.',
      },
    );
  }
}

function retentionDays(days: number): logs.RetentionDays {
  if (!Object.values(logs.RetentionDays).includes(days))
    throw new Error(`CloudWatch Logs cannot keep logs ${days} days`);
  return days as logs.RetentionDays;
}
