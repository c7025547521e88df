import { isApiPath, isCountedPath, pathOf, poolForPath } from '../../orchestrator/path-rules';

describe('request counting', () => {
  test.each([
    ['/api/v1/acts', true],
    ['/api/v1/users/alice', true],
    ['/api/v1/categories/cats/acts/size', true],
    ['/api/v1/_count', true],
    ['/api/v1/_health', false],
    ['/api/v1/_crash', false],
    ['/api/v1/_healthy', true],
    ['/api/v1/_health/extra', true],
    ['/', false],
    ['/index.html', false],
    ['/api/v1', false],
    ['/api/v2/acts', false],
    ['/API/v1/acts', false],
  ])('%s is counted: %s', (path, counted) => {
    expect(isCountedPath(path)).toBe(counted);
  });

  test.each([
    ['/api/v1/', true],
    ['/api/v1/x/y/z/w', true],
    ['/api/v1', false],
    ['/assets/app.js', false],
  ])('%s is an API path: %s', (path, api) => {
    expect(isApiPath(path)).toBe(api);
  });

  test.each([
    ['/api/v1/acts?x=1', '/api/v1/acts'],
    ['/api/v1/_health?probe=1', '/api/v1/_health'],
    ['/', '/'],
    ['/a?', '/a'],
  ])('the path of %s is %s', (target, path) => {
    expect(pathOf(target)).toBe(path);
  });
});

describe('pool for a path', () => {
  const pools = [
    { name: 'acts', pathPrefixes: ['/api/v1/'] },
    { name: 'users', pathPrefixes: ['/api/v1/users', '/api/v1/_count'] },
  ];

  test.each([
    ['/api/v1/users', 'users'],
    ['/api/v1/users/alice', 'users'],
    ['/api/v1/usersX', 'users'],
    ['/api/v1/_count', 'users'],
    ['/api/v1/acts', 'acts'],
    ['/api/v1/categories/a/acts', 'acts'],
    ['/api/v1/user', 'acts'],
    ['/elsewhere', undefined],
  ])('%s belongs to %s (longest prefix wins)', (path, owner) => {
    expect(poolForPath(pools, path)?.name).toBe(owner);
  });

  test('on equal prefixes the pool listed first wins', () => {
    const twins = [
      { name: 'first', pathPrefixes: ['/api/v1/'] },
      { name: 'second', pathPrefixes: ['/api/v1/'] },
    ];
    expect(poolForPath(twins, '/api/v1/x')?.name).toBe('first');
  });
});
