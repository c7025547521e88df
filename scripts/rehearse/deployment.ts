/**
 * A whole deploy, as CloudFormation would run it from the synthesized template, against the
 * rehearsal's stand-ins: the registry, the AWS control plane, the resolver, the databases,
 * the load balancer and one simulated host per instance.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { HOST_LOG_PATHS } from '../../lib/host-logging';
import { ControlPlane, type InstanceIdentity } from './control-plane';
import { type RunningDatabase, startDatabase } from './database';
import { DnsServer } from './dns';
import { exec, type HostSpec, type NetworkInfo, startHost, waitForSystemd } from './hosts';
import { resolve, type ResolveContext, type Template } from './intrinsics';
import { LoadBalancer } from './load-balancer';
import { ACCOUNT_ID, hostContainerName, REGION, RUN_DIR, STACK_NAME } from './names';
import type { Registry } from './registry';
import { findDatabases, findHostGroups, type HostGroup, renderUserData, secretAttachments } from './template';

export const LOAD_BALANCER_DNS = `${STACK_NAME.toLowerCase()}-loadbalancer-rehearsal.${REGION}.elb.amazonaws.com`;
const SHIMS_DIR = path.join(__dirname, 'shims');

export interface Host {
  hostId: string;
  group: HostGroup;
  identity: InstanceIdentity;
  container: string;
}

/** Addresses on the rehearsal network: gateway .1, databases from .5, hosts from .10. */
const FIRST_DATABASE = 5;
const FIRST_HOST = 10;

export class Deployment {
  readonly groups: HostGroup[];
  readonly hosts: Host[] = [];
  readonly databases: RunningDatabase[] = [];
  readonly secrets = new Map<string, string>();
  readonly controlPlane: ControlPlane;
  readonly dns: DnsServer;
  loadBalancer?: LoadBalancer;
  private readonly supportDir = path.join(RUN_DIR, 'support');
  private nextHostNumber = FIRST_HOST;

  /** The host and database images, once the root filesystem is imported. */
  images = { host: '', database: '' };

  constructor(
    readonly template: Template,
    readonly network: NetworkInfo,
    private readonly log: (line: string) => void,
  ) {
    this.groups = findHostGroups(template);
    this.controlPlane = new ControlPlane({
      host: network.gateway,
      s3Root: path.join(RUN_DIR, 's3'),
      secrets: this.secrets,
    });
    this.dns = new DnsServer(network.gateway, new Map([[LOAD_BALANCER_DNS, network.gateway]]));
  }

  /** Intrinsics resolve against the stand-ins' names and addresses. */
  resolveContext(): ResolveContext {
    const attributes: ResolveContext['attributes'] = {};
    const refs: Record<string, string> = {};
    for (const [id, resource] of Object.entries(this.template.Resources)) {
      if (resource.Type === 'AWS::ElasticLoadBalancingV2::LoadBalancer') {
        attributes[`${id}.DNSName`] = LOAD_BALANCER_DNS;
        attributes[`${id}.LoadBalancerFullName`] = `app/${id}/rehearsal`;
      }
      if (resource.Type === 'AWS::EC2::LaunchTemplate') {
        attributes[`${id}.LatestVersionNumber`] = '1';
        attributes[`${id}.DefaultVersionNumber`] = '1';
      }
      if (resource.Type === 'AWS::EC2::SecurityGroup')
        attributes[`${id}.GroupId`] = `sg-${id.toLowerCase().slice(0, 17)}`;
    }
    for (const db of findDatabases(this.template)) {
      attributes[`${db.logicalId}.Endpoint.Address`] = databaseEndpoint(db.logicalId);
      attributes[`${db.logicalId}.Endpoint.Port`] = '3306';
    }
    return {
      template: this.template,
      accountId: ACCOUNT_ID,
      region: REGION,
      stackName: STACK_NAME,
      refs,
      attributes,
    };
  }

  userDataOf(group: HostGroup): string {
    return renderUserData(group, this.resolveContext());
  }

  /** Image references of every host's user data, e.g. the ECR asset and a public database image. */
  pulledImages(): string[] {
    const found = new Set<string>();
    for (const group of this.groups) {
      const script = this.userDataOf(group);
      for (const match of script.matchAll(
        /\b([a-z0-9-]+(?:\.[a-z0-9-]+)+\/[a-z0-9._/-]+:[A-Za-z0-9._-]+)/g,
      )) {
        if (!match[1].startsWith('s3')) found.add(match[1]);
      }
    }
    return [...found];
  }

  async startDatabases(): Promise<void> {
    const attachments = secretAttachments(this.template);
    const resources = findDatabases(this.template);
    for (const [index, resource] of resources.entries()) {
      // Hosts reach it by its endpoint name, as they would reach RDS.
      const endpoint = databaseEndpoint(resource.logicalId);
      const address = this.network.address(FIRST_DATABASE + index);
      this.dns.records.set(endpoint, address);
      const db = await startDatabase(resource, index, address, endpoint, this.images.database);
      this.databases.push(db);
      if (resource.secretId) {
        const ctx = this.resolveContext();
        const ids = [
          resource.secretId,
          ...[...attachments].filter(([, secret]) => secret === resource.secretId).map(([id]) => id),
        ];
        for (const id of ids) this.secrets.set(String(resolve({ Ref: id }, ctx)), db.secretString);
      }
      this.log(`database stand-in for ${resource.logicalId}: ${endpoint} (${address}:3306)`);
    }
  }

