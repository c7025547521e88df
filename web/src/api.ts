/** The public API, same origin. Every failure becomes an ApiError carrying a sentence for people. */
import type { Act } from '../../services/acts/act';
import { apiErrorMessage, type ApiAction } from './pure/errors';

// The contract's act shape, defined once beside the service; a type-only import, so nothing
// of the server reaches the browser bundle.
export type { Act };
/** An upload: every act field except upvotes, which clients never send. */
export type NewAct = Omit<Act, 'upvotes'>;

export class ApiError extends Error {
  constructor(
    readonly action: ApiAction,
    readonly status: number,
  ) {
    super(apiErrorMessage(action, status));
    this.name = 'ApiError';
  }
}

/** The sentence to show for a failure; anything but an API answer is an unexpected fault. */
export function describeError(error: unknown): string {
  return error instanceof ApiError
    ? error.message
    : 'Something unexpected went wrong. Please reload the page and try again.';
}

interface Answer {
  status: number;
  body: unknown;
}

const segment = encodeURIComponent;

async function request(action: ApiAction, method: string, path: string, body?: unknown): Promise<Answer> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(action, 0);
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) throw new ApiError(action, response.status);
  let parsed: unknown = undefined;
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      // A success with a body that is not JSON is a proxy or server fault, not data.
      throw new ApiError(action, 502);
    }
  }
  return { status: response.status, body: parsed };
}

function singleNumber(action: ApiAction, body: unknown): number {
  if (Array.isArray(body) && typeof body[0] === 'number') return body[0];
  throw new ApiError(action, 502);
}

export async function signUp(username: string, passwordSha1: string): Promise<void> {
  await request('signUp', 'POST', '/api/v1/users', { username, password: passwordSha1 });
}

export async function signIn(username: string, passwordSha1: string): Promise<void> {
  await request('signIn', 'POST', `/api/v1/users/${segment(username)}/session`, { password: passwordSha1 });
}

/** Category names with their act counts, in the order the API lists them. */
export async function listCategories(): Promise<Array<{ name: string; count: number }>> {
  const { status, body } = await request('listCategories', 'GET', '/api/v1/categories');
  if (status === 204 || body === undefined) return [];
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ApiError('listCategories', 502);
  return Object.entries(body as Record<string, unknown>).map(([name, count]) => ({
    name,
    count: typeof count === 'number' ? count : 0,
  }));
}

export async function createCategory(name: string): Promise<void> {
  await request('createCategory', 'POST', '/api/v1/categories', [name]);
}

export async function deleteCategory(name: string): Promise<void> {
  await request('deleteCategory', 'DELETE', `/api/v1/categories/${segment(name)}`);
}

export async function countActs(category: string): Promise<number> {
  const { body } = await request('countActs', 'GET', `/api/v1/categories/${segment(category)}/acts/size`);
  return singleNumber('countActs', body);
}

/** Acts at positions start..end (1 = newest); empty when the category has none. */
export async function listActs(category: string, start: number, end: number): Promise<Act[]> {
  const query = `start=${start}&end=${end}`;
  const { status, body } = await request(
    'listActs',
    'GET',
    `/api/v1/categories/${segment(category)}/acts?${query}`,
  );
  if (status === 204 || body === undefined) return [];
  if (!Array.isArray(body)) throw new ApiError('listActs', 502);
  return body as Act[];
}

/** How many acts there are in all categories. */
export async function countAllActs(): Promise<number> {
  const { body } = await request('countActs', 'GET', '/api/v1/acts/count');
  return singleNumber('countActs', body);
}

/** Acts of every category at positions start..end (1 = newest). */
export async function listRecentActs(start: number, end: number): Promise<Act[]> {
  return actsOf(await request('listActs', 'GET', `/api/v1/acts/recent?start=${start}&end=${end}`));
}

/** A user's acts at positions start..end (1 = newest), or all of them (up to 100) without a range. */
export async function listUserActs(username: string, range?: { start: number; end: number }): Promise<Act[]> {
  const query = range ? `?start=${range.start}&end=${range.end}` : '';
  return actsOf(await request('listActs', 'GET', `/api/v1/list_act_user/${segment(username)}${query}`));
}

/**
 * How many acts a user has. The API has no count for users: the whole listing answers up to
 * 100, and past that a one-act range at position n exists exactly when n <= the count.
 */
export async function countUserActs(username: string): Promise<number> {
  try {
    return (await listUserActs(username)).length;
  } catch (failure) {
    if (!(failure instanceof ApiError) || failure.status !== 413) throw failure;
  }
  const exists = async (n: number): Promise<boolean> => {
    try {
      return (await listUserActs(username, { start: n, end: n })).length === 1;
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 400) return false;
      throw failure;
    }
  };
  let low = 100;
  let high = 200;
  while (await exists(high)) [low, high] = [high, high * 2];
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (await exists(middle)) low = middle;
    else high = middle;
  }
  return low;
}

function actsOf({ status, body }: Answer): Act[] {
  if (status === 204 || body === undefined) return [];
  if (!Array.isArray(body)) throw new ApiError('listActs', 502);
  return body as Act[];
}

/** Uploads an act whose JSON body the caller has already built (it is large; built once). */
export async function uploadAct(jsonBody: string): Promise<void> {
  await request('uploadAct', 'POST', '/api/v1/acts', jsonBody);
}

export async function upvoteAct(actId: number): Promise<void> {
  await request('upvoteAct', 'POST', '/api/v1/acts/upvote', [actId]);
}

export async function deleteAct(actId: number): Promise<void> {
  await request('deleteAct', 'DELETE', `/api/v1/acts/${actId}`);
}
