/**
 * What only AWS has, answered over HTTP on the rehearsal network's gateway: instance metadata
 * with IMDSv2 tokens (reached through each host's own 169.254.169.254 redirect), the ECR login
 * password, S3 objects of the published file assets, Secrets Manager values, and cfn-signal.
 * A host is known by its source address, as EC2 knows an instance by its interface.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface InstanceIdentity {
  /** Rehearsal host id, e.g. `acts`. */
  hostId: string;
  /** The template's logical id of the instance or Auto Scaling group. */
  logicalId: string;
  instanceId: string;
  address: string;
  region: string;
  accountId: string;
  availabilityZone: string;
  userData: string;
}

export interface Signal {
  stack: string;
  resource: string;
  exitCode: number;
  reason: string;
  from: string;
  at: number;
}

export interface ControlPlaneOptions {
  host: string;
  /** Folder laid out as `<bucket>/<key>`. */
  s3Root: string;
  secrets: Map<string, string>;
}

export class ControlPlane {
  readonly signals: Signal[] = [];
  readonly userDataExits = new Map<string, number>();
  private readonly instances = new Map<string, InstanceIdentity>();
  private readonly tokens = new Map<string, number>();
  private readonly ecrPassword = randomBytes(24).toString('base64url');
  private server?: http.Server;
  port = 0;

  constructor(private readonly options: ControlPlaneOptions) {}

  register(instance: InstanceIdentity): void {
    this.instances.set(instance.address, instance);
  }

  instanceAt(address: string): InstanceIdentity | undefined {
    return this.instances.get(address);
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.options.host, () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const from = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const url = new URL(req.url ?? '/', 'http://control');
    const reply = (status: number, body: string, type = 'text/plain') => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    const instance = this.instances.get(from);
    if (!instance) return reply(403, `unknown instance ${from}`);

    if (url.pathname.startsWith('/latest/')) return this.metadata(req, url, instance, reply);
    if (url.pathname === '/ecr/login-password') return reply(200, this.ecrPassword);
    if (url.pathname.startsWith('/s3/')) return this.s3Object(url.pathname.slice(4), res, reply);
    if (url.pathname === '/secretsmanager/secret') {
      const id = url.searchParams.get('id') ?? '';
      const value = this.options.secrets.get(id);
      if (value === undefined) return reply(400, `ResourceNotFoundException: ${id}`);
      return reply(200, JSON.stringify({ ARN: id, Name: id, SecretString: value }), 'application/json');
    }
    if (
      req.method === 'POST' &&
      (url.pathname === '/cloudformation/signal' || url.pathname.startsWith('/rehearsal/'))
    ) {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        if (url.pathname === '/cloudformation/signal') {
          const form = new URLSearchParams(body);
          this.signals.push({
            stack: form.get('stack') ?? '',
            resource: form.get('resource') ?? '',
            exitCode: Number(form.get('exitCode') ?? '1'),
            reason: form.get('reason') ?? '',
            from: instance.hostId,
            at: Date.now(),
          });
        } else {
          this.userDataExits.set(instance.hostId, Number(url.searchParams.get('code')));
        }
        reply(200, 'ok');
      });
      return;
    }
    reply(404, 'not found');
  }

  private metadata(
    req: http.IncomingMessage,
    url: URL,
    instance: InstanceIdentity,
    reply: (status: number, body: string, type?: string) => void,
  ): void {
    if (url.pathname === '/latest/api/token') {
      if (req.method !== 'PUT') return reply(405, 'token requests are PUT');
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return reply(400, 'bad token TTL');
      const token = randomBytes(24).toString('base64url');
      this.tokens.set(token, Date.now() + ttl * 1000);
      return reply(200, token);
    }
    // IMDSv2 only (HttpTokens: required): no token, no answer.
    const token = String(req.headers['x-aws-ec2-metadata-token'] ?? '');
    const expires = this.tokens.get(token);
    if (expires === undefined || expires < Date.now()) return reply(401, 'Unauthorized');
    const values: Record<string, string> = {
      '/latest/user-data': instance.userData,
      '/latest/meta-data/instance-id': instance.instanceId,
      '/latest/meta-data/public-ipv4': instance.address,
      '/latest/meta-data/local-ipv4': instance.address,
      '/latest/meta-data/placement/region': instance.region,
      '/latest/meta-data/placement/availability-zone': instance.availabilityZone,
      '/latest/meta-data/instance-type': 't3.micro',
      '/latest/dynamic/instance-identity/document': JSON.stringify({
        accountId: instance.accountId,
        instanceId: instance.instanceId,
        region: instance.region,
        availabilityZone: instance.availabilityZone,
        privateIp: instance.address,
      }),
    };
    const value = values[url.pathname];
    if (value === undefined) return reply(404, 'Not Found');
    reply(200, value);
  }

  private s3Object(
    objectPath: string,
    res: http.ServerResponse,
    reply: (status: number, body: string) => void,
  ): void {
    const file = path.resolve(this.options.s3Root, decodeURIComponent(objectPath));
    if (!file.startsWith(path.resolve(this.options.s3Root) + path.sep) || !existsSync(file)) {
      return reply(404, 'NoSuchKey');
    }
    res.writeHead(200, { 'content-length': statSync(file).size, 'content-type': 'application/octet-stream' });
    createReadStream(file).pipe(res);
  }
}
