import type { Request, Response } from 'express';
import { isValidName } from '../shared/names';
import { badRequest, HttpError } from '../shared/http-error';
import { sendJson, sendJsonText } from '../shared/json-response';
import type { Route } from '../shared/routes';
import { parseActIdParam, parseNewAct, parseNewCategory, parseUpvote, type Act } from './act';
import { decideListing, type ListingDecision } from './listing';
import type { ActsStore, CategorySummary } from './store';
import type { UserDirectory } from './user-directory';

export function actsRoutes(store: ActsStore, users: UserDirectory): Route[] {
  return [
    {
      path: '/api/v1/categories',
      methods: {
        // Synchronous when the store answers at once: no promise on the hottest read.
        GET: (_req, res) => {
          const categories = store.listCategories();
          if (categories instanceof Promise) return categories.then((found) => sendCategories(res, found));
          sendCategories(res, categories);
        },
        POST: async (req, res) => {
          const created = await store.createCategory(parseNewCategory(req.body));
          if (!created) throw badRequest('category exists');
          sendJson(res, 201, {});
        },
      },
    },
    {
      path: '/api/v1/categories/:name/acts/size',
      methods: {
        GET: async (req, res) => {
          const count = await store.countActsInCategory(param(req, 'name'));
          if (count === undefined) throw badRequest('no such category');
          sendJson(res, 200, [count]);
        },
      },
    },
    {
      path: '/api/v1/categories/:name/acts',
      methods: {
        GET: async (req, res) => {
          const name = param(req, 'name');
          const count = await store.countActsInCategory(name);
          await sendListing(res, decideListing(count, req.query.start, req.query.end), (offset, limit) =>
            store.listActs(name, offset, limit, count),
          );
        },
      },
    },
    {
      path: '/api/v1/categories/:name',
      methods: {
        DELETE: async (req, res) => {
          if (!(await store.deleteCategory(param(req, 'name')))) throw badRequest('no such category');
          sendJson(res, 200, {});
        },
      },
    },
    {
      path: '/api/v1/acts',
      keepsLargeText: 'imgB64',
      methods: {
        POST: async (req, res) => {
          const act = parseNewAct(req.body);
          if (await store.actExists(act.actId)) throw badRequest('actId in use');
          if (!(await store.categoryExists(act.categoryName))) throw badRequest('no such category');
          // Last, and only for an otherwise valid upload: clients watch for this call.
          if (!(await users.exists(act.username))) throw badRequest('no such user');
          const outcome = await store.createAct(act);
          if (outcome !== 'created') throw badRequest(outcome);
          sendJson(res, 201, {});
        },
      },
    },
    // Literal paths before `/api/v1/acts/:actId`, so `DELETE /api/v1/acts/upvote` is a 405.
    {
      path: '/api/v1/acts/upvote',
      methods: {
        POST: async (req, res) => {
          if (!(await store.upvote(parseUpvote(req.body)))) throw badRequest('no such act');
          sendJson(res, 200, {});
        },
      },
    },
    {
      path: '/api/v1/acts/recent',
      methods: {
        GET: async (req, res) => {
          const count = await store.countActs();
          const decision = decideListing(count, req.query.start, req.query.end, { rangeRequired: true });
          await sendListing(res, decision, (offset, limit) => store.listRecentActs(offset, limit, count));
        },
      },
    },
    {
      path: '/api/v1/acts/count',
      methods: {
        GET: async (_req, res) => {
          sendJson(res, 200, [await store.countActs()]);
        },
      },
    },
    {
      path: '/api/v1/acts/:actId',
      methods: {
        DELETE: async (req, res) => {
          if (!(await store.deleteAct(parseActIdParam(param(req, 'actId'))))) throw badRequest('no such act');
          sendJson(res, 200, {});
        },
      },
    },
    // The route name of the original app. Without a name the path is still this route's: 400.
    {
      path: '/api/v1/list_act_user',
      methods: {
        GET: () => {
          throw badRequest('username must not be empty');
        },
      },
    },
    {
      path: '/api/v1/list_act_user/:username',
      methods: {
        GET: async (req, res) => {
          const username = param(req, 'username');
          if (!isValidName(username)) throw badRequest('username must be 1 to 255 characters of text');
          const count = await store.countUserActs(username);
          await sendListing(res, decideListing(count, req.query.start, req.query.end), (offset, limit) =>
            store.listUserActs(username, offset, limit, count),
          );
        },
      },
    },
  ];
}

/** Answers a listing decision: 204, an error, or the page `read` returns. */
async function sendListing(
  res: Response,
  decision: ListingDecision,
  read: (offset: number, limit: number) => Promise<Act[]>,
): Promise<void> {
  if (decision.status === 204) {
    res.status(204).end();
    return;
  }
  if (decision.status !== 200) throw new HttpError(decision.status, decision.reason);
  const acts = await read(decision.offset, decision.limit);
  if (acts.length === 0) {
    // Emptied between the count and the read.
    res.status(204).end();
    return;
  }
  sendJson(res, 200, acts);
}

function sendCategories(res: Response, categories: readonly CategorySummary[]): void {
  if (categories.length === 0) res.status(204).end();
  else sendJsonText(res, 200, categoriesJson(categories));
}

/**
 * `{"name": count, ...}` written by hand: a plain object would move names that look like
 * integers to the front and would swallow a category called `__proto__`.
 */
function categoriesJson(categories: readonly CategorySummary[]): string {
  return `{${categories.map(({ name, actCount }) => `${JSON.stringify(name)}:${actCount}`).join(',')}}`;
}

function param(req: Request, name: string): string {
  const value = req.params[name];
  if (typeof value !== 'string') throw badRequest(`missing ${name}`);
  return value;
}
