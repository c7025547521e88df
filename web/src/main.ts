/** The page: reads the route from the URL hash, loads what it shows, and redraws after every change. */
import * as api from './api';
import { h, replaceChildren, showMessage } from './dom';
import { parseRoute, routeHash, type Route } from './pure/route';
import { forgetUser, rememberUser, signedInUser } from './session';
import { accountBar, accountForm } from './views/account';
import { actFeed, loadRecentPage, loadUserPage, userPage } from './views/act-feed';
import { categoriesSection } from './views/categories';
import { categoryLoadError, categoryPage, loadCategoryPage } from './views/category-page';
import { uploadForm } from './views/upload-form';

interface Outcome {
  note?: string;
  error?: string;
}

const main = document.getElementById('main') as HTMLElement;
const accountSlot = document.getElementById('account-slot') as HTMLElement;
const notice = document.getElementById('notice') as HTMLElement;
const alertRegion = document.getElementById('alert') as HTMLElement;

let user = signedInUser();
let drawing = 0;
let firstDrawing = true;
/** What to tell the person once the next drawing (often after a hash change) is done. */
let pending: Outcome = {};

function tell(outcome: Outcome): void {
  showMessage(notice, outcome.note ?? '', 'info');
  showMessage(alertRegion, outcome.error ?? '');
}

function go(route: Route, outcome: Outcome = {}): void {
  const hash = routeHash(route);
  pending = outcome;
  if (location.hash === hash) void draw(false);
  else location.hash = hash;
}

const refresh = (outcome: Outcome): void => {
  pending = outcome;
  void draw(false);
};

function signedIn(name: string): void {
  user = name;
  rememberUser(name);
  go({ kind: 'home' }, { note: `Welcome, ${name}. You are signed in.` });
}

function signOut(): void {
  user = null;
  forgetUser();
  refresh({ note: 'You are signed out.' });
}

async function homeView(route: Route, feedPage: number): Promise<HTMLElement> {
  let categories: Array<{ name: string; count: number }> = [];
  let loadError: string | null = null;
  const [listed, recent] = await Promise.allSettled([api.listCategories(), loadRecentPage(feedPage)]);
  if (listed.status === 'fulfilled') categories = listed.value;
  else loadError = api.describeError(listed.reason);
  const share =
    user && categories.length > 0
      ? h(
          'section',
          { className: 'panel' },
          uploadForm({
            user,
            categories: categories.map((c) => c.name),
            selected: null,
            onUploaded: (name) => go({ kind: 'category', name, page: 1 }, { note: 'Your act was shared.' }),
          }),
        )
      : null;
  return h(
    'div',
    { className: route.kind === 'signIn' ? 'home signing-in' : 'home' },
    user ? null : h('section', { className: 'panel' }, accountForm(signedIn)),
    h(
      'div',
      { className: 'panel' },
      categoriesSection({ categories, loadError, canEdit: user !== null, onChanged: refresh }),
    ),
    share,
    h(
      'section',
      { className: 'panel recent', attrs: { 'aria-labelledby': 'recent-heading' } },
      h('h2', { id: 'recent-heading' }, 'Recent acts'),
      recent.status === 'fulfilled'
        ? actFeed({
            data: recent.value,
            user,
            label: 'Recent acts, newest first',
            empty: 'No acts shared yet.',
            pageRoute: (page) => ({ kind: 'recent', page }),
            onError: (error) => tell({ error }),
            onChanged: () => refresh({ note: 'The act was deleted.' }),
          })
        : loadFailure(api.describeError(recent.reason)),
    ),
  );
}

async function userView(name: string, page: number): Promise<HTMLElement> {
  try {
    const data = await loadUserPage(name, page);
    const own = user === name;
    const feed = actFeed({
      data,
      user,
      label: `Acts by ${name}, newest first`,
      empty: own ? 'You have not shared any acts yet.' : 'No acts by this user.',
      pageRoute: (p) => ({ kind: 'user', name, page: p }),
      onError: (error) => tell({ error }),
      onChanged: () => refresh({ note: 'The act was deleted.' }),
    });
    return userPage(name, feed, data.total, own);
  } catch (failure) {
    return userPage(name, loadFailure(api.describeError(failure)), 0, user === name);
  }
}

function loadFailure(message: string): HTMLElement {
  const error = h('p', { className: 'message', attrs: { role: 'alert' } });
  showMessage(error, message);
  return error;
}

async function categoryView(name: string, page: number): Promise<HTMLElement> {
  const [categories, data] = await Promise.allSettled([api.listCategories(), loadCategoryPage(name, page)]);
  if (data.status === 'rejected') return categoryLoadError(name, api.describeError(data.reason));
  const names = categories.status === 'fulfilled' ? categories.value.map((c) => c.name) : [name];
  return categoryPage({
    data: data.value,
    user,
    categories: names.includes(name) ? names : [name, ...names],
    onError: (error) => tell({ error }),
    onChanged: () => refresh({ note: 'The act was deleted.' }),
    onUploaded: (category) =>
      go({ kind: 'category', name: category, page: 1 }, { note: 'Your act was shared.' }),
  });
}

async function draw(navigated: boolean): Promise<void> {
  const ticket = ++drawing;
  const route = parseRoute(location.hash);
  replaceChildren(accountSlot, accountBar(user, signOut));
  main.setAttribute('aria-busy', 'true');
  const view =
    route.kind === 'category'
      ? await categoryView(route.name, route.page)
      : route.kind === 'user'
        ? await userView(route.name, route.page)
        : await homeView(route, route.kind === 'recent' ? route.page : 1);
  if (ticket !== drawing) return;

  // Keep focus where it was across a redraw (same id), else start at the heading.
  const focusedId = document.activeElement?.id;
  replaceChildren(main, view);
  main.removeAttribute('aria-busy');
  document.title =
    route.kind === 'category'
      ? `${route.name} · SelfieLessActs`
      : route.kind === 'user'
        ? `${user === route.name ? 'My acts' : `Acts by ${route.name}`} · SelfieLessActs`
        : 'SelfieLessActs';
  tell(pending);
  pending = {};

  // The first drawing leaves focus at the top, where a freshly loaded page has it.
  const leaveFocus = firstDrawing && route.kind !== 'signIn';
  firstDrawing = false;
  if (leaveFocus) return;
  const target =
    route.kind === 'signIn' && !user
      ? document.getElementById('account-username')
      : (!navigated && focusedId && document.getElementById(focusedId)) ||
        main.querySelector<HTMLElement>('h1');
  target?.focus();
}

// The skip link must not change the hash: the hash is the route.
document.querySelector('.skip-link')?.addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', () => void draw(true));
void draw(true);
