import {
  DEFAULT_SETTINGS,
  MAX_HOSTS_PER_SERVICE,
  parseCidr,
  parseHostRange,
  readSettings,
} from '../../lib/settings';

const from = (values: Record<string, unknown>) => readSettings((key) => values[key]);

describe('deployment settings from CDK context', () => {
  test('nothing given means two hosts (one per service), RDS snapshotted on destroy, port 80 closed to all but the load balancer', () => {
    expect(from({})).toEqual(DEFAULT_SETTINGS);
    expect(DEFAULT_SETTINGS).toMatchObject({
      hosts: { users: { min: 1, max: 1 }, acts: { min: 1, max: 1 } },
      database: 'rds',
      dataRemoval: 'snapshot',
      multiAz: false,
    });
    expect(DEFAULT_SETTINGS.directAccessCidr).toBeUndefined();
  });

  test.each([
    ['203.0.113.7/32', '203.0.113.7/32'],
    ['10.0.0.0/8', '10.0.0.0/8'],
  ])('directAccessCidr %s is accepted', (raw, cidr) => {
    expect(from({ directAccessCidr: raw }).directAccessCidr).toBe(cidr);
  });

  test.each([
    ['203.0.113.7', /must be an IPv4 CIDR/],
    ['203.0.113.300/32', /must be an IPv4 CIDR/],
    ['203.0.113.7/33', /must be an IPv4 CIDR/],
    ['0.0.0.0/0', /whole internet/],
    ['203.0.113.7/24', /host bits set.*203\.0\.113\.0\/24/],
    ['2001:db8::/32', /must be an IPv4 CIDR/],
  ])('directAccessCidr %s fails with a clear error', (raw, message) => {
    expect(() => parseCidr('directAccessCidr', raw)).toThrow(message);
    expect(() => from({ directAccessCidr: raw })).toThrow(/^context "directAccessCidr"/);
  });

  test.each([
    ['1', { min: 1, max: 1 }],
    ['2-4', { min: 2, max: 4 }],
    [' 1-2 ', { min: 1, max: 2 }],
  ])('a host range %s reads as %o', (raw, range) => {
    expect(parseHostRange('actsHosts', raw)).toEqual(range);
  });

  test.each([
    ['0', /at least one host/],
    ['4-2', /maximum below its minimum/],
    [`1-${MAX_HOSTS_PER_SERVICE + 1}`, /at most 10 hosts/],
    ['two', /host count or range/],
    ['1-', /host count or range/],
  ])('a host range %s fails with a clear error', (raw, message) => {
    expect(() => from({ actsHosts: raw })).toThrow(message);
  });

  test('usersHosts and actsHosts set each service apart', () => {
    expect(from({ actsHosts: '2-4', usersHosts: '1-2' }).hosts).toEqual({
      acts: { min: 2, max: 4 },
      users: { min: 1, max: 2 },
    });
  });

  test('the on-host database allows only one host per service (each would have its own data)', () => {
    expect(from({ database: 'container' }).database).toBe('container');
    expect(() => from({ database: 'container', actsHosts: '1-2' })).toThrow(/actsHosts.*database=container/);
    expect(() => from({ database: 'dynamo' })).toThrow(/"database" must be one of rds, container/);
  });

  test('dataRemoval, multiAz, alarmEmail and HTTPS settings are validated', () => {
    expect(from({ dataRemoval: 'destroy', multiAz: 'true', alarmEmail: 'ops@example.com' })).toMatchObject({
      dataRemoval: 'destroy',
      multiAz: true,
      alarmEmail: 'ops@example.com',
    });
    expect(() => from({ dataRemoval: 'keep' })).toThrow(/dataRemoval/);
    expect(() => from({ multiAz: 'yes' })).toThrow(/multiAz/);
    expect(() => from({ alarmEmail: 'ops' })).toThrow(/alarmEmail/);
    expect(() => from({ certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc-123' })).toThrow(
      /needs the other of certificateArn and domainName/,
    );
    expect(() => from({ certificateArn: 'not-an-arn', domainName: 'a.example.com' })).toThrow(
      /certificateArn/,
    );
  });

  test('the instance type and stack name are checked before synth', () => {
    expect(() => from({ instanceType: 't3 micro' })).toThrow(/instanceType/);
    expect(() => from({ stackName: 42 })).toThrow(/stackName/);
    expect(() => from({ stackName: '42' })).toThrow(/stackName/);
    expect(() => from({ stackName: { name: 'x' } })).toThrow(/stackName/);
  });
});
