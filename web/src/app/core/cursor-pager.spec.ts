import { CursorPager } from './cursor-pager';

const page = (...ids: string[]) => ids.map((id) => ({ id }));

describe('CursorPager', () => {
  it('walks forward by the last id and back through the earlier cursors', () => {
    const p = new CursorPager();
    expect(p.cursor()).toBeUndefined();
    expect(p.hasPrevious()).toBe(false);
    expect(p.pageNumber()).toBe(1);

    expect(p.next(page('c', 'b'), true)).toBe(true);
    expect(p.cursor()).toBe('b');
    expect(p.next(page('a9', 'a8'), true)).toBe(true);
    expect(p.cursor()).toBe('a8');
    expect(p.pageNumber()).toBe(3);

    expect(p.previous()).toBe(true);
    expect(p.cursor()).toBe('b');
    expect(p.previous()).toBe(true);
    expect(p.cursor()).toBeUndefined();
    expect(p.hasPrevious()).toBe(false);
    expect(p.previous()).toBe(false);
  });

  it('stays put without a next page or rows', () => {
    const p = new CursorPager();
    expect(p.next(page('x'), false)).toBe(false);
    expect(p.next([], true)).toBe(false);
    expect(p.cursor()).toBeUndefined();
    expect(p.pageNumber()).toBe(1);
  });

  it('reset goes back to the first page', () => {
    const p = new CursorPager();
    p.next(page('b'), true);
    p.reset();
    expect(p.cursor()).toBeUndefined();
    expect(p.hasPrevious()).toBe(false);
  });
});
