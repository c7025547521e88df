import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Template } from '../../scripts/rehearse/intrinsics';
import {
  listenerRoutes,
  pathPatternRegex,
  renderNginxConfig,
  routableTargets,
  UnsupportedListenerError,
} from '../../scripts/rehearse/nginx-config';

const synthesized = JSON.parse(
  readFileSync(path.join(__dirname, 'fixtures', 'two-instances.template.json'), 'utf8'),
) as Template;

function listener(
  defaultTargetGroup: string,
  rules: { priority: number; patterns: string[]; targetGroup: string }[],
): Template {
  const resources: Template['Resources'] = {
    Listener: {
      Type: 'AWS::ElasticLoadBalancingV2::Listener',
      Properties: {
        Port: 80,
        Protocol: 'HTTP',
        DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: defaultTargetGroup } }],
      },
    },
  };
  rules.forEach((rule, i) => {
    resources[`Rule${i}`] = {
      Type: 'AWS::ElasticLoadBalancingV2::ListenerRule',
      Properties: {
        ListenerArn: { Ref: 'Listener' },
        Priority: rule.priority,
        Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: rule.patterns } }],
        Actions: [{ Type: 'forward', TargetGroupArn: { Ref: rule.targetGroup } }],
      },
    };
  });
  return { Resources: resources };
}

/** Which target group nginx's location order would pick for a path (regex locations in order, then `/`). */
function routeOf(template: Template, requestPath: string): string {
  for (const route of listenerRoutes(template)) {
    if (
      route.pathPatterns.length === 0 ||
      route.pathPatterns.some((p) => new RegExp(pathPatternRegex(p)).test(requestPath))
    ) {
      return route.action.kind === 'forward' ? route.action.targetGroup : `fixed ${route.action.status}`;
    }
  }
  throw new Error('no route');
}

describe('ALB path patterns as regular expressions', () => {
  test.each([
    ['/api/v1/users*', '/api/v1/users', true],
    ['/api/v1/users*', '/api/v1/users/alice', true],
    ['/api/v1/users*', '/api/v1/usersX', true],
    ['/api/v1/users*', '/api/v1/acts', false],
    ['/api/v1/users*', '/API/v1/users', false],
    ['/img?.png', '/img1.png', true],
    ['/img?.png', '/img12.png', false],
    ['/a.b', '/aXb', false],
    ['/(x)+[y]', '/(x)+[y]', true],
  ])('%s matches %s: %s', (pattern, requestPath, matches) => {
    expect(new RegExp(pathPatternRegex(pattern)).test(requestPath)).toBe(matches);
  });
});

describe('listener rules from the synthesized template', () => {
  test.each([
    ['/api/v1/users', 'UsersTargetsD9D052DD'],
    ['/api/v1/users/xyz', 'UsersTargetsD9D052DD'],
    ['/api/v1/acts', 'ActsTargets5A258AB5'],
    ['/api/v1/_count', 'ActsTargets5A258AB5'],
    ['/', 'ActsTargets5A258AB5'],
  ])('%s goes to %s', (requestPath, targetGroup) => {
    expect(routeOf(synthesized, requestPath)).toBe(targetGroup);
  });

  test('the generated config has the users rule before the default action', () => {
    const config = renderNginxConfig(synthesized, {
      targets: {
        UsersTargetsD9D052DD: [{ address: '10.1.0.11', port: 80, inService: true }],
        ActsTargets5A258AB5: [{ address: '10.1.0.10', port: 80, inService: true }],
      },
      listen: ['127.0.0.1:8480'],
      runDir: '/tmp/lb',
    });
    const rule = config.indexOf('location ~ "^(/api/v1/users.*)$"');
    const fallback = config.indexOf('location / {');
    expect(rule).toBeGreaterThan(0);
    expect(fallback).toBeGreaterThan(rule);
    expect(config).toContain('server 10.1.0.11:80;');
    expect(config).toContain('listen 127.0.0.1:8480;');
  });
});

describe('listener rules in priority order', () => {
  test('the lowest priority number wins, whatever the order in the template', () => {
    const template = listener('Default', [
      { priority: 20, patterns: ['/api/*'], targetGroup: 'Broad' },
      { priority: 5, patterns: ['/api/v1/users*'], targetGroup: 'Users' },
    ]);
    expect(routeOf(template, '/api/v1/users/a')).toBe('Users');
    expect(routeOf(template, '/api/v1/acts')).toBe('Broad');
    expect(routeOf(template, '/index.html')).toBe('Default');
  });

  test('a wrong rule in the stack shows up as a wrong route', () => {
    const template = listener('Acts', [{ priority: 10, patterns: ['/api/v1/user'], targetGroup: 'Users' }]);
    expect(routeOf(template, '/api/v1/users')).toBe('Acts');
  });

  test('a condition other than path-pattern is refused, not ignored', () => {
    const template = listener('Acts', []);
    template.Resources.Rule = {
      Type: 'AWS::ElasticLoadBalancingV2::ListenerRule',
      Properties: {
        ListenerArn: { Ref: 'Listener' },
        Priority: 1,
        Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: ['x'] } }],
        Actions: [{ Type: 'forward', TargetGroupArn: { Ref: 'Acts' } }],
      },
    };
    expect(() => listenerRoutes(template)).toThrow(UnsupportedListenerError);
  });
});

describe('targets in rotation', () => {
  test.each([
    ['healthy targets only', [true, false], ['a']],
    ['all of them when none is healthy (the ALB fails open)', [false, false], ['a', 'b']],
    ['none when none is registered', [], []],
  ])('routes to %s', (_name, health, expected) => {
    const targets = health.map((inService, i) => ({ address: 'ab'[i], port: 80, inService }));
    expect(routableTargets(targets).map((t) => t.address)).toEqual(expected);
  });

  test('a target group without targets answers 503, as the ALB does', () => {
    const config = renderNginxConfig(listener('Acts', []), {
      targets: {},
      listen: ['127.0.0.1:1'],
      runDir: '/tmp/lb',
    });
    expect(config).toMatch(/location \/ \{\n\s+return 503;/);
  });
});
