import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  healthCheckSettings,
  type HealthState,
  INITIAL_HEALTH,
  matcherAccepts,
  nextHealth,
} from '../../scripts/rehearse/health-check';
import type { Template } from '../../scripts/rehearse/intrinsics';

const synthesized = JSON.parse(
  readFileSync(path.join(__dirname, 'fixtures', 'two-instances.template.json'), 'utf8'),
) as Template;

describe('target group health checks', () => {
  test('reads the synthesized target group settings', () => {
    expect(healthCheckSettings(synthesized, 'ActsTargets5A258AB5')).toEqual({
      path: '/',
      port: 'traffic-port',
      intervalSeconds: 10,
      timeoutSeconds: 5,
      healthyThreshold: 2,
      unhealthyThreshold: 3,
      matcher: '200',
      deregistrationDelaySeconds: 10,
    });
  });

  test.each([
    ['200', 200, true],
    ['200', 503, false],
    ['200-299', 204, true],
    ['200,302', 302, true],
    ['200,302', 301, false],
  ])('matcher %s accepts %i: %s', (matcher, status, accepted) => {
    expect(matcherAccepts(matcher, status)).toBe(accepted);
  });

  const settings = healthCheckSettings(synthesized, 'ActsTargets5A258AB5');
  const after = (results: boolean[], from: HealthState = INITIAL_HEALTH) =>
    results.reduce((state, passed) => nextHealth(state, passed, settings), from).health;

  test.each<[string, boolean[], string]>([
    ['a new target with one pass', [true], 'initial'],
    ['a new target with two passes in a row', [true, true], 'healthy'],
    ['a new target with interrupted passes', [true, false, true], 'initial'],
    ['a healthy target after two failures', [true, true, false, false], 'healthy'],
    ['a healthy target after three failures in a row', [true, true, false, false, false], 'unhealthy'],
    ['an unhealthy target after two passes', [false, false, false, true, true], 'healthy'],
  ])('%s is %s', (_name, results, expected) => {
    expect(after(results)).toBe(expected);
  });
});
