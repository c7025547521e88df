import { LOCAL_PORTS, SERVICES } from '../../common/topology';
import { parseDatabaseUrl } from './database-url';
import { isLogLevel, type LogLevel } from '../../common/log';

export interface ServiceConfig {
  readonly port: number;
  readonly databaseUrl: string;
  readonly logLevel: LogLevel;
}

export interface ActsConfig extends ServiceConfig {
  readonly usersUrl: string;
  readonly publicOrigin: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads the variables every service takes; throws one message naming the bad variable. */
export function parseServiceConfig(env: Env, defaults: { port: number; databaseUrl: string }): ServiceConfig {
  const port = parsePort(env.PORT, defaults.port);
  const databaseUrl = nonEmpty(env.DATABASE_URL) ?? defaults.databaseUrl;
  parseDatabaseUrl(databaseUrl);
  const level = nonEmpty(env.LOG_LEVEL) ?? 'info';
  if (!isLogLevel(level)) throw new Error(`LOG_LEVEL must be debug, info, warn or error, not "${level}"`);
  return { port, databaseUrl, logLevel: level };
}

export function parseActsConfig(env: Env): ActsConfig {
  const base = parseServiceConfig(env, localDefaults('acts'));
  const usersUrl = (nonEmpty(env.USERS_URL) ?? `http://127.0.0.1:${SERVICES.users.firstPort}`).replace(
    /\/+$/,
    '',
  );
  if (!/^https?:\/\/[^/]/.test(usersUrl))
    throw new Error(`USERS_URL must be an http(s) URL, not "${usersUrl}"`);
  const publicOrigin = nonEmpty(env.PUBLIC_ORIGIN) ?? `http://localhost:${LOCAL_PORTS.frontDoor}`;
  return { ...base, usersUrl, publicOrigin };
}

export function parseUsersConfig(env: Env): ServiceConfig {
  return parseServiceConfig(env, localDefaults('users'));
}

/** Run alone (`npm run start:acts`), a service listens on its first port with a SQLite file under ./data. */
function localDefaults(service: keyof typeof SERVICES): { port: number; databaseUrl: string } {
  const topology = SERVICES[service];
  return { port: topology.firstPort, databaseUrl: `sqlite:./data/${topology.database}.db` };
}

function parsePort(value: string | undefined, fallback: number): number {
  if (nonEmpty(value) === undefined) return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value!) || port < 1 || port > 65535)
    throw new Error(`PORT must be 1-65535, not "${value}"`);
  return port;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
