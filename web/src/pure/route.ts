/** The page's places, kept in the URL hash so links, reloads and the back button work. */

/**
 * `signIn` is the home page with the account form focused; `recent` is the home page showing
 * a later page of the recent-acts feed (its first page is the home page itself).
 */
export type Route =
  | { kind: 'home' }
  | { kind: 'signIn' }
  | { kind: 'recent'; page: number }
  | { kind: 'category'; name: string; page: number }
  | { kind: 'user'; name: string; page: number };

export function parseRoute(hash: string): Route {
  if (hash === '#/sign-in') return { kind: 'signIn' };
  const recent = /^#\/recent\/(\d+)$/.exec(hash);
  if (recent) {
    const page = Math.max(1, Number(recent[1]));
    return page > 1 ? { kind: 'recent', page } : { kind: 'home' };
  }
  const match = /^#\/(c|u)\/([^/]+)(?:\/(\d+))?$/.exec(hash);
  if (!match) return { kind: 'home' };
  let name: string;
  try {
    name = decodeURIComponent(match[2]!);
  } catch {
    return { kind: 'home' };
  }
  const page = match[3] ? Math.max(1, Number(match[3])) : 1;
  return { kind: match[1] === 'c' ? 'category' : 'user', name, page };
}

export function routeHash(route: Route): string {
  if (route.kind === 'home') return '#/';
  if (route.kind === 'signIn') return '#/sign-in';
  if (route.kind === 'recent') return route.page > 1 ? `#/recent/${route.page}` : '#/';
  const base = `#/${route.kind === 'category' ? 'c' : 'u'}/${encodeURIComponent(route.name)}`;
  return route.page > 1 ? `${base}/${route.page}` : base;
}
