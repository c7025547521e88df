import { pageCount, pageRange } from '../../web/src/pure/paging';
import { parseRoute, routeHash, type Route } from '../../web/src/pure/route';
import { captionProblem, categoryNameProblem, usernameProblem } from '../../web/src/pure/validation';

describe('pages of acts', () => {
  test('cover 1..total in ranges of 20, newest first', () => {
    expect(pageRange(1, 45)).toEqual({ start: 1, end: 20 });
    expect(pageRange(2, 45)).toEqual({ start: 21, end: 40 });
    expect(pageRange(3, 45)).toEqual({ start: 41, end: 45 });
    expect(pageCount(45)).toBe(3);
    expect(pageCount(40)).toBe(2);
  });

  test('a page past the end shows the last one; an empty category has no range', () => {
    expect(pageRange(9, 45)).toEqual({ start: 41, end: 45 });
    expect(pageRange(0, 5)).toEqual({ start: 1, end: 5 });
    expect(pageRange(1, 0)).toBeNull();
    expect(pageCount(0)).toBe(1);
  });
});

describe('routes in the URL hash', () => {
  test.each<Route>([
    { kind: 'home' },
    { kind: 'signIn' },
    { kind: 'category', name: 'kindness', page: 1 },
    { kind: 'category', name: 'a b#c?d%e', page: 3 },
    { kind: 'category', name: '猫', page: 2 },
    { kind: 'recent', page: 2 },
    { kind: 'user', name: 'ada lovelace', page: 1 },
    { kind: 'user', name: 'a/b#c', page: 4 },
  ])('%p round-trips', (route) => {
    expect(parseRoute(routeHash(route))).toEqual(route);
  });

  test('anything else is the home page', () => {
    for (const hash of [
      '',
      '#',
      '#main',
      '#/c/',
      '#/c/%E0%A4%A',
      '#/c/a/b/c',
      '#/u/',
      '#/recent/1',
      '#/recent/x',
    ]) {
      expect(parseRoute(hash)).toEqual({ kind: 'home' });
    }
  });
});

describe('checks before sending', () => {
  test('names', () => {
    expect(usernameProblem('')).toMatch(/enter a username/);
    expect(usernameProblem(' alice')).toMatch(/space/);
    expect(usernameProblem('alice')).toBeNull();
    expect(categoryNameProblem('a/b')).toMatch(/“\/”/);
    expect(categoryNameProblem('   ')).toMatch(/enter a category name/);
    expect(categoryNameProblem('kindness')).toBeNull();
  });

  test('captions', () => {
    expect(captionProblem(' ')).toMatch(/caption/);
    expect(captionProblem('x'.repeat(501))).toMatch(/500/);
    expect(captionProblem('#helloworld')).toBeNull();
  });
});
