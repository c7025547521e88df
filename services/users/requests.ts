import { badRequest } from '../shared/http-error';
import { isPlainObject } from '../shared/json-shapes';
import { isValidName } from '../shared/names';
import { SHA1_HEX } from './password';

/** Pure checks of request bodies: each returns the fields or throws a 400. */

export function parseNewUser(body: unknown): { username: string; password: string } {
  if (!isPlainObject(body)) throw badRequest('body must be a JSON object');
  const { username, password } = body;
  if (!isValidName(username)) throw badRequest('username must be a non-empty string');
  if (typeof password !== 'string' || !SHA1_HEX.test(password))
    throw badRequest('password must be 40 hex characters');
  return { username, password };
}

export function parseSignIn(body: unknown): { password: string } {
  if (!isPlainObject(body)) throw badRequest('body must be a JSON object');
  const { password } = body;
  if (typeof password !== 'string' || !SHA1_HEX.test(password))
    throw badRequest('password must be 40 hex characters');
  return { password };
}
