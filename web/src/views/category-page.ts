/** One category: its acts newest first, a page at a time, and sharing a new act into it. */
import * as api from '../api';
import { h, showMessage } from '../dom';
import { pageRange, PAGE_SIZE } from '../pure/paging';
import { routeHash } from '../pure/route';
import { actCard } from './act-card';
import { pager } from './pager';
import { uploadForm } from './upload-form';

export interface CategoryPageData {
  name: string;
  page: number;
  total: number;
  acts: api.Act[];
}

/** Loads a page of acts; when acts vanished between counting and listing, counts once more. */
export async function loadCategoryPage(name: string, page: number): Promise<CategoryPageData> {
  for (let attempt = 0; ; attempt++) {
    const total = await api.countActs(name);
    const range = pageRange(page, total);
    if (!range) return { name, page: 1, total, acts: [] };
    try {
      const acts = await api.listActs(name, range.start, range.end);
      return { name, page: Math.ceil(range.start / PAGE_SIZE), total, acts };
    } catch (failure) {
      if (attempt > 0 || !(failure instanceof api.ApiError) || failure.status !== 400) throw failure;
    }
  }
}

export interface CategoryPageOptions {
  data: CategoryPageData;
  user: string | null;
  categories: string[];
  onError: (message: string) => void;
  onChanged: () => void;
  onUploaded: (categoryName: string) => void;
}

export function categoryPage(options: CategoryPageOptions): HTMLElement {
  const { data, user } = options;
  const now = new Date();
  const acts = data.acts.length
    ? h(
        'ol',
        { className: 'act-grid', attrs: { 'aria-label': `Acts in ${data.name}, newest first` } },
        ...data.acts.map((act) =>
          h('li', {}, actCard({ act, user, now, onError: options.onError, onDeleted: options.onChanged })),
        ),
      )
    : h('p', { className: 'empty' }, 'No acts in this category yet.', user ? ' Share the first one!' : '');

  const share = user
    ? h(
        'details',
        { className: 'share', open: data.total === 0 },
        h('summary', {}, 'Share an act'),
        uploadForm({
          user,
          categories: options.categories,
          selected: data.name,
          onUploaded: options.onUploaded,
        }),
      )
    : h(
        'p',
        { className: 'share-hint' },
        h('a', { href: routeHash({ kind: 'signIn' }) }, 'Sign in'),
        ' to share your own act.',
      );

  return h(
    'section',
    { className: 'category-page', attrs: { 'aria-labelledby': 'category-heading' } },
    h('p', { className: 'breadcrumb' }, h('a', { href: routeHash({ kind: 'home' }) }, '← All categories')),
    h('h1', { id: 'category-heading', tabIndex: -1 }, data.name),
    h('p', { className: 'category-total' }, data.total === 1 ? '1 act' : `${data.total} acts`),
    share,
    acts,
    pager(data, (page) => ({ kind: 'category', name: data.name, page })),
  );
}

export function categoryLoadError(name: string, message: string): HTMLElement {
  const error = h('p', { className: 'message', attrs: { role: 'alert' } });
  showMessage(error, message);
  return h(
    'section',
    { className: 'category-page' },
    h('p', { className: 'breadcrumb' }, h('a', { href: routeHash({ kind: 'home' }) }, '← All categories')),
    h('h1', { id: 'category-heading', tabIndex: -1 }, name),
    error,
  );
}
