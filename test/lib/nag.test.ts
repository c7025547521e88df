import path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { populateApp } from '../../lib/app';
import { DEFAULT_SETTINGS, readSettings } from '../../lib/settings';

const REPO_ROOT = path.resolve(__dirname, '../..');

function newApp(context: Record<string, string> = {}): { app: App; stack: ReturnType<typeof populateApp> } {
  const app = new App({
    context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:disable-asset-staging': true, ...context },
  });
  const settings =
    Object.keys(context).length === 0 ? DEFAULT_SETTINGS : readSettings((k) => app.node.tryGetContext(k));
  return { app, stack: populateApp(app, settings, REPO_ROOT) };
}

/** The AwsSolutions pack with acknowledgements ignored: every finding the stack would raise. */
class AllFindings extends AwsSolutionsChecks {}
(AllFindings.prototype as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;

interface Finding {
  rule: string;
  path: string;
}

function findings(pack: AwsSolutionsChecks, scope: IConstruct): Finding[] {
  return pack
    .validateScope(scope)
    .violations.flatMap((v) =>
      v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath! })),
    );
}

/** AwsSolutions acknowledgements as written in the stack: rule id, construct path, reason. */
function acknowledgements(scope: IConstruct): (Finding & { reason: string })[] {
  return scope.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .map(([id, reason]) => ({ rule: id.replace(/^annotation::/i, ''), path: c.node.path, reason }))
      .filter((a) => a.rule.startsWith('AwsSolutions-')),
  );
}

const within = (path: string, scope: string) => path === scope || path.startsWith(`${scope}/`);

describe('AwsSolutions checks', () => {
  const { app, stack } = newApp();

  test('report nothing on the app', () => {
    expect(findings(new AwsSolutionsChecks(), app)).toEqual([]);
  });

  test('every finding is acknowledged on its own resource (or the construct holding it), never stack-wide', () => {
    const raw = findings(new AllFindings(), stack);
    expect(raw.length).toBeGreaterThan(0);
    const acks = acknowledgements(stack);
    for (const finding of raw) {
      const covering = acks.filter((a) => a.rule === finding.rule && within(finding.path, a.path));
      expect({ finding, covered: covering.length > 0 }).toEqual({ finding, covered: true });
    }
    for (const ack of acks) expect(ack.path).not.toBe(stack.node.path);
  });

  test('every acknowledgement answers a real finding and gives a reason', () => {
    const raw = findings(new AllFindings(), stack);
    for (const ack of acknowledgements(stack)) {
      const used = raw.some((f) => f.rule === ack.rule && within(f.path, ack.path));
      expect({ ack: `${ack.rule} on ${ack.path}`, used }).toEqual({
        ack: `${ack.rule} on ${ack.path}`,
        used: true,
      });
      expect(ack.reason.length).toBeGreaterThan(40);
    }
  });

  test.each([
    { actsHosts: '2-4', usersHosts: '1-2', multiAz: 'true', alarmEmail: 'ops@example.com' },
    { database: 'container', directAccessCidr: '203.0.113.7/32' },
    {
      certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0',
      domainName: 'acts.example.com',
    },
  ] as Record<string, string>[])('report nothing on a deployment with %o', (context) => {
    expect(findings(new AwsSolutionsChecks(), newApp(context).app)).toEqual([]);
  });

  test('synthesis fails on a finding nobody acknowledged', () => {
    const { app: failing, stack: extended } = newApp();
    new ec2.Vpc(extended, 'UnreviewedVpc', { natGateways: 0 });
    expect(() => failing.synth()).toThrow(/AwsSolutions-VPC7/);
  }, 120_000);
});
