import { parseActTimestamp } from '../../../services/acts/timestamp';

describe('parseActTimestamp', () => {
  test('reads DD-MM-YYYY:SS-MM-HH (seconds-minutes-hours)', () => {
    expect(parseActTimestamp('10-10-2019:45-23-03')).toBe(Date.UTC(2019, 9, 10, 3, 23, 45) / 1000);
    expect(parseActTimestamp('01-01-1970:00-00-00')).toBe(0);
    expect(parseActTimestamp('31-12-1969:59-59-23')).toBe(-1);
  });

  test.each([
    ['29-02-2020:00-00-00', true],
    ['29-02-2000:00-00-00', true],
    ['29-02-1900:00-00-00', false],
    ['29-02-2019:00-00-00', false],
    ['31-04-2019:00-00-00', false],
    ['30-04-2019:00-00-00', true],
    ['31-12-9999:59-59-23', true],
    ['01-01-0001:00-00-00', true],
    ['01-01-0000:00-00-00', false],
    ['00-01-2019:00-00-00', false],
    ['01-00-2019:00-00-00', false],
    ['01-13-2019:00-00-00', false],
    ['01-01-2019:60-00-00', false],
    ['01-01-2019:00-60-00', false],
    ['01-01-2019:00-00-24', false],
    ['1-01-2019:00-00-00', false],
    ['01-01-19:00-00-00', false],
    ['01-01-2019 00-00-00', false],
    ['01/01/2019:00-00-00', false],
    ['01-01-2019:00-00-00 ', false],
    ['', false],
    ['01-01-2019:0a-00-00', false],
    ['１0-10-2019:45-23-03', false],
  ])('%s is a real date-time: %s', (text, valid) => {
    expect(parseActTimestamp(text) !== undefined).toBe(valid);
  });

  test('orders by date-time where the text order disagrees', () => {
    const sorted = [
      '02-01-2018:00-00-00',
      '31-12-2018:59-59-23',
      '01-01-2019:00-00-00',
      '01-01-2019:01-00-00',
    ];
    const keys = sorted.map((t) => parseActTimestamp(t)!);
    expect([...keys].sort((a, b) => a - b)).toEqual(keys);
  });
});