  async startServices(registry: Registry): Promise<void> {
    await this.controlPlane.start();
    await this.dns.start();
    mkdirSync(this.supportDir, { recursive: true });
    for (const file of readdirSync(SHIMS_DIR))
      copyFileSync(path.join(SHIMS_DIR, file), path.join(this.supportDir, file));
    copyFileSync(registry.caFile, path.join(this.supportDir, 'registry-ca.crt'));
    const registryNames = [...new Set(this.pulledImages().map((image) => image.split('/')[0]))];
    for (const name of registryNames) this.dns.records.set(name, this.network.gateway);
    writeFileSync(
      path.join(this.supportDir, 'environment'),
      `CONTROL_HOST=${this.network.gateway}\nCONTROL_PORT=${this.controlPlane.port}\nREGISTRY_NAMES='${registryNames.join(' ')}'\n`,
    );
  }

  startLoadBalancer(port: number): LoadBalancer {
    const lb = new LoadBalancer(
      this.template,
      path.join(RUN_DIR, 'nginx'),
      [`127.0.0.1:${port}`, `${this.network.gateway}:80`],
      this.log,
    );
    this.loadBalancer = lb;
    lb.start();
    return lb;
  }

  /** Launches one host of a group: a new instance with its own id, address and disk. */
  launch(group: HostGroup, hostId: string): Host {
    const address = this.network.address(this.nextHostNumber++);
    const identity: InstanceIdentity = {
      hostId,
      logicalId: group.logicalId,
      instanceId: `i-0${randomBytes(8).toString('hex')}`,
      address,
      region: REGION,
      accountId: ACCOUNT_ID,
      availabilityZone: `${REGION}${'ab'[this.hosts.length % 2]}`,
      userData: this.userDataOf(group),
    };
    this.controlPlane.register(identity);
    const spec: HostSpec = {
      hostId,
      address,
      image: this.images.host,
      supportDir: this.supportDir,
      nodeBinary: realpathSync(process.execPath),
    };
    startHost(spec);
    const host: Host = { hostId, group, identity, container: hostContainerName(hostId) };
    this.hosts.push(host);
    for (const tg of group.targetGroups) {
      const port = targetPort(this.template, tg);
      this.loadBalancer?.register(tg, hostId, address, port);
    }
    return host;
  }

  launchAll(): Host[] {
    const launched: Host[] = [];
    for (const group of this.groups) {
      for (let i = 0; i < group.count; i++)
        launched.push(this.launch(group, i === 0 ? group.service : `${group.service}-${i + 1}`));
    }
    return launched;
  }

  /** Waits for systemd, then for the user data to finish, printing its progress lines. */
  async waitForUserData(host: Host, timeoutMs: number): Promise<number> {
    await waitForSystemd(host.hostId, 90_000);
    const giveUpAt = Date.now() + timeoutMs;
    let shown = 0;
    for (;;) {
      const lines = exec(
        host.hostId,
        'grep -a "^\\[selfieless" /var/log/cloud-init-output.log 2>/dev/null || true',
        10_000,
      )
        .stdout.split('\n')
        .filter(Boolean);
      for (const line of lines.slice(shown)) this.log(`  ${host.hostId}: ${line}`);
      shown = Math.max(shown, lines.length);
      const code = this.controlPlane.userDataExits.get(host.hostId);
      if (code !== undefined) return code;
      if (Date.now() > giveUpAt)
        throw new Error(`the user data of ${host.hostId} did not finish in ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  userDataLogTail(host: Host, lines = 25): string {
    return exec(host.hostId, `tail -n ${lines} /var/log/cloud-init-output.log`, 10_000).stdout;
  }

  /**
   * The last lines of every host's orchestrator log, for the report of a failed check: the hosts
   * are removed when the run ends, and with them the only record of what their orchestrators saw.
   */
  orchestratorLogTails(lines = 30): string {
    return this.hosts
      .map((host) => {
        const tail = exec(host.hostId, `tail -n ${lines} ${HOST_LOG_PATHS.orchestrator}`, 10_000);
        const text = tail.ok ? tail.stdout.trimEnd() : `(not readable: ${tail.stderr.trim() || 'host down'})`;
        return `--- ${host.hostId}: ${HOST_LOG_PATHS.orchestrator}\n${text}`;
      })
      .join('\n');
  }

  stop(): void {
    this.loadBalancer?.stop();
    this.dns.stop();
    void this.controlPlane.stop();
  }
}

function databaseEndpoint(logicalId: string): string {
  return `${logicalId.toLowerCase()}.rehearsal.${REGION}.rds.amazonaws.com`;
}

function targetPort(template: Template, targetGroup: string): number {
  const p = template.Resources[targetGroup]?.Properties ?? {};
  const targets = (p.Targets as { Port?: number }[] | undefined) ?? [];
  return Number(targets[0]?.Port ?? p.Port ?? 80);
}

export function readTemplate(cdkOut: string): Template {
  const manifest = JSON.parse(readFileSync(path.join(cdkOut, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; properties?: { templateFile?: string } }>;
  };
  const stacks = Object.values(manifest.artifacts).filter((a) => a.type === 'aws:cloudformation:stack');
  if (stacks.length !== 1) throw new Error(`expected one stack in ${cdkOut}, found ${stacks.length}`);
  return JSON.parse(readFileSync(path.join(cdkOut, stacks[0].properties!.templateFile!), 'utf8')) as Template;
}
