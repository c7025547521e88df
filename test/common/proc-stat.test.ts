import { parseProcStat } from '../../common/proc-stat';

describe('parseProcStat', () => {
  test('reads the state, parent and group after the command name', () => {
    expect(parseProcStat('4242 (node) S 4200 4100 4100 0 -1 4194560 ...')).toEqual({
      state: 'S',
      parent: 4200,
      group: 4100,
    });
  });

  test('a command name with spaces and parentheses does not shift the fields', () => {
    expect(parseProcStat('77 (npm run (start) x) T 1 77 77 0 -1')).toEqual({
      state: 'T',
      parent: 1,
      group: 77,
    });
  });

  test('this process, as Linux reports it', () => {
    const { readFileSync } = jest.requireActual<typeof import('node:fs')>('node:fs');
    const own = parseProcStat(readFileSync('/proc/self/stat', 'utf8'));
    expect(own.parent).toBe(process.ppid);
    expect(own.state).toBe('R');
  });
});
