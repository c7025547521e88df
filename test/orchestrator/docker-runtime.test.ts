/**
 * The Docker runtime's own decisions — names, labels, the create request, reading events —
 * and its handling of the engine's awkward answers (409s, silence, a stream that ends),
 * against a tiny in-memory engine. The real engine is exercised in runtime.docker.test.ts.
 */
import { PassThrough } from 'node:stream';
import {
  bridgeGateway,
  containerName,
  createDockerRuntime,
  createRequest,
  exitFromEvent,
  LABEL,
  parseEventLine,
  toReplicaInfo,
  type ContainerCreateRequest,
  type DockerApi,
  type DockerContainerHandle,
} from '../../orchestrator/docker-runtime';
import { silentLogger } from '../../common/log';
import type { ReplicaExit, ReplicaSpec } from '../../orchestrator/runtime';
import { waitFor } from './runtime-contract';

const spec: ReplicaSpec = {
  pool: 'acts',
  port: 8001,
  internalPort: 8000,
  image: 'acts:latest',
  env: { DATABASE_URL: 'sqlite:/data/acts.db', PORT: '1' },
  mounts: [{ source: '/srv/data', target: '/data' }],
  specHash: 'abc123',
};

describe('container names', () => {
  test('carry the pool, the port and a random suffix', () => {
    expect(containerName('acts', 8000, '0a1b2c')).toBe('acts-8000-0a1b2c');
    expect(containerName('users', 8100)).toMatch(/^users-8100-[0-9a-f]{6}$/);
  });

  test('differ on every start, so a new replica never clashes with one being removed', () => {
    const names = new Set(Array.from({ length: 50 }, () => containerName('acts', 8000)));
    expect(names.size).toBe(50);
  });

  test('of a users replica never contain "acts"', () => {
    for (let i = 0; i < 200; i++) expect(containerName('users', 8100)).not.toMatch(/acts/);
  });

  test('keep only characters Docker accepts', () => {
    expect(containerName('my pool/1', 9000, 'ffffff')).toBe('my-pool-1-9000-ffffff');
  });
});

describe('the create request', () => {
  const request = createRequest(spec, spec.env, 'orchestrator', '0.0.0.0', 'acts-8001-aaaaaa');

  test('publishes the internal port on the replica host port of the publish host, as a string', () => {
    expect(request.ExposedPorts).toEqual({ '8000/tcp': {} });
    expect(request.HostConfig.PortBindings).toEqual({
      '8000/tcp': [{ HostIp: '0.0.0.0', HostPort: '8001' }],
    });
  });

  test('sets PORT to the internal port over anything the pool says', () => {
    expect(request.Env).toContain('PORT=8000');
    expect(request.Env.filter((e) => e.startsWith('PORT='))).toHaveLength(1);
    expect(request.Env).toContain('DATABASE_URL=sqlite:/data/acts.db');
  });

  test('labels owner, pool, port and spec hash', () => {
    expect(request.Labels).toEqual({
      [LABEL.owner]: 'orchestrator',
      [LABEL.pool]: 'acts',
      [LABEL.port]: '8001',
      [LABEL.spec]: 'abc123',
    });
  });

  test("turns Docker's own restart policy off and mounts the pool's directories", () => {
    expect(request.HostConfig.RestartPolicy).toEqual({ Name: 'no' });
    expect(request.HostConfig.Binds).toEqual(['/srv/data:/data']);
  });

  test('refuses a spec without an image', () => {
    expect(() => createRequest({ ...spec, image: undefined }, {}, 'o', '127.0.0.1')).toThrow(
      /needs an image/,
    );
  });
});

