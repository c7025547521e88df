import { ListingOrderCache, type ListingOrder } from '../../../services/acts/listing-order-cache';

const LIMITS = { deepPosition: 10, maxCachedIds: 100, pagesWorthARead: 2, maxMissesBeforeReread: 8 };

/** Ids n..1 (newest first), as a category of n acts would list them. */
function orderOf(n: number, version = 1, categorySeq = 1): ListingOrder {
  return { categorySeq, version, ids: Float64Array.from({ length: n }, (_, i) => n - i) };
}

describe('which pages come from a copy of the listing order', () => {
  test('a page near either end, or of a listing of unknown length, is read by position and asks for no copy', () => {
    const cache = new ListingOrderCache(LIMITS);
    expect(cache.plan('a', 0, 10, 50)).toEqual({ from: 'index', rereadOrder: false });
    expect(cache.plan('a', 9, 10, 50)).toEqual({ from: 'index', rereadOrder: false });
    expect(cache.plan('a', 31, 10, 50)).toEqual({ from: 'index', rereadOrder: false });
    expect(cache.plan('a', 20, 10, undefined)).toEqual({ from: 'index', rereadOrder: false });
    // 15 acts before the page, 9 after it.
    expect(cache.plan('a', 15, 10, 34)).toEqual({ from: 'index', rereadOrder: false });
  });

  test('the first deep page asks for the order once; pages meanwhile are read by position', () => {
    const cache = new ListingOrderCache(LIMITS);
    expect(cache.plan('a', 20, 10, 50)).toEqual({ from: 'index', rereadOrder: true });
    expect(cache.plan('a', 25, 10, 50)).toEqual({ from: 'index', rereadOrder: false });
    cache.orderRead('a', orderOf(50));
    const plan = cache.plan('a', 20, 10, 50);
    expect(plan).toMatchObject({ from: 'copy', ids: [30, 29, 28, 27, 26, 25, 24, 23, 22, 21] });
    expect(cache.size).toBe(50);
  });

  test('the slice stops at the copy’s end; a page past it is read by position', () => {
    const cache = new ListingOrderCache(LIMITS);
    cache.plan('a', 20, 10, 50);
    cache.orderRead('a', orderOf(25));
    expect(cache.plan('a', 20, 10, 50)).toMatchObject({ from: 'copy', ids: [5, 4, 3, 2, 1] });
    expect(cache.plan('a', 30, 10, 60)).toMatchObject({ from: 'index' });
  });

  test('a stale copy is dropped and read again; one that served enough pages is read again at once', () => {
    const cache = new ListingOrderCache(LIMITS);
    cache.plan('a', 20, 10, 50);
    const order = orderOf(50);
    cache.orderRead('a', order);
    for (let i = 0; i < LIMITS.pagesWorthARead; i++) {
      const plan = cache.plan('a', 20, 10, 50);
      expect(plan.from).toBe('copy');
      cache.served('a', order);
    }
    expect(cache.pagesFromCopies).toBe(LIMITS.pagesWorthARead);
    expect(cache.stale('a', order)).toBe(true);
    expect(cache.size).toBe(0);
    expect(cache.plan('a', 20, 10, 50)).toEqual({ from: 'index', rereadOrder: false });
  });

  test('copies that go stale before paying for their read are read again ever more rarely, up to a bound', () => {
    const cache = new ListingOrderCache(LIMITS);
    expect(cache.plan('a', 20, 10, 50)).toMatchObject({ rereadOrder: true });
    const missesBetweenReads: number[] = [];
    for (let version = 1; version <= 6; version++) {
      const order = orderOf(50, version);
      cache.orderRead('a', order);
      expect(cache.plan('a', 20, 10, 50).from).toBe('copy');
      let misses = 1;
      let reread = cache.stale('a', order);
      while (!reread) {
        misses++;
        const plan = cache.plan('a', 20, 10, 50);
        expect(plan.from).toBe('index');
        reread = plan.from === 'index' && plan.rereadOrder;
      }
      missesBetweenReads.push(misses);
    }
    expect(missesBetweenReads).toEqual([2, 4, 8, 8, 8, 8]);
  });

  test('an order that could not be read backs off the same way', () => {
    const cache = new ListingOrderCache(LIMITS);
    expect(cache.plan('a', 20, 10, 50)).toMatchObject({ rereadOrder: true });
    cache.orderUnread('a');
    expect(cache.plan('a', 20, 10, 50)).toMatchObject({ rereadOrder: false });
    expect(cache.plan('a', 20, 10, 50)).toMatchObject({ rereadOrder: true });
  });

  test('a copy served by a request after it was replaced is neither counted nor dropped', () => {
    const cache = new ListingOrderCache(LIMITS);
    cache.plan('a', 20, 10, 50);
    const first = orderOf(50, 1);
    cache.orderRead('a', first);
    cache.stale('a', first);
    const second = orderOf(50, 2);
    cache.orderRead('a', second);
    cache.served('a', first);
    expect(cache.pagesFromCopies).toBe(0);
    cache.stale('a', first);
    expect(cache.plan('a', 20, 10, 50)).toMatchObject({ from: 'copy', order: second });
  });

  test('the ids held stay within the cap: least recently read copies go first; one too large is not kept', () => {
    const cache = new ListingOrderCache(LIMITS);
    for (const name of ['a', 'b']) {
      cache.plan(name, 20, 10, 40);
      cache.orderRead(name, orderOf(40));
    }
    expect(cache.plan('a', 20, 10, 40).from).toBe('copy');
    cache.plan('c', 20, 10, 40);
    cache.orderRead('c', orderOf(40));
    expect(cache.size).toBe(80);
    expect(cache.plan('a', 20, 10, 40).from).toBe('copy');
    expect(cache.plan('c', 20, 10, 40).from).toBe('copy');
    expect(cache.plan('b', 20, 10, 40).from).toBe('index');
    cache.plan('big', 20, 10, 101);
    cache.orderRead('big', orderOf(101));
    expect(cache.size).toBe(80);
    expect(cache.plan('big', 20, 10, 101).from).toBe('index');
  });

  test('bookkeeping is kept for no more categories than copies could be', () => {
    const cache = new ListingOrderCache(LIMITS);
    // maxCachedIds / (2 * deepPosition) = 5 categories.
    for (let i = 0; i < 6; i++) expect(cache.plan(`c${i}`, 20, 10, 50)).toMatchObject({ rereadOrder: true });
    // c0 was forgotten, so its read comes back to nothing and it asks again.
    cache.orderRead('c0', orderOf(50));
    expect(cache.size).toBe(0);
    expect(cache.plan('c0', 20, 10, 50)).toMatchObject({ from: 'index', rereadOrder: true });
  });
});
