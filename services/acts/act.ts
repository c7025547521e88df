import { badRequest } from '../shared/http-error';
import { isPlainObject } from '../shared/json-shapes';
import { LargeText } from '../shared/large-text';
import { isStorableText, isValidName } from '../shared/names';
import { isStrictBase64 } from './base64';
import { parseActTimestamp } from './timestamp';

/** An act as clients see it. The key order is part of the contract (bodies are compared as text). */
export interface Act {
  actId: number;
  username: string;
  timestamp: string;
  caption: string;
  upvotes: number;
  categoryName: string;
  imgB64: string;
}

/** An upload that passed every check that needs no I/O. */
export interface NewAct {
  readonly actId: number;
  readonly username: string;
  readonly timestamp: string;
  /** `timestamp` as seconds since the epoch, for ordering. */
  readonly sortTime: number;
  readonly caption: string;
  readonly categoryName: string;
  /**
   * The photo as uploaded, checked to be strict base64. It stays text until it is stored:
   * MySQL decodes it itself, so Node never holds the decoded bytes beside it. A large photo
   * stays the request body's bytes and is decoded in their place.
   */
  readonly imgB64: string | LargeText;
}

export function actView(fields: Act): Act {
  return {
    actId: fields.actId,
    username: fields.username,
    timestamp: fields.timestamp,
    caption: fields.caption,
    upvotes: fields.upvotes,
    categoryName: fields.categoryName,
    imgB64: fields.imgB64,
  };
}

export function isActId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** The checks of an upload body that need no I/O; throws 400 on the first that fails. */
export function parseNewAct(body: unknown): NewAct {
  if (!isPlainObject(body)) throw badRequest('act must be a JSON object');
  // Upvotes start at 0 and are never set by clients: even `"upvotes": 0` is refused.
  if (Object.hasOwn(body, 'upvotes')) throw badRequest('upvotes must not be sent');
  const { actId, username, timestamp, caption, categoryName, imgB64 } = body;
  if (!isActId(actId)) throw badRequest('actId must be a non-negative integer');
  if (!isValidName(username)) throw badRequest('username must be a non-empty string');
  if (typeof timestamp !== 'string') throw badRequest('timestamp must be a string');
  const sortTime = parseActTimestamp(timestamp);
  if (sortTime === undefined) throw badRequest('timestamp must be a real DD-MM-YYYY:SS-MM-HH date-time');
  if (typeof caption !== 'string' || !isStorableText(caption)) throw badRequest('caption must be a string');
  if (!isValidName(categoryName)) throw badRequest('categoryName must be a non-empty string');
  if (imgB64 instanceof LargeText) {
    if (!imgB64.isStrictBase64()) throw badRequest('imgB64 must be strict standard base64');
    return { actId, username, timestamp, sortTime, caption, categoryName, imgB64 };
  }
  if (typeof imgB64 !== 'string') throw badRequest('imgB64 must be a string');
  if (!isStrictBase64(imgB64)) throw badRequest('imgB64 must be strict standard base64');
  return { actId, username, timestamp, sortTime, caption, categoryName, imgB64 };
}

/** `[actId]`: the body of an upvote. */
export function parseUpvote(body: unknown): number {
  if (!Array.isArray(body) || body.length !== 1 || !isActId(body[0]))
    throw badRequest('body must be [actId]');
  return body[0];
}

/** `["name"]`: the body that creates a category. */
export function parseNewCategory(body: unknown): string {
  if (!Array.isArray(body) || body.length !== 1 || !isValidName(body[0]))
    throw badRequest('body must be ["name"]');
  if (body[0].includes('/')) throw badRequest('category names cannot contain /');
  return body[0];
}

/** An actId in a path: decimal digits only. */
export function parseActIdParam(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!isActId(n)) throw badRequest('actId must be a non-negative integer');
  return n;
}
