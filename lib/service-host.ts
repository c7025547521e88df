/**
 * One EC2 host for one service: its image (built from the service's Dockerfile at deploy
 * time), a locked-down instance whose first boot installs Docker, the database container and
 * the orchestrator, and the least permissions that boot needs.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { DockerImageAsset, Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { renderUserData, type ServiceName } from './user-data';

export interface ServiceHostProps {
  service: ServiceName;
  vpc: ec2.IVpc;
  /** A public subnet: the host needs a public address (no NAT gateway). */
  subnet: ec2.ISubnet;
  instanceType: ec2.InstanceType;
  /** Repository root: the Docker build context. */
  repoRoot: string;
  /** The zipped orchestrator bundle every host installs. */
  orchestratorBundle: Asset;
  loadBalancerDnsName: string;
  serveWebUi: boolean;
  systemdUnit: string;
  /** Root volume size; images, the database and the journal live there. */
  rootVolumeGiB: number;
}

export class ServiceHost extends Construct {
  readonly instance: ec2.Instance;
  readonly image: DockerImageAsset;

  constructor(scope: Construct, id: string, props: ServiceHostProps) {
    super(scope, id);
    const { service, instanceType } = props;
    const arm = instanceType.architecture === ec2.InstanceArchitecture.ARM_64;

    // Built and pushed by `cdk deploy` (publishing), never by synth. The build context is the
    // repository root, narrowed by its .dockerignore; the platform follows the instance's CPU
    // so a machine of another architecture still builds an image the host can run.
    this.image = new DockerImageAsset(this, 'Image', {
      directory: props.repoRoot,
      file: `services/${service}/Dockerfile`,
      platform: arm ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
      displayName: `${service} service image`,
    });

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `${service} host: port 80 from the load balancer only; no SSH (Session Manager instead)`,
      // Outbound is needed for dnf, ECR, S3, Docker Hub/public ECR (the database image), SSM.
      allowAllOutbound: true,
    });

    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `${service} host: pull its image, read the orchestrator bundle, Session Manager`,
    });

    const userData = ec2.UserData.custom(
      renderUserData({
        service,
        region: Stack.of(this).region,
        imageUri: this.image.imageUri,
        orchestratorBundleUrl: props.orchestratorBundle.s3ObjectUrl,
        loadBalancerDnsName: props.loadBalancerDnsName,
        serveWebUi: props.serveWebUi,
        systemdUnit: props.systemdUnit,
      }),
    );

    this.instance = new ec2.Instance(this, 'Instance', {
      vpc: props.vpc,
      vpcSubnets: { subnets: [props.subnet] },
      // A public address gives the host its way out (no NAT gateway) and the acts service its
      // PUBLIC_ORIGIN; the security group keeps it closed to everything but the load balancer.
      associatePublicIpAddress: true,
      instanceType,
      machineImage: ec2.MachineImage.latestAmazonLinux2023({
        cpuType: arm ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64,
      }),
      securityGroup,
      role,
      userData,
      // User data runs at first boot only: a new bundle, image or config must mean a new host.
      userDataCausesReplacement: true,
      // IMDSv2 only, set on the instance itself (requireImdsv2 would add a launch template
      // whose fixed name collides between the two hosts). One hop: the host may read its
      // metadata and role credentials, containers on the Docker bridge may not.
      httpEndpoint: true,
      httpTokens: ec2.HttpTokens.REQUIRED,
      httpPutResponseHopLimit: 1,
      ssmSessionPermissions: true,
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

    this.image.repository.grantPull(role);
    // Read exactly one object: the bundle. (Asset.grantRead would open the whole asset bucket.)
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [props.orchestratorBundle.bucket.arnForObjects(props.orchestratorBundle.s3ObjectKey)],
      }),
    );

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
    Validations.of(this.instance).acknowledge(
      {
        id: 'AwsSolutions-EC28',
        reason:
          'Basic 5-minute monitoring is enough here: the orchestrator exposes its own health and metrics, and detailed monitoring would add cost per instance.',
      },
      {
        id: 'AwsSolutions-EC29',
        reason:
          'The host is disposable (rebuilt from user data on every change) and `cdk destroy` must be able to remove it; termination protection would block both.',
      },
    );
  }
}
