/** Paged lists of acts across categories: the recent feed on the home page, and one user's acts. */
import * as api from '../api';
import { h } from '../dom';
import { pageRange, PAGE_SIZE } from '../pure/paging';
import { routeHash, type Route } from '../pure/route';
import { actCard } from './act-card';
import { pager } from './pager';

export interface FeedData {
  page: number;
  total: number;
  acts: api.Act[];
}

/** Loads one page; when acts vanished between counting and listing, counts once more. */
export async function loadFeedPage(
  page: number,
  count: () => Promise<number>,
  list: (start: number, end: number) => Promise<api.Act[]>,
): Promise<FeedData> {
  for (let attempt = 0; ; attempt++) {
    const total = await count();
    const range = pageRange(page, total);
    if (!range) return { page: 1, total, acts: [] };
    try {
      return { page: Math.ceil(range.start / PAGE_SIZE), total, acts: await list(range.start, range.end) };
    } catch (failure) {
      if (attempt > 0 || !(failure instanceof api.ApiError) || failure.status !== 400) throw failure;
    }
  }
}

export const loadRecentPage = (page: number): Promise<FeedData> =>
  loadFeedPage(page, api.countAllActs, api.listRecentActs);

export const loadUserPage = (name: string, page: number): Promise<FeedData> =>
  loadFeedPage(
    page,
    () => api.countUserActs(name),
    (start, end) => api.listUserActs(name, { start, end }),
  );

export interface FeedOptions {
  data: FeedData;
  user: string | null;
  /** Names the list for assistive technology, e.g. "Recent acts, newest first". */
  label: string;
  empty: string;
  pageRoute: (page: number) => Route;
  onError: (message: string) => void;
  onChanged: () => void;
}

export function actFeed(options: FeedOptions): HTMLElement {
  const { data } = options;
  const now = new Date();
  const list = data.acts.length
    ? h(
        'ol',
        { className: 'act-grid', attrs: { 'aria-label': options.label } },
        ...data.acts.map((act) =>
          h(
            'li',
            {},
            actCard({ act, user: options.user, now, onError: options.onError, onDeleted: options.onChanged }),
          ),
        ),
      )
    : h('p', { className: 'empty' }, options.empty);
  return h('div', { className: 'act-feed' }, list, pager(data, options.pageRoute));
}

/** One user's page: their acts, newest first, whether or not the account still exists. */
export function userPage(name: string, feed: HTMLElement, total: number, own: boolean): HTMLElement {
  return h(
    'section',
    { className: 'user-page', attrs: { 'aria-labelledby': 'user-heading' } },
    h('p', { className: 'breadcrumb' }, h('a', { href: routeHash({ kind: 'home' }) }, '← Home')),
    h('h1', { id: 'user-heading', tabIndex: -1 }, own ? `My acts` : `Acts by ${name}`),
    h('p', { className: 'category-total' }, total === 1 ? '1 act' : `${total} acts`),
    feed,
  );
}
