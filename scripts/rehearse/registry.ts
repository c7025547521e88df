/**
 * Image registries the hosts pull from under the names the template gives (ECR, public ECR):
 * Debian's docker-registry twice over one storage folder, with TLS on the rehearsal network's
 * gateway (a throwaway CA the hosts trust, a certificate for every registry name) and plain
 * HTTP on loopback, where this machine's engine pushes (loopback is insecure-by-default, so
 * the engine's own configuration stays untouched).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { endOwnedProcess, must, waitFor } from './process';

export interface RegistryOptions {
  /** Certificates, configuration and logs of this run. */
  dir: string;
  /** Blobs; kept between runs, so an unchanged image (the database stand-in) pushes in a moment. */
  storage: string;
  gateway: string;
  /** Every registry host name the hosts pull from. */
  names: string[];
  plainPort: number;
}

export class Registry {
  private readonly processes: ChildProcess[] = [];
  readonly caFile: string;

  constructor(private readonly options: RegistryOptions) {
    this.caFile = path.join(options.dir, 'ca.crt');
  }

  /** Where this machine's engine pushes. */
  get pushPrefix(): string {
    return `127.0.0.1:${this.options.plainPort}`;
  }

  private makeCertificates(): { cert: string; key: string } {
    const dir = this.options.dir;
    mkdirSync(dir, { recursive: true });
    const caKey = path.join(dir, 'ca.key');
    const key = path.join(dir, 'registry.key');
    const csr = path.join(dir, 'registry.csr');
    const cert = path.join(dir, 'registry.crt');
    const ext = path.join(dir, 'registry.ext');
    must('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=SelfieLessActs rehearsal CA',
      '-keyout',
      caKey,
      '-out',
      this.caFile,
    ]);
    must('openssl', [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${this.options.names[0]}`,
      '-keyout',
      key,
      '-out',
      csr,
    ]);
    const alt = [...this.options.names.map((n) => `DNS:${n}`), `IP:${this.options.gateway}`].join(',');
    writeFileSync(ext, `subjectAltName=${alt}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
    must('openssl', [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      this.caFile,
      '-CAkey',
      caKey,
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      ext,
      '-out',
      cert,
    ]);
    return { cert, key };
  }

  private config(name: string, addr: string, tls?: { cert: string; key: string }): string {
    const file = path.join(this.options.dir, `${name}.yml`);
    writeFileSync(
      file,
      [
        'version: 0.1',
        'log: { level: warn }',
        `storage: { filesystem: { rootdirectory: ${this.options.storage} }, delete: { enabled: true } }`,
        'http:',
        `  addr: ${addr}`,
        ...(tls ? ['  tls:', `    certificate: ${tls.cert}`, `    key: ${tls.key}`] : []),
        '',
      ].join('\n'),
    );
    return file;
  }

  async start(): Promise<void> {
    const tls = this.makeCertificates();
    const configs = [
      this.config('plain', `127.0.0.1:${this.options.plainPort}`),
      this.config('tls', `${this.options.gateway}:443`, tls),
    ];
    for (const config of configs) {
      const out = openSync(`${config}.log`, 'a');
      const child = spawn('docker-registry', ['serve', config], {
        stdio: ['ignore', out, out],
        detached: false,
      });
      this.processes.push(child);
    }
    await waitFor(
      'the local registry',
      () =>
        new Promise<true | undefined>((resolve) => {
          const req = http.get(
            { host: '127.0.0.1', port: this.options.plainPort, path: '/v2/', timeout: 1000 },
            (res) => {
              res.resume();
              resolve(res.statusCode === 200 ? true : undefined);
            },
          );
          req.on('error', () => resolve(undefined));
          req.on('timeout', () => req.destroy());
        }),
      20_000,
      250,
    );
  }

  stop(): void {
    for (const child of this.processes) if (child.exitCode === null) child.kill('SIGTERM');
    this.processes.length = 0;
  }

  /** Ends the registries a run left behind (its process was killed before it could). */
  static stopLeftovers(dir: string): void {
    for (const name of ['plain', 'tls'])
      endOwnedProcess(path.join(dir, `${name}.yml.pid`), path.join(dir, `${name}.yml`));
  }

  /** Pushes a local image so hosts can pull it as `<name>` (`registry/repo:tag`). */
  push(localImage: string, name: string): void {
    const slash = name.indexOf('/');
    const target = `${this.pushPrefix}/${name.slice(slash + 1)}`;
    must('docker', ['tag', localImage, target]);
    must('docker', ['push', target], { timeoutMs: 10 * 60_000 });
    must('docker', ['rmi', target]);
  }
}
