import type * as TopologyModule from '../../common/topology';
import type { PoolConfigFile } from '../../common/orchestrator-config';

type Topology = typeof TopologyModule;

/**
 * Every consumer that renders an orchestrator configuration from the topology, each reading
 * the modules afresh so a changed topology reaches it. One line per consumer.
 */
const CONSUMERS: Array<[string, () => PoolConfigFile[]]> = [
  [
    'npm start',
    () => {
      /* eslint-disable @typescript-eslint/no-require-imports -- re-read under the changed topology */
      const { parseStartArgs } =
        require('../../scripts/start/cli') as typeof import('../../scripts/start/cli');
      const { startConfigFile } =
        require('../../scripts/start/preset') as typeof import('../../scripts/start/preset');
      /* eslint-enable @typescript-eslint/no-require-imports */
      return startConfigFile(parseStartArgs(['--runtime', 'docker'])!, undefined).pools;
    },
  ],
  [
    'CDK user data of an acts host',
    () => {
      /* eslint-disable @typescript-eslint/no-require-imports -- re-read under the changed topology */
      const { orchestratorConfig } = require('../../lib/user-data') as typeof import('../../lib/user-data');
      const { replicaBudget } =
        require('../../lib/host-capacity') as typeof import('../../lib/host-capacity');
      /* eslint-enable @typescript-eslint/no-require-imports */
      return orchestratorConfig({
        service: 'acts',
        region: 'eu-west-1',
        stackName: 'SelfieLessActs',
        signalResource: 'ActsHostsGroup',
        imageUri: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/acts:tag',
        orchestratorBundleUrl: 's3://bucket/bundle.zip',
        usersUrl: 'http://lb.example',
        serveWebUi: true,
        systemdUnit: '',
        maxReplicas: replicaBudget('t3.small', 'rds').maxReplicas,
        database: { kind: 'rds', secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db' },
      }).pools;
    },
  ],
];

/** Renders every consumer's pools with the topology changed as `change` says. */
function poolsWith(change: (actual: Topology) => object): Array<[string, PoolConfigFile[]]> {
  let rendered: Array<[string, PoolConfigFile[]]> = [];
  jest.isolateModules(() => {
    const actual = jest.requireActual<Topology>('../../common/topology');
    jest.doMock('../../common/topology', () => change(actual));
    rendered = CONSUMERS.map(([name, render]) => [name, render()]);
  });
  jest.dontMock('../../common/topology');
  return rendered;
}

describe('the topology is the one place the system is described', () => {
  test('a changed first port and internal port of acts is what every consumer configures', () => {
    const rendered = poolsWith((actual) => ({
      ...actual,
      SERVICES: {
        ...actual.SERVICES,
        acts: { ...actual.SERVICES.acts, firstPort: 18000, internalPort: 18080 },
      },
    }));
    for (const [, pools] of rendered) {
      expect(pools.find((p) => p.name === 'acts')).toMatchObject({ firstPort: 18000, internalPort: 18080 });
    }
  });

  test('a changed replica limit is every pool’s maximum', () => {
    const rendered = poolsWith((actual) => ({ ...actual, REPLICA_LIMITS: { min: 1, max: 4 } }));
    for (const [, pools] of rendered) {
      expect(pools.map((p) => p.maxReplicas)).toEqual(pools.map(() => 4));
    }
  });

  test('a new service is one more entry, and npm start runs a pool of it', () => {
    const [[, pools]] = poolsWith((actual) => ({
      ...actual,
      SERVICES: {
        ...actual.SERVICES,
        comments: {
          firstPort: 8200,
          internalPort: 8200,
          image: 'comments:latest',
          pathPrefixes: ['/api/v1/comments'],
          database: 'comments',
          entryPoint: 'services/comments/main.ts',
        },
      },
      SERVICE_NAMES: [...actual.SERVICE_NAMES, 'comments'],
    })) as [[string, PoolConfigFile[]]];
    expect(pools.find((p) => p.name === 'comments')).toMatchObject({
      image: 'comments:latest',
      firstPort: 8200,
      internalPort: 8200,
      pathPrefixes: ['/api/v1/comments'],
      env: { DATABASE_URL: 'sqlite:/data/comments.db' },
    });
  });

  test('the unchanged topology gives npm start the ports it has always used', () => {
    const [[, pools]] = poolsWith((actual) => actual) as [[string, PoolConfigFile[]]];
    expect(pools.map((p) => [p.name, p.firstPort, p.internalPort, p.image])).toEqual([
      ['users', 8100, 8100, 'users:latest'],
      ['acts', 8000, 8000, 'acts:latest'],
    ]);
  });
});
