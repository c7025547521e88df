/** One act as a card: photo, caption, author, when, upvotes; upvote for everyone, delete for its author. */
import * as api from '../api';
import { h } from '../dom';
import { imageDataUrl } from '../pure/image';
import { routeHash } from '../pure/route';
import { describeApiTimestamp, parseApiTimestamp } from '../pure/timestamp';

export interface ActCardOptions {
  act: api.Act;
  user: string | null;
  now: Date;
  onError: (message: string) => void;
  onDeleted: () => void;
}

const upvotesLabel = (n: number): string => (n === 1 ? '1 upvote' : `${n} upvotes`);

export function actCard({ act, user, now, onError, onDeleted }: ActCardOptions): HTMLElement {
  const captionId = `act-${act.actId}-caption`;
  const src = imageDataUrl(act.imgB64);
  const photo = src
    ? h('img', { src, alt: act.caption, loading: 'lazy', decoding: 'async', className: 'act-photo' })
    : h(
        'div',
        {
          className: 'act-photo act-photo-missing',
          attrs: { role: 'img', 'aria-label': 'Photo in an unknown format' },
        },
        'This photo cannot be shown',
      );

  const date = parseApiTimestamp(act.timestamp);
  const when = h(
    'time',
    date ? { dateTime: toLocalIso(date), title: date.toLocaleString() } : {},
    describeApiTimestamp(act.timestamp, now),
  );

  let upvotes = act.upvotes;
  const count = h('span', { className: 'upvote-count' }, String(upvotes));
  const upvote = h(
    'button',
    { type: 'button', className: 'upvote', attrs: { 'aria-label': `Upvote, ${upvotesLabel(upvotes)}` } },
    h('span', { attrs: { 'aria-hidden': 'true' } }, '▲ '),
    count,
  );
  const showUpvotes = (): void => {
    count.textContent = String(upvotes);
    upvote.setAttribute('aria-label', `Upvote, ${upvotesLabel(upvotes)}`);
  };
  upvote.addEventListener('click', async () => {
    upvotes += 1;
    showUpvotes();
    try {
      await api.upvoteAct(act.actId);
    } catch (failure) {
      upvotes -= 1;
      showUpvotes();
      onError(api.describeError(failure));
    }
  });

  const actions = h('div', { className: 'act-actions' }, upvote);
  if (user !== null && user === act.username) {
    const remove = h(
      'button',
      { type: 'button', className: 'danger quiet', attrs: { 'aria-label': `Delete act “${act.caption}”` } },
      'Delete',
    );
    remove.addEventListener('click', async () => {
      if (!window.confirm(`Delete your act “${act.caption}”? This cannot be undone.`)) return;
      remove.disabled = true;
      try {
        await api.deleteAct(act.actId);
        onDeleted();
      } catch (failure) {
        remove.disabled = false;
        onError(api.describeError(failure));
      }
    });
    actions.append(remove);
  }

  return h(
    'article',
    { className: 'act', dataset: { actId: String(act.actId) }, attrs: { 'aria-labelledby': captionId } },
    photo,
    h(
      'div',
      { className: 'act-body' },
      h('p', { id: captionId, className: 'act-caption' }, act.caption),
      h(
        'p',
        { className: 'act-meta' },
        'by ',
        h(
          'a',
          { className: 'act-author', href: routeHash({ kind: 'user', name: act.username, page: 1 }) },
          act.username,
        ),
        ' in ',
        h(
          'a',
          {
            className: 'act-category',
            href: routeHash({ kind: 'category', name: act.categoryName, page: 1 }),
          },
          act.categoryName,
        ),
        ' · ',
        when,
      ),
      actions,
    ),
  );
}

function toLocalIso(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}
