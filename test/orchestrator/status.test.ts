import { DashboardFeed } from '../../orchestrator/dashboard-feed';
import { readStatus } from '../../orchestrator/status';
import type { ReplicaStatus } from '../../orchestrator/pool';
import { twoPoolConfig } from './parts';

const replica: ReplicaStatus = {
  port: 21000,
  id: 'pid:7',
  state: 'running',
  health: 'healthy',
  inRotation: true,
  inFlight: 0,
  restarts: 0,
  failureStreak: 0,
  backoffMs: 0,
  nextAttemptAt: null,
  reason: 'healthy',
};

describe('readStatus', () => {
  test('each pool shows its limits, its window with the scaling rule, its counted requests and its replicas', () => {
    const config = twoPoolConfig();
    const pools = new Map(
      config.pools.map((pc) => [
        pc.name,
        {
          name: pc.name,
          config: pc,
          desiredReplicas: 2,
          status: () => (pc.name === 'acts' ? [replica] : []),
        },
      ]),
    );
    const windows = new Map([['acts', { snapshot: () => ({ count: 3, windowsCompleted: 1 }) }]]);
    const status = readStatus({
      startedAt: '2026-01-01T00:00:00.000Z',
      runtimeName: 'process',
      scaling: config.scaling,
      pools,
      windows,
      counted: new Map([['acts', 7]]),
      feed: new DashboardFeed(config.pools),
    });
    expect(status).toEqual({
      startedAt: '2026-01-01T00:00:00.000Z',
      now: expect.any(String),
      runtime: 'process',
      pools: [
        {
          name: 'acts',
          autoscale: true,
          minReplicas: 1,
          maxReplicas: 3,
          desiredReplicas: 2,
          window: {
            count: 3,
            windowsCompleted: 1,
            windowSeconds: 10,
            requestsPerReplica: 20,
            lastDecision: null,
          },
          countedRequests: 7,
          image: null,
          command: ['x'],
          env: {},
          replicas: [{ ...replica, startedAt: null, lastProbe: null }],
        },
        {
          name: 'users',
          autoscale: false,
          minReplicas: 2,
          maxReplicas: 2,
          desiredReplicas: 2,
          window: null,
          countedRequests: 0,
          image: null,
          command: ['x'],
          env: {},
          replicas: [],
        },
      ],
      events: [],
    });
  });
});
