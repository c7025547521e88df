import type { PoolConfig } from '../../orchestrator/config';
import {
  MASK,
  redactCommand,
  redactEnv,
  redactEnvValue,
  scrubFields,
  scrubSecrets,
  secretsOf,
} from '../../orchestrator/redact';

const pool = (env: Record<string, string>, command?: string[]): PoolConfig => ({
  name: 'acts',
  ...(command ? { command } : { image: 'acts:latest' }),
  firstPort: 8000,
  internalPort: 8000,
  env,
  mounts: [],
  minReplicas: 1,
  maxReplicas: 10,
  autoscale: true,
  pathPrefixes: ['/api/v1/'],
});

describe('redacting environment values', () => {
  test.each([
    [
      'mysql://root:hunter2-long@172.17.0.1:3306/selfieless_acts',
      `mysql://root:${MASK}@172.17.0.1:3306/${MASK}`,
    ],
    ['mysql://root@127.0.0.1:3306/s_acts', `mysql://root@127.0.0.1:3306/${MASK}`],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
    [
      'https://hooks.example.com/services/T000/B000/XXXX?token=abc',
      `https://hooks.example.com/${MASK}?${MASK}`,
    ],
    ['sqlite:/srv/data/acts.db', `sqlite:${MASK}`],
    ['production', MASK],
    ['', MASK],
    ['p@ss:word//x', MASK],
  ])('%s is shown as %s', (value, shown) => {
    expect(redactEnvValue(value)).toBe(shown);
  });

  test('every value of an environment is redacted, the names stay', () => {
    expect(redactEnv({ DATABASE_URL: 'mysql://u:secretpw@db/x', NODE_ENV: 'production' })).toEqual({
      DATABASE_URL: `mysql://u:${MASK}@db/${MASK}`,
      NODE_ENV: MASK,
    });
  });

  test('a password in a URL argument of a command is masked, the rest of the command stays', () => {
    expect(redactCommand(['node', 'main.ts', '--db', 'mysql://u:secretpw@db:3306/x'])).toEqual([
      'node',
      'main.ts',
      '--db',
      `mysql://u:${MASK}@db:3306/x`,
    ]);
  });
});

describe('scrubbing secrets out of text', () => {
  const secrets = secretsOf([
    pool({ DATABASE_URL: 'mysql://root:p%40ss-w0rd@db/x', API_TOKEN: 'tok-123456', PORT_HINT: '80' }, [
      'node',
      'x.ts',
      'mysql://a:argsecret@h/d',
    ]),
  ]);

  test('collects URL passwords (encoded and decoded), secret-named values and command-line passwords', () => {
    expect(secrets).toEqual(expect.arrayContaining(['p%40ss-w0rd', 'p@ss-w0rd', 'tok-123456', 'argsecret']));
    expect(secrets).not.toContain('80');
  });

  test('masks every occurrence, in either form', () => {
    expect(scrubSecrets('connect failed: p@ss-w0rd rejected (p%40ss-w0rd)', secrets)).toBe(
      `connect failed: ${MASK} rejected (${MASK})`,
    );
  });

  test('scrubs strings at any depth of a log line and leaves other values alone', () => {
    expect(
      scrubFields(
        { reason: 'tok-123456 refused', port: 8000, nested: { list: ['argsecret', 3] }, ok: true },
        secrets,
      ),
    ).toEqual({ reason: `${MASK} refused`, port: 8000, nested: { list: [MASK, 3] }, ok: true });
  });

  test('too short a value is not treated as a secret, so ordinary text is not mangled', () => {
    expect(secretsOf([pool({ PASSWORD: 'ab' })])).toEqual([]);
  });
});
