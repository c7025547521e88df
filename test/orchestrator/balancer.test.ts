import { RoundRobinBalancer } from '../../orchestrator/balancer';

function balancerWith(ports: number[], inRotation = true): RoundRobinBalancer {
  const balancer = new RoundRobinBalancer();
  for (const port of ports) {
    balancer.add(port);
    balancer.setInRotation(port, inRotation);
  }
  return balancer;
}

function picks(balancer: RoundRobinBalancer, count: number): (number | undefined)[] {
  return Array.from({ length: count }, () => balancer.next());
}

describe('RoundRobinBalancer', () => {
  test('a port joins out of rotation, so nothing is served until a probe vouches for it', () => {
    const balancer = new RoundRobinBalancer();
    balancer.add(8000);
    expect(balancer.next()).toBeUndefined();
    expect(balancer.snapshot()).toEqual([{ port: 8000, inRotation: false, inFlight: 0 }]);
  });

  test.each([
    [[8000, 8001], 6, [8000, 8001, 8000, 8001, 8000, 8001]],
    [[8000, 8001, 8002], 9, [8000, 8001, 8002, 8000, 8001, 8002, 8000, 8001, 8002]],
    [[8001, 8000], 4, [8000, 8001, 8000, 8001]],
    [[8000], 3, [8000, 8000, 8000]],
  ])('ports %j serve %i requests strictly in turn, ordered by port', (ports, count, expected) => {
    expect(picks(balancerWith(ports), count)).toEqual(expected);
  });

  test('members out of rotation are skipped without disturbing the turn of the others', () => {
    const balancer = balancerWith([8000, 8001, 8002]);
    balancer.setInRotation(8001, false);
    expect(picks(balancer, 4)).toEqual([8000, 8002, 8000, 8002]);
  });

  test('a member added mid-rotation takes its place by port and nobody is skipped or served twice in a row', () => {
    const balancer = balancerWith([8000, 8002]);
    expect(balancer.next()).toBe(8000);
    balancer.add(8001);
    balancer.setInRotation(8001, true);
    expect(picks(balancer, 6)).toEqual([8001, 8002, 8000, 8001, 8002, 8000]);
  });

  test('removing the member served last continues with the next port after it', () => {
    const balancer = balancerWith([8000, 8001, 8002]);
    expect(picks(balancer, 2)).toEqual([8000, 8001]);
    balancer.remove(8001);
    expect(picks(balancer, 3)).toEqual([8002, 8000, 8002]);
  });

  test('taking the next member out of rotation moves the turn to the one after it', () => {
    const balancer = balancerWith([8000, 8001, 8002]);
    expect(balancer.next()).toBe(8000);
    balancer.setInRotation(8001, false);
    expect(balancer.next()).toBe(8002);
    balancer.setInRotation(8001, true);
    expect(picks(balancer, 3)).toEqual([8000, 8001, 8002]);
  });

  test('with every member out of rotation there is no next port', () => {
    const balancer = balancerWith([8000, 8001], false);
    expect(balancer.next()).toBeUndefined();
  });

  test('adding a port twice keeps one member and its state', () => {
    const balancer = balancerWith([8000]);
    balancer.acquire(8000);
    balancer.add(8000);
    expect(balancer.snapshot()).toEqual([{ port: 8000, inRotation: true, inFlight: 1 }]);
  });

  test('in-flight counts go up and down per port and never below zero', () => {
    const balancer = balancerWith([8000, 8001]);
    balancer.acquire(8000);
    balancer.acquire(8000);
    balancer.acquire(8001);
    balancer.release(8000);
    balancer.release(8001);
    balancer.release(8001);
    balancer.release(9999);
    expect(balancer.snapshot()).toEqual([
      { port: 8000, inRotation: true, inFlight: 1 },
      { port: 8001, inRotation: true, inFlight: 0 },
    ]);
  });

  test('whenDrained resolves at once for an idle or unknown port', async () => {
    const balancer = balancerWith([8000]);
    await expect(balancer.whenDrained(8000)).resolves.toBeUndefined();
    await expect(balancer.whenDrained(9999)).resolves.toBeUndefined();
  });

  test('whenDrained waits for the last in-flight request to be released', async () => {
    const balancer = balancerWith([8000]);
    balancer.acquire(8000);
    balancer.acquire(8000);
    let drained = false;
    const waiting = balancer.whenDrained(8000).then(() => (drained = true));
    balancer.release(8000);
    await Promise.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    expect(drained).toBe(false);
    balancer.release(8000);
    await waiting;
    expect(drained).toBe(true);
  });

  test('removing a port releases whoever waits for it to drain', async () => {
    const balancer = balancerWith([8000]);
    balancer.acquire(8000);
    const waiting = balancer.whenDrained(8000);
    balancer.remove(8000);
    await expect(waiting).resolves.toBeUndefined();
    expect(balancer.snapshot()).toEqual([]);
  });
});
