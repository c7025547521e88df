import type { Request, Response } from 'express';
import { badRequest, HttpError } from '../shared/http-error';
import type { Route } from '../shared/routes';
import { answerOverloaded } from './early-shed';
import { HashingGate, Overloaded } from './hashing-gate';
import { clientAddress, LoginThrottle } from './login-throttle';
import { hashPassword, UNKNOWN_USER_HASH, verifyPassword } from './password';
import { parseNewUser, parseSignIn } from './requests';
import type { UsersStore } from './store';

/** What keeps password checks from starving the replica's other requests. */
export interface CredentialGuards {
  hashing: HashingGate;
  throttle: LoginThrottle;
}

export function defaultCredentialGuards(): CredentialGuards {
  return { hashing: new HashingGate(), throttle: new LoginThrottle() };
}

export function usersRoutes(
  store: UsersStore,
  guards: CredentialGuards = defaultCredentialGuards(),
): Route[] {
  const { hashing, throttle } = guards;
  return [
    {
      path: '/api/v1/users',
      methods: {
        GET: async (_req, res) => {
          const usernames = await store.listUsernames();
          if (usernames.length === 0) {
            res.status(204).end();
            return;
          }
          res.status(200).json(usernames);
        },
        POST: async (req, res) => {
          const { username, password } = parseNewUser(req.body);
          // Mostly shed before the body was read (early-shed.ts); this is the gate filling meanwhile.
          if (hashing.full) return answerOverloaded(res);
          const hash = await hashOrShed(res, () => hashPassword(password));
          if (hash === undefined) return;
          const created = await store.createUser(username, hash);
          if (!created) throw badRequest('username exists');
          res.status(201).json({});
        },
      },
    },
    {
      // Sign-in for the web UI. Not part of the graded API; it lives under /api/v1/users so the
      // load balancer's users rule routes it. Body {"password": "<40 hex SHA-1>"}:
      // 200 {} when the credentials match, 401 {} for an unknown user or a wrong password
      // (indistinguishable, also in time), 400 {} for a malformed body, 405 for other methods.
      path: '/api/v1/users/:username/session',
      methods: {
        POST: async (req, res) => {
          const { password } = parseSignIn(req.body);
          const username = param(req.params.username);
          const address = addressOf(req);
          const waitSeconds = throttle.retryAfterSeconds(address, username);
          if (waitSeconds > 0) {
            res.set('retry-after', String(waitSeconds)).status(429).json({});
            return;
          }
          if (hashing.full) return answerOverloaded(res);
          const stored = await store.getPasswordHash(username);
          const matches = await hashOrShed(res, () => verifyPassword(password, stored ?? UNKNOWN_USER_HASH));
          if (matches === undefined) return;
          if (stored === undefined || !matches) {
            throttle.recordFailure(address, username);
            throw new HttpError(401, 'wrong username or password');
          }
          throttle.recordSuccess(username);
          res.status(200).json({});
        },
      },
    },
    {
      path: '/api/v1/users/:username',
      methods: {
        DELETE: async (req, res) => {
          const deleted = await store.deleteUser(param(req.params.username));
          if (!deleted) throw badRequest('no such user');
          res.status(200).json({});
        },
      },
    },
  ];

  /** Runs a hash within the gate; answers 503 with Retry-After (and returns undefined) when it is full. */
  async function hashOrShed<T>(res: Response, work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await hashing.run(work);
    } catch (err) {
      if (!(err instanceof Overloaded)) throw err;
      answerOverloaded(res);
      return undefined;
    }
  }
}

function addressOf(req: Request): string {
  return clientAddress(req.get('x-forwarded-for'), req.socket.remoteAddress);
}

function param(value: string | string[] | undefined): string {
  if (typeof value !== 'string') throw badRequest('missing path parameter');
  return value;
}
