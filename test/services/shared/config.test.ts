import { parseActsConfig, parseUsersConfig } from '../../../services/shared/config';
import { parseDatabaseUrl } from '../../../services/shared/database-url';

describe('parseDatabaseUrl', () => {
  test.each([
    ['sqlite:./data/acts.db', { kind: 'sqlite', path: './data/acts.db' }],
    ['sqlite:/var/lib/acts.db', { kind: 'sqlite', path: '/var/lib/acts.db' }],
    ['sqlite:///var/lib/acts.db', { kind: 'sqlite', path: '/var/lib/acts.db' }],
    [
      'mysql://root@127.0.0.1:3306/acts',
      { kind: 'mysql', host: '127.0.0.1', port: 3306, user: 'root', password: '', database: 'acts' },
    ],
    [
      'mysql://u:p%40ss@db/users_1',
      { kind: 'mysql', host: 'db', port: 3306, user: 'u', password: 'p@ss', database: 'users_1' },
    ],
  ])('%s', (url, expected) => {
    expect(parseDatabaseUrl(url)).toEqual(expected);
  });

  test.each(['postgres://x/y', 'sqlite:', 'mysql://root@host', 'mysql://root@host/bad`name', 'acts.db'])(
    'rejects %s',
    (url) => {
      expect(() => parseDatabaseUrl(url)).toThrow(/DATABASE_URL/);
    },
  );
});

describe('service config from the environment', () => {
  test('defaults', () => {
    expect(parseActsConfig({})).toEqual({
      port: 8000,
      databaseUrl: 'sqlite:./data/acts.db',
      logLevel: 'info',
      usersUrl: 'http://127.0.0.1:8100',
      publicOrigin: 'http://localhost:8080',
    });
    expect(parseUsersConfig({}).port).toBe(8100);
  });

  test('reads every variable', () => {
    expect(
      parseActsConfig({
        PORT: '8003',
        DATABASE_URL: 'mysql://root@127.0.0.1:3306/acts',
        USERS_URL: 'http://lb/',
        PUBLIC_ORIGIN: 'http://1.2.3.4',
        LOG_LEVEL: 'debug',
      }),
    ).toEqual({
      port: 8003,
      databaseUrl: 'mysql://root@127.0.0.1:3306/acts',
      usersUrl: 'http://lb',
      publicOrigin: 'http://1.2.3.4',
      logLevel: 'debug',
    });
  });

  test.each([
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ DATABASE_URL: 'nope' }, /DATABASE_URL/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ USERS_URL: 'lb:80' }, /USERS_URL/],
  ])('names the bad variable: %p', (env, message) => {
    expect(() => parseActsConfig(env)).toThrow(message);
  });
});
