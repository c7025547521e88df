import { planReconcile, wantedPorts } from '../../orchestrator/reconciler';

describe('planReconcile', () => {
  test.each([
    ['nothing running, one wanted', 1, [], { starts: [8000], stops: [] }],
    ['one running, one wanted', 1, [8000], { starts: [], stops: [] }],
    ['scale up takes the next ports', 3, [8000], { starts: [8001, 8002], stops: [] }],
    [
      'scale down removes the highest ports first',
      1,
      [8000, 8001, 8002],
      { starts: [], stops: [8002, 8001] },
    ],
    ['a gap is filled before new ports are used', 3, [8000, 8002], { starts: [8001], stops: [] }],
    ['a replica beyond the range goes, a hole is filled', 2, [8000, 8003], { starts: [8001], stops: [8003] }],
    ['order of the actual list does not matter', 2, [8002, 8000, 8001], { starts: [], stops: [8002] }],
    ['zero wanted removes everything, highest first', 0, [8001, 8000], { starts: [], stops: [8001, 8000] }],
  ])('%s', (_name, desired, actual, expected) => {
    expect(planReconcile(desired, actual, 8000)).toEqual(expected);
  });

  test('the wanted set is contiguous from the first port', () => {
    expect(wantedPorts(4, 8100)).toEqual([8100, 8101, 8102, 8103]);
    expect(wantedPorts(0, 8100)).toEqual([]);
  });
});
