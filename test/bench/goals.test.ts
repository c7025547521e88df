import { goalLine } from '../../bench/goals';

describe('goalLine', () => {
  const atMost = { what: 'replacement', kind: 'at most', limit: 800, unit: ' ms' } as const;
  const atLeast = { what: 'replica / floor', kind: 'at least', limit: 0.6, unit: '' } as const;

  test('a goal met says so, and not why', () => {
    expect(goalLine(atMost, 640, 'unused')).toBe('goal: replacement at most 800 ms: 640 ms, met');
    expect(goalLine(atLeast, 0.6)).toBe('goal: replica / floor at least 0.60: 0.60, met');
  });

  test('a goal missed says by how much, in its unit, and why', () => {
    expect(goalLine(atMost, 1195, 'the engine takes 1,011 ms')).toBe(
      'goal: replacement at most 800 ms: 1195 ms, missed by 395 ms; the engine takes 1,011 ms',
    );
    expect(goalLine(atLeast, 0.2)).toBe('goal: replica / floor at least 0.60: 0.20, missed by 0.40');
  });
});
