import type { Logger } from '../../common/log';

/** Whether a user exists, as the users service says at this moment. */
export interface UserDirectory {
  /** false also when the users service cannot be asked or answers anything but a list. */
  exists(username: string): Promise<boolean>;
}

export interface HttpUserDirectoryOptions {
  /** Base URL of the users API, e.g. http://127.0.0.1:8100 */
  readonly usersUrl: string;
  /** Sent as `Origin`: clients watching the wire expect it on every look-up. */
  readonly publicOrigin: string;
  readonly timeoutMs?: number;
  readonly logger: Logger;
}

/** Asks `GET {usersUrl}/api/v1/users` on every call: the contract wants one look-up per valid upload. */
export function httpUserDirectory(options: HttpUserDirectoryOptions): UserDirectory {
  const url = `${options.usersUrl.replace(/\/+$/, '')}/api/v1/users`;
  const timeoutMs = options.timeoutMs ?? 2000;
  return {
    async exists(username) {
      try {
        const response = await fetch(url, {
          headers: { Origin: options.publicOrigin, Accept: 'application/json' },
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (response.status !== 200) {
          await response.body?.cancel();
          return false;
        }
        const list: unknown = await response.json();
        return Array.isArray(list) && list.includes(username);
      } catch (err) {
        options.logger.warn('users look-up failed', {
          error: err instanceof Error ? err.message : String(err),
        });
        return false;
      }
    },
  };
}