describe('the bridge gateway containers reach the host on', () => {
  test.each([
    [
      'the configured gateway',
      [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.9' }],
      ['172.17.0.1'],
      '172.17.0.9',
    ],
    [
      'the host address inside the subnet',
      [{ Subnet: '172.17.0.0/16' }],
      ['10.0.0.5', '172.17.0.1'],
      '172.17.0.1',
    ],
    ['a /24 subnet', [{ Subnet: '192.168.200.0/24' }], ['192.168.201.1', '192.168.200.1'], '192.168.200.1'],
    [
      "the subnet's first address while the bridge interface is down",
      [{ Subnet: '172.17.0.0/16' }],
      ['10.0.0.5'],
      '172.17.0.1',
    ],
    ['nothing for an IPv6-only network', [{ Subnet: 'fd00::/64' }], ['172.17.0.1'], undefined],
  ])('is %s', (_, configs, addresses, expected) => {
    expect(bridgeGateway(configs, addresses)).toBe(expected);
  });
});

describe('listed containers', () => {
  const labels = { [LABEL.owner]: 'me', [LABEL.pool]: 'acts', [LABEL.port]: '8002', [LABEL.spec]: 'h1' };

  test.each([
    ['running', true],
    ['exited', false],
    ['created', false],
  ])('a %s container is a replica with running=%s', (State, running) => {
    expect(toReplicaInfo({ Id: 'c1', Labels: labels, State }, 'me')).toEqual({
      id: 'c1',
      pool: 'acts',
      port: 8002,
      specHash: 'h1',
      running,
    });
  });

  test.each([
    ['another owner', { ...labels, [LABEL.owner]: 'someone-else' }],
    ['no pool', { ...labels, [LABEL.pool]: '' }],
    ['a malformed port', { ...labels, [LABEL.port]: 'eighty' }],
    ['no labels', undefined],
  ])('a container with %s is not ours', (_, Labels) => {
    expect(toReplicaInfo({ Id: 'c1', Labels, State: 'running' }, 'me')).toBeNull();
  });
});

describe('events', () => {
  const ours = { [LABEL.owner]: 'me', [LABEL.pool]: 'acts', [LABEL.port]: '8000' };
  const line = (action: string, attributes: Record<string, string>, id = 'c1') =>
    JSON.stringify({
      Type: 'container',
      Action: action,
      status: action,
      id,
      Actor: { ID: id, Attributes: attributes },
      timeNano: 1_700_000_000_000_000_000,
    });

  test.each([
    ['die', { exitCode: '137' }, 'killed (exit code 137)'],
    ['die', { exitCode: '1' }, 'exited with code 1'],
    ['oom', {}, 'oom'],
    ['destroy', {}, 'destroyed'],
  ])('%s %j means the replica exited: %s', (action, extra, reason) => {
    const event = parseEventLine(line(action, { ...ours, ...extra }));
    expect(event && exitFromEvent(event, 'me')).toEqual({ id: 'c1', pool: 'acts', port: 8000, reason });
  });

  test.each([
    ['a start', line('start', ours)],
    ["another owner's die", line('die', { ...ours, [LABEL.owner]: 'other', exitCode: '0' })],
  ])('%s is not an exit of ours', (_, raw) => {
    const event = parseEventLine(raw);
    expect(event && exitFromEvent(event, 'me')).toBeNull();
  });

  test.each(['', 'not json', '42', '{"Action":"die"}'])('an unreadable line %j is ignored', (raw) => {
    expect(parseEventLine(raw)).toBeNull();
  });
});

/** An in-memory engine with just the calls the runtime makes. */
class FakeEngine implements DockerApi {
  created: ContainerCreateRequest[] = [];
  removed: string[] = [];
  eventStreams: PassThrough[] = [];
  eventSince: (number | undefined)[] = [];
  createAnswers: ((opts: ContainerCreateRequest) => Promise<{ id: string }>)[] = [];
  existing = new Map<string, { Id: string; owner: string }>();

  createContainer(opts: ContainerCreateRequest): Promise<{ id: string }> {
    this.created.push(opts);
    const answer = this.createAnswers.shift();
    return answer ? answer(opts) : Promise.resolve({ id: `id-${this.created.length}` });
  }

  getContainer(idOrName: string): DockerContainerHandle {
    return {
      id: idOrName,
      start: () => Promise.resolve(),
      remove: () => {
        this.removed.push(idOrName);
        return Promise.resolve();
      },
      inspect: () => {
        const found = this.existing.get(idOrName);
        if (!found) return Promise.reject(Object.assign(new Error('no such container'), { statusCode: 404 }));
        return Promise.resolve({ Id: found.Id, Config: { Labels: { [LABEL.owner]: found.owner } } });
      },
    };
  }

  listContainers(): Promise<never[]> {
    return Promise.resolve([]);
  }

  getEvents(opts: { since?: number }): Promise<NodeJS.ReadableStream> {
    const stream = new PassThrough();
    this.eventStreams.push(stream);
    this.eventSince.push(opts.since);
    return Promise.resolve(stream);
  }

  getNetwork() {
    return {
      inspect: () =>
        Promise.resolve({ IPAM: { Config: [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }] } }),
    };
  }
}

