/**
 * The stack's Application Load Balancer as nginx configuration: listener rules in priority
 * order, their path patterns, the default action, and each target group's healthy targets.
 * Pure: a rule the template gets wrong becomes a wrong route here.
 */
import type { Json, Template } from './intrinsics';

export interface Target {
  address: string;
  port: number;
  /** In rotation per the target group's health check (and not draining). */
  inService: boolean;
}

export interface LoadBalancerView {
  /** Target group logical id → its registered targets. */
  targets: Record<string, Target[]>;
  /** nginx `listen` values, e.g. `127.0.0.1:8089`. */
  listen: string[];
  /** Folder for nginx's pid, logs and temporary files. */
  runDir: string;
}

export interface Route {
  priority: number;
  /** ALB path patterns (any of them matches); empty for the default action. */
  pathPatterns: string[];
  action: { kind: 'forward'; targetGroup: string } | { kind: 'fixed-response'; status: number; body: string };
}

/** Thrown for listener features the rehearsal does not translate. */
export class UnsupportedListenerError extends Error {}

type Resource = Template['Resources'][string];

function refOf(value: Json | undefined): string | undefined {
  if (value && typeof value === 'object' && !Array.isArray(value) && typeof value.Ref === 'string')
    return value.Ref;
  return undefined;
}

function actionOf(actions: Json | undefined, where: string): Route['action'] {
  const list = (actions as Record<string, Json>[] | undefined) ?? [];
  if (list.length !== 1)
    throw new UnsupportedListenerError(`${where}: ${list.length} actions (one is rehearsed)`);
  const action = list[0];
  if (action.Type === 'forward') {
    const direct = refOf(action.TargetGroupArn);
    const weighted =
      ((action.ForwardConfig as Record<string, Json> | undefined)?.TargetGroups as
        Record<string, Json>[] | undefined) ?? [];
    const targetGroup = direct ?? (weighted.length === 1 ? refOf(weighted[0].TargetGroupArn) : undefined);
    if (!targetGroup)
      throw new UnsupportedListenerError(`${where}: forward to several target groups is not rehearsed`);
    return { kind: 'forward', targetGroup };
  }
  if (action.Type === 'fixed-response') {
    const config = (action.FixedResponseConfig ?? {}) as Record<string, Json>;
    return {
      kind: 'fixed-response',
      status: Number(config.StatusCode),
      body: String(config.MessageBody ?? ''),
    };
  }
  throw new UnsupportedListenerError(`${where}: action ${String(action.Type)} is not rehearsed`);
}

/** The plain-HTTP port-80 listener's routes, highest priority (lowest number) first, default last. */
export function listenerRoutes(template: Template): Route[] {
  const resources = Object.entries(template.Resources);
  const listeners = resources.filter(
    ([, r]) => r.Type === 'AWS::ElasticLoadBalancingV2::Listener' && (r.Properties?.Port ?? 0) === 80,
  );
  if (listeners.length !== 1)
    throw new UnsupportedListenerError(`expected one port-80 listener, found ${listeners.length}`);
  const [listenerId, listener] = listeners[0] as [string, Resource];
  if (listener.Properties?.Protocol !== 'HTTP')
    throw new UnsupportedListenerError('the port-80 listener is not HTTP');
  const routes: Route[] = [];
  for (const [id, rule] of resources) {
    if (rule.Type !== 'AWS::ElasticLoadBalancingV2::ListenerRule') continue;
    if (refOf(rule.Properties?.ListenerArn) !== listenerId) continue;
    const pathPatterns: string[] = [];
    for (const condition of (rule.Properties?.Conditions as Record<string, Json>[] | undefined) ?? []) {
      if (condition.Field !== 'path-pattern') {
        throw new UnsupportedListenerError(`${id}: condition ${String(condition.Field)} is not rehearsed`);
      }
      const values = ((condition.PathPatternConfig as Record<string, Json> | undefined)?.Values ??
        condition.Values) as string[];
      pathPatterns.push(...values);
    }
    if (pathPatterns.length === 0)
      throw new UnsupportedListenerError(`${id}: a rule without a path pattern is not rehearsed`);
    routes.push({
      priority: Number(rule.Properties?.Priority),
      pathPatterns,
      action: actionOf(rule.Properties?.Actions, id),
    });
  }
  routes.sort((a, b) => a.priority - b.priority);
  routes.push({
    priority: Infinity,
    pathPatterns: [],
    action: actionOf(listener.Properties?.DefaultActions, listenerId),
  });
  return routes;
}

