/** Where a service keeps its data, from `DATABASE_URL`: `sqlite:PATH` or `mysql://user:pass@host:port/db`. */
export type DatabaseTarget =
  | { readonly kind: 'sqlite'; readonly path: string }
  | {
      readonly kind: 'mysql';
      readonly host: string;
      readonly port: number;
      readonly user: string;
      readonly password: string;
      readonly database: string;
    };

// Database names go into one CREATE DATABASE statement, where they cannot be parameters.
const MYSQL_DATABASE_NAME = /^[A-Za-z0-9_$-]{1,64}$/;

export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw new Error('DATABASE_URL: sqlite: needs a file path, e.g. sqlite:./data/acts.db');
    return { kind: 'sqlite', path };
  }
  if (url.startsWith('mysql://')) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error('DATABASE_URL: not a valid mysql:// URL');
    }
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
    if (!MYSQL_DATABASE_NAME.test(database)) {
      throw new Error('DATABASE_URL: the mysql:// URL needs a database name of letters, digits, _, $ or -');
    }
    return {
      kind: 'mysql',
      host: parsed.hostname,
      port: parsed.port === '' ? 3306 : Number(parsed.port),
      user: decodeURIComponent(parsed.username) || 'root',
      password: decodeURIComponent(parsed.password),
      database,
    };
  }
  throw new Error('DATABASE_URL must start with sqlite: or mysql://');
}