/** A create answered 409 because a container of that name (with that owner) exists. */
const conflictWith = (engine: FakeEngine, owner: string, id: string) => (opts: ContainerCreateRequest) => {
  engine.existing.set(opts.name, { Id: id, owner });
  return Promise.reject(
    Object.assign(new Error('Conflict. The container name is already in use'), { statusCode: 409 }),
  );
};

describe('the runtime against an engine that misbehaves', () => {
  let engine: FakeEngine;
  const runtimes: { close(): Promise<void> }[] = [];
  const makeRuntime = (timeouts = {}) => {
    const runtime = createDockerRuntime({
      publishHost: '127.0.0.1',
      logger: silentLogger,
      docker: engine,
      owner: 'me',
      timeouts,
    });
    runtimes.push(runtime);
    return runtime;
  };

  beforeEach(() => {
    engine = new FakeEngine();
  });
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((r) => r.close()));
  });

  test('a name conflict with our own container removes it and starts under a new name', async () => {
    engine.createAnswers.push(conflictWith(engine, 'me', 'stale'));
    const replica = await makeRuntime().start(spec);
    expect(engine.removed).toEqual(['stale']);
    expect(engine.created).toHaveLength(2);
    expect(engine.created[1].name).not.toBe(engine.created[0].name);
    expect(replica.id).toBe('id-2');
  });

  test("a name conflict with someone else's container leaves it alone", async () => {
    engine.createAnswers.push(conflictWith(engine, 'someone-else', 'theirs'));
    const replica = await makeRuntime().start(spec);
    expect(engine.removed).toEqual([]);
    expect(replica.id).toBe('id-2');
  });

  test('an engine that never answers fails the call at its deadline', async () => {
    engine.createAnswers.push(() => new Promise(() => {}));
    await expect(makeRuntime({ create: 50 }).start(spec)).rejects.toThrow(/did not answer within 50 ms/);
  });

  test('exits split across chunks are read line by line, and each container is reported once', async () => {
    const runtime = makeRuntime();
    const exits: ReplicaExit[] = [];
    runtime.onExit((e) => exits.push(e));
    const stream = await waitFor('the events stream', async () => engine.eventStreams[0]);
    const labels = { [LABEL.owner]: 'me', [LABEL.pool]: 'acts', [LABEL.port]: '8000' };
    const die = JSON.stringify({
      Action: 'die',
      Actor: { ID: 'c9', Attributes: { ...labels, exitCode: '137' } },
      timeNano: 2e18,
    });
    const destroy = JSON.stringify({ Action: 'destroy', Actor: { ID: 'c9', Attributes: labels } });
    stream.write(die.slice(0, 20));
    stream.write(die.slice(20) + '\n' + destroy + '\n');
    await waitFor('the exit', async () => exits.length > 0);
    expect(exits).toEqual([{ id: 'c9', pool: 'acts', port: 8000, reason: 'killed (exit code 137)' }]);
  });

  test('a stream that ends is reopened from the time of the last event seen', async () => {
    makeRuntime();
    const first = await waitFor('the events stream', async () => engine.eventStreams[0]);
    first.write(
      JSON.stringify({
        Action: 'start',
        Actor: { ID: 'c1', Attributes: {} },
        timeNano: 1_800_000_000_500_000_000,
      }) + '\n',
    );
    first.end();
    await waitFor('a new events stream', async () => engine.eventStreams[1]);
    expect(engine.eventSince[1]).toBe(1_800_000_000);
  });
});
