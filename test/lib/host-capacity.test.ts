import {
  DATABASE_CONTAINER_MIB,
  instanceMemoryMiB,
  MEASURED_MIB,
  REPLICA_LIMIT,
  replicaBudget,
} from '../../lib/host-capacity';

describe('replicas per host', () => {
  test.each([
    ['t3.micro', 1024],
    ['t4g.small', 2048],
    ['m7g.large', 8192],
    ['c6i.xlarge', 8192],
  ])('%s has %i MiB', (type, mib) => {
    expect(instanceMemoryMiB(type)).toBe(mib);
  });

  test('an unknown type is an error that says where to add it', () => {
    expect(() => instanceMemoryMiB('x2iedn.large')).toThrow(/not known here.*lib\/host-capacity\.ts/);
  });

  test.each([
    ['t3.micro', 'rds'],
    ['t3.micro', 'container'],
    ['t3.small', 'rds'],
    ['t3.small', 'container'],
    ['t3.medium', 'rds'],
  ] as const)(
    'on %s with the database on %s, replicas at their peak never outgrow the memory',
    (type, database) => {
      const budget = replicaBudget(type, database);
      const used =
        MEASURED_MIB.system +
        MEASURED_MIB.orchestrator +
        (database === 'container' ? DATABASE_CONTAINER_MIB : 0) +
        budget.maxReplicas * MEASURED_MIB.replicaPeak;
      expect(used).toBeLessThanOrEqual(budget.memoryMiB * 0.9);
      expect(budget.maxReplicas).toBeGreaterThanOrEqual(1);
      expect(budget.maxReplicas).toBeLessThanOrEqual(REPLICA_LIMIT);
    },
  );

  test('a larger host gets more replicas, up to the orchestrator limit of 10', () => {
    const caps = ['t3.micro', 't3.small', 't3.medium', 't3.large'].map(
      (t) => replicaBudget(t, 'rds').maxReplicas,
    );
    expect([...caps].sort((a, b) => a - b)).toEqual(caps);
    expect(caps.at(-1)).toBe(REPLICA_LIMIT);
  });

  test('a host too small for one replica is refused at synth', () => {
    expect(() => replicaBudget('t3.nano', 'container')).toThrow(
      /cannot hold one replica.*choose a larger type/,
    );
  });
});
