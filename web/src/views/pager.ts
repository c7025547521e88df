import { h } from '../dom';
import { pageCount } from '../pure/paging';
import { routeHash, type Route } from '../pure/route';

/**
 * The "← Newer · Page N of M · Older →" footer under a list of acts; none when everything
 * fits on one page. Links past either end are shown disabled, so the footer never shifts.
 */
export function pager(
  position: { page: number; total: number },
  pageRoute: (page: number) => Route,
): HTMLElement | null {
  const pages = pageCount(position.total);
  if (pages <= 1) return null;
  const link = (page: number, text: string, rel: string): HTMLElement =>
    page >= 1 && page <= pages
      ? h('a', { href: routeHash(pageRoute(page)), className: 'link-button', rel }, text)
      : h('span', { className: 'link-button disabled', attrs: { 'aria-disabled': 'true' } }, text);
  return h(
    'nav',
    { className: 'pager', attrs: { 'aria-label': 'Pages' } },
    link(position.page - 1, '← Newer', 'prev'),
    h('span', { className: 'pager-position' }, `Page ${position.page} of ${pages}`),
    link(position.page + 1, 'Older →', 'next'),
  );
}