/** An ALB path pattern (case-sensitive; `*` any run of characters, `?` one) as an anchored regex. */
export function pathPatternRegex(pattern: string): string {
  const body = [...pattern]
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : /[\\^$.|+()[\]{}]/.test(ch) ? `\\${ch}` : ch))
    .join('');
  return `^${body}$`;
}

function upstreamName(targetGroup: string): string {
  return `tg_${targetGroup.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** Targets the balancer sends to: those in service, or all registered ones when none is (ALB fails open). */
export function routableTargets(targets: Target[]): Target[] {
  const inService = targets.filter((t) => t.inService);
  return inService.length > 0 ? inService : targets;
}

export function renderNginxConfig(template: Template, view: LoadBalancerView): string {
  const routes = listenerRoutes(template);
  const used = [
    ...new Set(routes.flatMap((r) => (r.action.kind === 'forward' ? [r.action.targetGroup] : []))),
  ];
  const upstreams = used.flatMap((tg) => {
    const targets = routableTargets(view.targets[tg] ?? []);
    if (targets.length === 0) return [];
    return [
      `  upstream ${upstreamName(tg)} {`,
      ...targets.map((t) => `    server ${t.address}:${t.port};`),
      '    keepalive 32;',
      '  }',
    ];
  });
  const body = (route: Route): string[] => {
    if (route.action.kind === 'fixed-response') {
      return [`      return ${route.action.status} ${JSON.stringify(route.action.body)};`];
    }
    // No registered target: the ALB answers 503 itself.
    if (routableTargets(view.targets[route.action.targetGroup] ?? []).length === 0)
      return ['      return 503;'];
    return [`      proxy_pass http://${upstreamName(route.action.targetGroup)};`];
  };
  const locations = routes.flatMap((route) => {
    if (route.pathPatterns.length === 0)
      return ['    # default action', '    location / {', ...body(route), '    }'];
    const regex = route.pathPatterns.map((p) => pathPatternRegex(p).slice(1, -1)).join('|');
    return [
      `    # rule priority ${route.priority}: path-pattern ${route.pathPatterns.join(', ')}`,
      `    location ~ "^(${regex})$" {`,
      ...body(route),
      '    }',
    ];
  });
  const run = view.runDir;
  return [
    '# Generated from the synthesized template by scripts/rehearse/nginx-config.ts; do not edit.',
    'worker_processes 1;',
    `pid ${run}/nginx.pid;`,
    `error_log ${run}/nginx-error.log warn;`,
    'events { worker_connections 1024; }',
    'http {',
    `  access_log ${run}/nginx-access.log;`,
    `  client_body_temp_path ${run}/client_body;`,
    `  proxy_temp_path ${run}/proxy;`,
    `  fastcgi_temp_path ${run}/fastcgi;`,
    `  uwsgi_temp_path ${run}/uwsgi;`,
    `  scgi_temp_path ${run}/scgi;`,
    // The ALB sets no body limit of its own, keeps idle connections 60 s, and never retries a request.
    '  client_max_body_size 0;',
    '  proxy_http_version 1.1;',
    '  proxy_set_header Connection "";',
    '  proxy_set_header Host $http_host;',
    '  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '  proxy_set_header X-Forwarded-Proto $scheme;',
    '  proxy_set_header X-Forwarded-Port $server_port;',
    '  proxy_read_timeout 60s;',
    '  proxy_next_upstream off;',
    '  proxy_buffering off;',
    ...upstreams,
    '  server {',
    ...view.listen.map((l) => `    listen ${l};`),
    ...locations,
    '  }',
    '}',
    '',
  ].join('\n');
}
