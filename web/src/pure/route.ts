/** The page's places, kept in the URL hash so links, reloads and the back button work. */

/** `signIn` is the home page with the account form focused. */
export type Route = { kind: 'home' } | { kind: 'signIn' } | { kind: 'category'; name: string; page: number };

export function parseRoute(hash: string): Route {
  if (hash === '#/sign-in') return { kind: 'signIn' };
  const match = /^#\/c\/([^/]+)(?:\/(\d+))?$/.exec(hash);
  if (!match) return { kind: 'home' };
  let name: string;
  try {
    name = decodeURIComponent(match[1]!);
  } catch {
    return { kind: 'home' };
  }
  const page = match[2] ? Math.max(1, Number(match[2])) : 1;
  return { kind: 'category', name, page };
}

export function routeHash(route: Route): string {
  if (route.kind === 'home') return '#/';
  if (route.kind === 'signIn') return '#/sign-in';
  const base = `#/c/${encodeURIComponent(route.name)}`;
  return route.page > 1 ? `${base}/${route.page}` : base;
}
