/**
 * Faults under load, on real processes and real sockets: a replica crashed with `_crash`, a
 * replica SIGKILLed, and a scale-down from 3 to 1, each while GETs and POSTs stream through
 * the front door. The proxy's retries and passive health must hide them from the clients.
 */
import { startLoad, failed, describeTally, total, type LoadTally } from '../support/load';
import { allInRotation, eventually, request, startTestOrchestrator, type TestOrchestrator } from './helpers';

jest.setTimeout(90_000);

const pidOf = (id: string | null) => Number(id!.slice(4));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function replicaOn(t: TestOrchestrator, port: number) {
  return t.pool().replicas.find((r) => r.port === port);
}

/** Waits until the port holds a replica other than `oldId`, healthy and in rotation. */
function replacedAndServing(t: TestOrchestrator, port: number, oldId: string | null) {
  return eventually(() => {
    const r = replicaOn(t, port);
    return r && r.id !== oldId && r.state === 'running' && r.inRotation && r;
  });
}

function explain(tally: LoadTally): string {
  return `GET ${describeTally(tally.GET)}; POST ${describeTally(tally.POST)}`;
}

describe('faults under load through the front door', () => {
  const running: TestOrchestrator[] = [];
  afterEach(async () => {
    for (const t of running.splice(0)) await t.stop();
  });

  test('a crashed replica and a SIGKILLed one lose no GET; at most the one POST each had in flight fails', async () => {
    const t = await startTestOrchestrator({ minReplicas: 2, maxReplicas: 2, autoscale: false });
    running.push(t);
    const [a, b] = [t.firstPort, t.firstPort + 1];
    await allInRotation(t, [a, b]);
    const load = startLoad({ port: t.orchestrator.frontDoorPort, getConnections: 8, postConnections: 1 });
    await sleep(400);

    // The crash switch goes straight to the replica's port, so only failing requests reveal it.
    const crashedId = replicaOn(t, a)!.id;
    expect((await request(a, 'POST', '/api/v1/_crash')).status).toBe(200);
    await replacedAndServing(t, a, crashedId);
    await sleep(300);

    const killedId = replicaOn(t, b)!.id;
    process.kill(pidOf(killedId), 'SIGKILL');
    await replacedAndServing(t, b, killedId);
    await sleep(300);
    const tally = await load.stop();

    expect(total(tally.GET)).toBeGreaterThan(50);
    expect({ failedGets: failed(tally.GET), tally: explain(tally) }).toMatchObject({ failedGets: 0 });
    // One POST connection: the crashed replica can answer it 500 once before leaving the
    // rotation, and the killed one can cut the one it was working on (502); nothing more.
    const postStatuses = [...tally.POST.keys()].filter((s) => s !== 200);
    expect(postStatuses.every((s) => s === 500 || s === 502)).toBe(true);
    expect(tally.POST.get(500) ?? 0).toBeLessThanOrEqual(1);
    expect(tally.POST.get(502) ?? 0).toBeLessThanOrEqual(1);
    expect(tally.POST.get(200) ?? 0).toBeGreaterThan(5);
  });

  test('a scale-down from 3 replicas to 1 under load loses no request of any method', async () => {
    // Three replicas from a first run, adopted by a second whose first window asks for one.
    const first = await startTestOrchestrator({ minReplicas: 3, maxReplicas: 3, autoscale: false });
    const ports = [first.firstPort, first.firstPort + 1, first.firstPort + 2];
    await allInRotation(first, ports);
    await first.orchestrator.stop({ teardown: false });
    const t = await startTestOrchestrator(
      { minReplicas: 1, maxReplicas: 3, autoscale: true },
      { windowSeconds: 1, requestsPerReplica: 1_000_000 },
      first.runtime,
      first.firstPort,
    );
    running.push(t);
    await allInRotation(t, ports);

    const load = startLoad({ port: t.orchestrator.frontDoorPort, getConnections: 8, postConnections: 2 });
    await eventually(() => t.pool().replicas.length === 1);
    await sleep(300);
    const tally = await load.stop();

    expect(t.pool().replicas.map((r) => r.port)).toEqual([ports[0]]);
    expect(total(tally.GET)).toBeGreaterThan(30);
    expect(total(tally.POST)).toBeGreaterThan(5);
    expect({ failed: failed(tally.GET) + failed(tally.POST), tally: explain(tally) }).toMatchObject({
      failed: 0,
    });
  });
});
