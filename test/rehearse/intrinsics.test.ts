import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  IntrinsicError,
  type Json,
  resolve,
  type ResolveContext,
  type Template,
} from '../../scripts/rehearse/intrinsics';
import { findHostGroups, renderUserData } from '../../scripts/rehearse/template';

const synthesized = JSON.parse(
  readFileSync(path.join(__dirname, 'fixtures', 'two-instances.template.json'), 'utf8'),
) as Template;

const template: Template = {
  Parameters: { Ami: { Type: 'String', Default: 'ami-123' } },
  Conditions: {
    IsEast: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] },
    IsWest: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-west-2'] },
  },
  Mappings: { Sizes: { small: { type: 't3.micro' } } },
  Resources: {
    Lb: { Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer' },
    Host: { Type: 'AWS::EC2::Instance' },
    Secret: { Type: 'AWS::SecretsManager::Secret' },
  },
};

const ctx: ResolveContext = {
  template,
  accountId: '123456789012',
  region: 'us-east-1',
  stackName: 'Stack',
  attributes: { 'Lb.DNSName': 'lb.example' },
};

describe('CloudFormation intrinsics', () => {
  test.each<[string, Json, Json]>([
    ['a pseudo parameter', { Ref: 'AWS::Region' }, 'us-east-1'],
    ['the URL suffix', { Ref: 'AWS::URLSuffix' }, 'amazonaws.com'],
    ['a parameter default', { Ref: 'Ami' }, 'ami-123'],
    ['an instance ref as an instance id', { Ref: 'Host' }, 'i-host'],
    [
      'a secret ref as its ARN',
      { Ref: 'Secret' },
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:Secret-rehrsl',
    ],
    ['an attribute given by the rehearsal', { 'Fn::GetAtt': ['Lb', 'DNSName'] }, 'lb.example'],
    ['an attribute in dotted form', { 'Fn::GetAtt': 'Lb.DNSName' }, 'lb.example'],
    ['a join', { 'Fn::Join': ['-', ['a', { Ref: 'AWS::AccountId' }, 'b']] }, 'a-123456789012-b'],
    [
      'a sub with pseudo parameters',
      { 'Fn::Sub': '${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/r:t' },
      '123456789012.dkr.ecr.us-east-1.amazonaws.com/r:t',
    ],
    [
      'a sub with an attribute and a literal',
      { 'Fn::Sub': 'http://${Lb.DNSName}/${!Literal}' },
      'http://lb.example/${Literal}',
    ],
    [
      'a sub with its own variables',
      { 'Fn::Sub': ['${A}+${B}', { A: 'x', B: { Ref: 'AWS::Region' } }] },
      'x+us-east-1',
    ],
    ['base64', { 'Fn::Base64': 'hi' }, 'aGk='],
    ['select after split', { 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] }, 'b'],
    ['GetAZs', { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] }, 'us-east-1a'],
    ['a condition in If', { 'Fn::If': ['IsEast', 'east', 'elsewhere'] }, 'east'],
    ['a false condition in If', { 'Fn::If': ['IsWest', 'west', 'elsewhere'] }, 'elsewhere'],
    ['Or over conditions', { 'Fn::Or': [{ Condition: 'IsWest' }, { Condition: 'IsEast' }] }, true],
    ['NoValue drops a key', { a: 1, b: { Ref: 'AWS::NoValue' } }, { a: 1 }],
    ['NoValue drops a list item', ['x', { 'Fn::If': ['IsWest', 'y', { Ref: 'AWS::NoValue' }] }], ['x']],
    ['FindInMap', { 'Fn::FindInMap': ['Sizes', 'small', 'type'] }, 't3.micro'],
    ['plain values untouched', { Port: 80, List: ['a'] }, { Port: 80, List: ['a'] }],
  ])('evaluates %s', (_name, input, expected) => {
    expect(resolve(input, ctx)).toEqual(expected);
  });

  test.each<[string, Json, RegExp]>([
    ['a Ref to an unknown name', { Ref: 'Nope' }, /unknown name Nope/],
    [
      'an attribute the rehearsal did not give',
      { 'Fn::GetAtt': ['Host', 'PublicIp'] },
      /Host\.PublicIp has no rehearsal value/,
    ],
    ['an unsupported function', { 'Fn::ImportValue': 'x' }, /Fn::ImportValue is not supported/],
    ['a select out of range', { 'Fn::Select': [5, ['a']] }, /out of range/],
  ])('refuses %s with a clear error', (_name, input, message) => {
    expect(() => resolve(input, ctx)).toThrow(IntrinsicError);
    expect(() => resolve(input, ctx)).toThrow(message);
  });
});

describe('user data of a synthesized template', () => {
  const resolveContext: ResolveContext = {
    template: synthesized,
    accountId: '123456789012',
    region: 'eu-west-1',
    stackName: 'SelfieLessActs',
    attributes: { 'LoadBalancerBE9EEC3A.DNSName': 'lb.rehearsal' },
  };

  test('finds one host per instance, named after the target group it serves', () => {
    const groups = findHostGroups(synthesized);
    expect(groups.map((g) => [g.service, g.kind, g.count])).toEqual([
      ['acts', 'instance', 1],
      ['users', 'instance', 1],
    ]);
  });

  test('renders the acts user data with every intrinsic substituted and nothing else changed', () => {
    const acts = findHostGroups(synthesized).find((g) => g.service === 'acts')!;
    const script = renderUserData(acts, resolveContext);
    expect(script.startsWith('#!/bin/bash\n')).toBe(true);
    expect(script).toContain("REGION='eu-west-1'");
    expect(script).toMatch(
      /IMAGE_URI='123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/cdk-hnb659fds-container-assets-123456789012-eu-west-1:[0-9a-f]{64}'/,
    );
    expect(script).toMatch(
      /BUNDLE_URL='s3:\/\/cdk-hnb659fds-assets-123456789012-eu-west-1\/[0-9a-f]{64}\.zip'/,
    );
    expect(script).toContain("LB_DNS='lb.rehearsal'");
    expect(script).not.toMatch(/Fn::|"Ref"/);
  });
});
