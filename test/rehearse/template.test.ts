import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ResolveContext, Template } from '../../scripts/rehearse/intrinsics';
import {
  findDatabases,
  findHostGroups,
  isoDurationSeconds,
  renderUserData,
  secretAttachments,
  serviceOfTargetGroup,
} from '../../scripts/rehearse/template';

const scaled = JSON.parse(
  readFileSync(path.join(__dirname, 'fixtures', 'auto-scaling-rds.template.json'), 'utf8'),
) as Template;

describe('hosts, databases and secrets of a synthesized template with Auto Scaling groups and RDS', () => {
  test('one host group per Auto Scaling group, sized by its desired capacity, with its CreationPolicy', () => {
    expect(findHostGroups(scaled).map((g) => [g.service, g.kind, g.count, g.creationPolicy])).toEqual([
      ['acts', 'auto-scaling-group', 2, { count: 2, timeoutSeconds: 1200 }],
      ['users', 'auto-scaling-group', 1, { count: 1, timeoutSeconds: 1200 }],
    ]);
  });

  test('the database, its generated secret, master user and parameter group', () => {
    const [db] = findDatabases(scaled);
    expect(db.type).toBe('AWS::RDS::DBInstance');
    expect(db.secretId).toMatch(/DatabaseSecret/);
    expect(db.username).toBe('selfieless');
    expect(db.parameters.max_allowed_packet).toBe('67108864');
    expect([...secretAttachments(scaled).values()]).toEqual([db.secretId]);
  });

  test('the launch template user data resolves to a script naming the secret, the stack and the group', () => {
    const acts = findHostGroups(scaled).find((g) => g.service === 'acts')!;
    const ctx: ResolveContext = {
      template: scaled,
      accountId: '123456789012',
      region: 'us-east-1',
      stackName: 'SelfieLessActs',
      attributes: { 'LoadBalancerBE9EEC3A.DNSName': 'lb.rehearsal' },
    };
    const script = renderUserData(acts, ctx);
    expect(script).toMatch(/arn:aws:secretsmanager:us-east-1:123456789012:secret:DatabaseSecretAttachment/);
    expect(script).toContain(acts.logicalId);
    expect(script).not.toMatch(/Fn::|"Ref"/);
  });
});

describe('template helpers', () => {
  test.each([
    ['PT20M', 1200],
    ['PT1H30S', 3630],
    ['PT45S', 45],
  ])('%s is %i seconds', (text, seconds) => {
    expect(isoDurationSeconds(text)).toBe(seconds);
  });

  test.each([
    ['UsersTargetsD9D052DD', 'users'],
    ['ActsTargets5A258AB5', 'acts'],
    ['ApiTargetGroup', 'api'],
  ])('target group %s serves %s', (logicalId, service) => {
    expect(serviceOfTargetGroup(logicalId)).toBe(service);
  });
});
