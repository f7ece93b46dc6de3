import { computed, signal } from '@angular/core';

/**
 * Keyset paging for the list APIs that take `starting_after` (the id of the
 * previous page's last row) and answer `has_more`: the cursor of the page
 * shown, and those of the pages before it for "Previous". The page owns its
 * rows and loads them with `cursor()`.
 */
export class CursorPager {
  /** `starting_after` of the page shown (undefined = first page). */
  readonly cursor = signal<string | undefined>(undefined);
  private readonly before = signal<(string | undefined)[]>([]);
  readonly hasPrevious = computed(() => this.before().length > 0);
  readonly pageNumber = computed(() => this.before().length + 1);

  /** Back to the first page (new filters or query). */
  reset(): void {
    this.cursor.set(undefined);
    this.before.set([]);
  }

  /** Moves past the last of `rows`; false (nothing changed) when there is no next page. */
  next(rows: readonly { id: string }[], hasMore: boolean): boolean {
    if (!hasMore || rows.length === 0) {
      return false;
    }
    this.before.update((s) => [...s, this.cursor()]);
    this.cursor.set(rows[rows.length - 1].id);
    return true;
  }

  /** Moves back one page; false (nothing changed) on the first page. */
  previous(): boolean {
    const s = this.before();
    if (s.length === 0) {
      return false;
    }
    this.cursor.set(s[s.length - 1]);
    this.before.set(s.slice(0, -1));
    return true;
  }
}
