/**
 * The stand-in for the stack's Application Load Balancer: Debian's nginx, run by the rehearsal
 * with a configuration generated from the template, plus the target groups' health checks,
 * probed here and applied by regenerating the configuration and reloading nginx.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Template } from './intrinsics';
import {
  type HealthCheckSettings,
  healthCheckSettings,
  type HealthState,
  INITIAL_HEALTH,
  matcherAccepts,
  nextHealth,
} from './health-check';
import { renderNginxConfig, type Target } from './nginx-config';
import { endOwnedProcess, must, run, sleep } from './process';

interface Registered {
  hostId: string;
  address: string;
  port: number;
  state: HealthState;
  draining: boolean;
}

export class LoadBalancer {
  private readonly groups = new Map<string, { settings: HealthCheckSettings; targets: Registered[] }>();
  private timers: NodeJS.Timeout[] = [];
  private readonly configFile: string;
  private started = false;
  /** Health transitions, for the run's log. */
  readonly events: string[] = [];

  constructor(
    private readonly template: Template,
    private readonly runDir: string,
    private readonly listen: string[],
    private readonly log: (line: string) => void,
  ) {
    this.configFile = path.join(runDir, 'nginx.conf');
    for (const [id, resource] of Object.entries(template.Resources)) {
      if (resource.Type === 'AWS::ElasticLoadBalancingV2::TargetGroup') {
        this.groups.set(id, { settings: healthCheckSettings(template, id), targets: [] });
      }
    }
  }

  targetGroups(): string[] {
    return [...this.groups.keys()];
  }

  settingsOf(targetGroup: string): HealthCheckSettings {
    return this.group(targetGroup).settings;
  }

  private group(targetGroup: string) {
    const group = this.groups.get(targetGroup);
    if (!group) throw new Error(`no target group ${targetGroup} in the template`);
    return group;
  }

  register(targetGroup: string, hostId: string, address: string, port: number): void {
    this.group(targetGroup).targets.push({ hostId, address, port, state: INITIAL_HEALTH, draining: false });
  }

  /** Takes a host out of rotation now and forgets it after the deregistration delay, as the ALB does. */
  async deregister(hostId: string): Promise<void> {
    let delay = 0;
    for (const group of this.groups.values()) {
      for (const target of group.targets) {
        if (target.hostId === hostId) {
          target.draining = true;
          delay = Math.max(delay, group.settings.deregistrationDelaySeconds);
        }
      }
    }
    this.apply();
    await sleep(delay * 1000);
    for (const group of this.groups.values())
      group.targets = group.targets.filter((t) => t.hostId !== hostId);
    this.apply();
  }

  health(hostId: string): string[] {
    return [...this.groups.values()].flatMap((g) =>
      g.targets.filter((t) => t.hostId === hostId).map((t) => t.state.health),
    );
  }

  allHealthy(): boolean {
    return [...this.groups.values()].every((g) => g.targets.every((t) => t.state.health === 'healthy'));
  }

  start(): void {
    mkdirSync(this.runDir, { recursive: true });
    this.writeConfig();
    must('nginx', ['-t', '-q', '-c', this.configFile], { timeoutMs: 10_000 });
    must('nginx', ['-c', this.configFile], { timeoutMs: 10_000 });
    this.started = true;
    for (const [id, group] of this.groups) {
      const probeAll = () => {
        for (const target of group.targets) void this.probe(id, group.settings, target);
      };
      probeAll();
      this.timers.push(setInterval(probeAll, group.settings.intervalSeconds * 1000));
    }
  }

  /** Ends the nginx a run left behind (its process was killed before it could). */
  static stopLeftover(runDir: string): void {
    endOwnedProcess(path.join(runDir, 'nginx.pid'), 'nginx', 'SIGQUIT');
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    if (!this.started) return;
    this.started = false;
    const pid = this.pid();
    if (pid) {
      try {
        process.kill(pid, 'SIGQUIT');
      } catch {
        // already gone
      }
    }
  }

  private pid(): number | undefined {
    try {
      const pid = Number(readFileSync(path.join(this.runDir, 'nginx.pid'), 'utf8').trim());
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  private async probe(targetGroup: string, settings: HealthCheckSettings, target: Registered): Promise<void> {
    const port = settings.port === 'traffic-port' ? target.port : settings.port;
    const passed = await new Promise<boolean>((resolve) => {
      const req = http.get(
        {
          host: target.address,
          port,
          path: settings.path,
          timeout: settings.timeoutSeconds * 1000,
          agent: false,
        },
        (res) => {
          res.resume();
          resolve(matcherAccepts(settings.matcher, res.statusCode ?? 0));
        },
      );
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
    });
    const before = target.state.health;
    target.state = nextHealth(target.state, passed, settings);
    if (target.state.health !== before) {
      this.events.push(
        `${new Date().toISOString()} ${targetGroup} ${target.hostId}: ${before} -> ${target.state.health}`,
      );
      this.log(`load balancer: ${target.hostId} is ${target.state.health} in ${targetGroup}`);
      this.apply();
    }
  }

  private view(): Record<string, Target[]> {
    const out: Record<string, Target[]> = {};
    for (const [id, group] of this.groups) {
      out[id] = group.targets
        .filter((t) => !t.draining)
        .map((t) => ({ address: t.address, port: t.port, inService: t.state.health === 'healthy' }));
    }
    return out;
  }

  private writeConfig(): void {
    writeFileSync(
      this.configFile,
      renderNginxConfig(this.template, { targets: this.view(), listen: this.listen, runDir: this.runDir }),
    );
  }

  /** Regenerates the configuration and reloads nginx gracefully (in-flight requests finish). */
  private apply(): void {
    if (!this.started) return;
    this.writeConfig();
    const result = run('nginx', ['-c', this.configFile, '-s', 'reload'], { timeoutMs: 10_000 });
    if (!result.ok) this.log(`load balancer: nginx reload failed: ${result.stderr.trim()}`);
  }
}
