import {
  describeApiTimestamp,
  describeTime,
  formatApiTimestamp,
  parseApiTimestamp,
} from '../../web/src/pure/timestamp';

describe('API timestamps (DD-MM-YYYY:SS-MM-HH)', () => {
  test('formats seconds, then minutes, then hours, from the local clock', () => {
    expect(formatApiTimestamp(new Date(2019, 9, 10, 3, 23, 45))).toBe('10-10-2019:45-23-03');
    expect(formatApiTimestamp(new Date(2024, 0, 2, 23, 5, 9))).toBe('02-01-2024:09-05-23');
  });

  test('parses the example from the API contract as 10 Oct 2019 03:23:45 local time', () => {
    expect(parseApiTimestamp('10-10-2019:45-23-03')).toEqual(new Date(2019, 9, 10, 3, 23, 45));
  });

  test('round-trips any second of a year', () => {
    for (let i = 0; i < 500; i++) {
      const date = new Date(2023, 0, 1 + ((i * 7919) % 365), i % 24, (i * 7) % 60, (i * 13) % 60);
      expect(parseApiTimestamp(formatApiTimestamp(date))).toEqual(date);
    }
  });

  test.each([
    '31-02-2019:00-00-00', // no 31 February
    '29-02-2019:00-00-00', // not a leap year
    '10-13-2019:00-00-00',
    '00-10-2019:00-00-00',
    '10-10-2019:60-00-00',
    '10-10-2019:00-60-00',
    '10-10-2019:00-00-24',
    '1-10-2019:00-00-00',
    '10-10-19:00-00-00',
    '10-10-2019 00-00-00',
    '10-10-2019:00-00-00 ',
    '',
  ])('rejects %p', (text) => {
    expect(parseApiTimestamp(text)).toBeNull();
  });

  test('accepts 29 February of a leap year and years before 100', () => {
    expect(parseApiTimestamp('29-02-2020:00-00-00')).toEqual(new Date(2020, 1, 29));
    expect(parseApiTimestamp('01-01-0050:00-00-00')?.getFullYear()).toBe(50);
  });
});

describe('describing a time for people', () => {
  const now = new Date(2024, 4, 15, 14, 30, 0);

  test('recent moments are relative', () => {
    expect(describeTime(new Date(2024, 4, 15, 14, 29, 30), now)).toBe('just now');
    expect(describeTime(new Date(2024, 4, 15, 14, 29, 0), now)).toBe('1 minute ago');
    expect(describeTime(new Date(2024, 4, 15, 14, 5, 0), now)).toBe('25 minutes ago');
  });

  test('earlier today and yesterday name the day and the clock time', () => {
    expect(describeTime(new Date(2024, 4, 15, 9, 5, 0), now, 'en-GB')).toBe('today at 09:05');
    expect(describeTime(new Date(2024, 4, 14, 21, 40, 0), now, 'en-GB')).toBe('yesterday at 21:40');
  });

  test('older times and times in the future show the date', () => {
    expect(describeTime(new Date(2019, 9, 10, 3, 23, 45), now, 'en-GB')).toBe('10 Oct 2019, 03:23');
    expect(describeTime(new Date(2024, 4, 16, 9, 0, 0), now, 'en-GB')).toBe('16 May 2024, 09:00');
  });

  test('an unreadable API timestamp is shown as it came', () => {
    expect(describeApiTimestamp('sometime', now)).toBe('sometime');
    expect(describeApiTimestamp('10-10-2019:45-23-03', now, 'en-GB')).toBe('10 Oct 2019, 03:23');
  });
});
