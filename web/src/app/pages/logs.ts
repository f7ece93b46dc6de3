import { DatePipe, JsonPipe } from '@angular/common';
import {
  afterRenderEffect,
  ChangeDetectionStrategy,
  Component,
  computed,
  DestroyRef,
  ElementRef,
  inject,
  InjectionToken,
  input,
  signal,
  viewChild,
} from '@angular/core';
import { takeUntilDestroyed, toObservable } from '@angular/core/rxjs-interop';
import { FormControl, FormGroup, ReactiveFormsModule } from '@angular/forms';
import { Router, RouterLink } from '@angular/router';
import { ChartData, ChartOptions } from 'chart.js';
import { bufferTime, debounceTime, filter, switchMap } from 'rxjs';
import { ApiError, toApiError } from '../core/api-error';
import { ApiService, LogQuery } from '../core/api.service';
import { CursorPager } from '../core/cursor-pager';
import { LOG_LEVELS, LogEntry, LogStats } from '../core/api.types';
import { LogFilter, StreamService } from '../core/stream.service';
import { ChartComponent, colorFor } from '../shared/chart';
import { ErrorBanner } from '../shared/error-banner';
import { localInputToIso, percent, timeLabel } from '../shared/format';

export const TAIL_CAP = 1000;
/** Rows kept by the live tail (the oldest are dropped); a token so tests can use a small cap. */
export const LOG_TAIL_CAP = new InjectionToken<number>('LOG_TAIL_CAP', { providedIn: 'root', factory: () => TAIL_CAP });
export const STATS_RANGES: Record<string, { ms: number; step: string }> = {
  '15m': { ms: 15 * 60_000, step: '1m' },
  '1h': { ms: 60 * 60_000, step: '1m' },
  '6h': { ms: 6 * 60 * 60_000, step: '5m' },
  '24h': { ms: 24 * 60 * 60_000, step: '15m' },
  '7d': { ms: 7 * 24 * 60 * 60_000, step: '1h' },
};

/** Appends to a capped list, dropping the oldest rows. */
export function appendCapped<T>(rows: T[], more: T[], cap: number): T[] {
  const all = rows.concat(more);
  return all.length > cap ? all.slice(all.length - cap) : all;
}

@Component({
  selector: 'pm-logs',
  imports: [ReactiveFormsModule, ErrorBanner, ChartComponent, DatePipe, JsonPipe, RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="page-head">
      <h1>Logs</h1>
      <div class="tabs" role="tablist" aria-label="Log views">
        @for (t of tabs; track t.id) {
          <button
            type="button"
            role="tab"
            class="tab"
            [class.active]="activeTab() === t.id"
            [attr.aria-selected]="activeTab() === t.id"
            [attr.data-testid]="'logs-tab-' + t.id"
            (click)="selectTab(t.id)"
          >
            {{ t.label }}
          </button>
        }
      </div>
    </div>

    @switch (activeTab()) {
      @case ('tail') {
        <section class="card" aria-label="Live tail">
          <div class="toolbar">
            <fieldset class="levels">
              <legend>Levels</legend>
              @for (l of levels; track l) {
                <label class="check">
                  <input
                    type="checkbox"
                    [checked]="tailLevels().includes(l)"
                    (change)="toggleLevel(l)"
                    [attr.data-testid]="'tail-level-' + l"
                    [attr.aria-label]="'Show ' + l"
                  />
                  {{ l }}
                </label>
              }
            </fieldset>
            <div class="field">
              <label for="tail-service">Service</label>
              <input id="tail-service" type="text" [formControl]="tailService" placeholder="all" data-testid="tail-service" />
            </div>
            <button type="button" class="btn" (click)="togglePause()" data-testid="tail-pause" [attr.aria-pressed]="paused()" [attr.aria-label]="paused() ? 'Resume live tail' : 'Pause live tail'">
              {{ paused() ? 'Resume' : 'Pause' }}
            </button>
            <label class="check">
              <input type="checkbox" [checked]="autoScroll()" (change)="autoScroll.set(!autoScroll())" data-testid="tail-autoscroll" aria-label="Auto-scroll" />
              Auto-scroll
            </label>
            <button type="button" class="btn" (click)="clearTail()" data-testid="tail-clear" aria-label="Clear live tail">Clear</button>
            <span class="muted small" data-testid="tail-count">
              {{ tail().length }} rows
              @if (paused() && pending().length) {
                · {{ pending().length }} new while paused
              }
            </span>
          </div>
          <div class="log-scroll" #tailBox data-testid="log-tail" tabindex="0" aria-label="Live log lines">
            @if (tail().length === 0) {
              <p class="empty" data-testid="empty-state">Waiting for log lines…</p>
            }
            <table class="table log-table">
              <tbody>
                @for (l of tail(); track l.id) {
                  <tr data-testid="log-row" [attr.data-id]="l.id" [attr.data-level]="l.level">
                    <td class="nowrap mono small">{{ l.time | date: 'HH:mm:ss.SSS' }}</td>
                    <td><span class="badge" [attr.data-level]="l.level">{{ l.level }}</span></td>
                    <td class="nowrap">
                      {{ l.service }}
                      @if (l.source) {
                        <span class="mono small muted" data-testid="log-source" title="written by">{{ l.source }}</span>
                      }
                    </td>
                    <td class="msg">
                      {{ l.message }}
                      @if (l.payment_id) {
                        <a [routerLink]="['/payments', l.payment_id]" class="mono small">{{ l.payment_id }}</a>
                      }
                    </td>
                  </tr>
                }
              </tbody>
            </table>
          </div>
        </section>
      }
      @case ('search') {
        <form class="card filters" [formGroup]="searchForm" (ngSubmit)="search()" aria-label="Log search">
          <div class="field">
            <label for="ls-q">Text</label>
            <input id="ls-q" type="search" formControlName="q" data-testid="logs-search-q" />
          </div>
          <div class="field">
            <label for="ls-level">Level</label>
            <select id="ls-level" formControlName="level" data-testid="logs-search-level">
              <option value="">Any</option>
              @for (l of levels; track l) {
                <option [value]="l">{{ l }}</option>
              }
            </select>
          </div>
          <div class="field">
            <label for="ls-service">Service</label>
            <input id="ls-service" type="text" formControlName="service" data-testid="logs-search-service" />
          </div>
          <div class="field">
            <label for="ls-from">From</label>
            <input id="ls-from" type="datetime-local" formControlName="from" data-testid="logs-search-from" />
          </div>
          <div class="field">
            <label for="ls-to">To</label>
            <input id="ls-to" type="datetime-local" formControlName="to" data-testid="logs-search-to" />
          </div>
          <div class="field">
            <label for="ls-payment">Payment id</label>
            <input id="ls-payment" type="text" formControlName="payment_id" data-testid="logs-search-payment-id" />
          </div>
          <div class="field">
            <label for="ls-trace">Trace id</label>
            <input id="ls-trace" type="text" formControlName="trace_id" data-testid="logs-search-trace-id" />
          </div>
          <div class="field">
            <label for="ls-limit">Limit</label>
            <select id="ls-limit" formControlName="limit" data-testid="logs-search-limit">
              <option value="50">50</option>
              <option value="100">100</option>
              <option value="200">200</option>
            </select>
          </div>
          <div class="field actions">
            <button type="submit" class="btn btn-primary" data-testid="logs-search-submit" aria-label="Search logs">Search</button>
          </div>
        </form>
        <pm-error-banner [error]="searchError()" [retryable]="true" (retry)="runSearch()" />
        <section class="card table-card" aria-label="Search results">
          @if (searchLoading()) {
            <p class="loading" data-testid="loading">Searching…</p>
          } @else if (searched() && results().length === 0 && !searchError()) {
            <p class="empty" data-testid="empty-state">No log entries match.</p>
          }
          @if (results().length) {
            <div class="table-scroll">
              <table class="table log-table">
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">Level</th>
                    <th scope="col">Service</th>
                    <th scope="col">Message</th>
                  </tr>
                </thead>
                <tbody>
                  @for (l of results(); track l.id) {
                    <tr data-testid="log-search-row" [attr.data-id]="l.id" [attr.data-level]="l.level">
                      <td class="nowrap mono small">{{ l.time | date: 'MMM d, HH:mm:ss.SSS' }}</td>
                      <td><span class="badge" [attr.data-level]="l.level">{{ l.level }}</span></td>
                      <td class="nowrap">
                        {{ l.service }}
                        @if (l.source) {
                          <span class="mono small muted" data-testid="log-source" title="written by">{{ l.source }}</span>
                        }
                      </td>
                      <td class="msg">
                        {{ l.message }}
                        @if (l.payment_id) {
                          <a [routerLink]="['/payments', l.payment_id]" class="mono small">{{ l.payment_id }}</a>
                        }
                        @if (l.trace_id) {
                          <span class="mono small muted">trace {{ l.trace_id }}</span>
                        }
                        @if (l.attributes && hasKeys(l.attributes)) {
                          <details>
                            <summary class="small">attributes</summary>
                            <pre class="small">{{ l.attributes | json }}</pre>
                          </details>
                        }
                      </td>
                    </tr>
                  }
                </tbody>
              </table>
            </div>
          }
          <div class="pager">
            <button type="button" class="btn" [disabled]="!searchPager.hasPrevious() || searchLoading()" (click)="searchPrev()" data-testid="logs-search-prev" aria-label="Previous page of log results">← Previous</button>
            <button type="button" class="btn" [disabled]="!searchHasMore() || searchLoading()" (click)="searchNext()" data-testid="logs-search-next" aria-label="Next page of log results">Next →</button>
          </div>
        </section>
      }
      @case ('stats') {
        <form class="card filters" [formGroup]="statsForm" (ngSubmit)="loadStats()" aria-label="Log statistics">
          <div class="field">
            <label for="st-service">Service</label>
            <input id="st-service" type="text" formControlName="service" data-testid="logs-stats-service" />
          </div>
          <div class="field">
            <label for="st-range">Range</label>
            <select id="st-range" formControlName="range" data-testid="logs-stats-range">
              @for (r of statsRanges; track r) {
                <option [value]="r">{{ r }}</option>
              }
            </select>
          </div>
          <div class="field actions">
            <button type="submit" class="btn btn-primary" data-testid="logs-stats-submit" aria-label="Load log statistics">Show</button>
          </div>
        </form>
        <pm-error-banner [error]="statsError()" [retryable]="true" (retry)="loadStats()" />
        @if (statsLoading() && !stats()) {
          <p class="loading" data-testid="loading">Loading statistics…</p>
        }
        @if (stats(); as s) {
          <section class="kpis">
            <div class="card kpi" data-testid="logs-stats-total"><div class="kpi-label">Entries</div><div class="kpi-value">{{ s.total }}</div></div>
            <div class="card kpi" data-testid="logs-stats-error-rate">
              <div class="kpi-label">Error rate</div>
              <div class="kpi-value" [class.bad]="s.error_rate > 0.05">{{ pct(s.error_rate, 2) }}</div>
            </div>
            @for (l of levels; track l) {
              <div class="card kpi small-kpi" [attr.data-testid]="'logs-stats-level-' + l">
                <div class="kpi-label">{{ l }}</div>
                <div class="kpi-value">{{ s.by_level[l] ?? 0 }}</div>
              </div>
            }
          </section>
          <section class="grid-2">
            <div class="card" data-testid="chart-logs-by-level">
              <h2>By level per {{ s.step }}</h2>
              @if (s.series.length) {
                <pm-chart type="bar" [data]="levelChart()" [options]="stackedOptions" label="Log entries by level over time" />
              } @else {
                <p class="empty">No entries in this range.</p>
              }
            </div>
            <div class="card" data-testid="chart-logs-by-service">
              <h2>By service</h2>
              @if (hasKeys(s.by_service)) {
                <pm-chart type="bar" [data]="serviceChart()" [options]="horizontalOptions" label="Log entries by service" />
              } @else {
                <p class="empty">No entries in this range.</p>
              }
            </div>
          </section>
          <section class="card" aria-labelledby="top-title">
            <h2 id="top-title">Top messages</h2>
            @if (s.top_messages.length === 0) {
              <p class="empty">None.</p>
            } @else {
              <table class="table" data-testid="logs-top-messages">
                <thead><tr><th scope="col" class="num">Count</th><th scope="col">Message</th></tr></thead>
                <tbody>
                  @for (m of s.top_messages; track $index) {
                    <tr data-testid="top-message-row"><td class="num">{{ m.count }}</td><td class="msg">{{ m.message }}</td></tr>
                  }
                </tbody>
              </table>
            }
          </section>
        }
      }
    }
  `,
})
export class LogsPage {
  private readonly api = inject(ApiService);
  private readonly stream = inject(StreamService);
  private readonly router = inject(Router);
  private readonly cap = inject(LOG_TAIL_CAP);

  /** Query parameter ?tab=tail|search|stats (component input binding). */
  readonly tab = input<string | undefined>();
  protected readonly activeTab = computed(() => (['tail', 'search', 'stats'].includes(this.tab() ?? '') ? this.tab()! : 'tail'));
  protected readonly tabs = [
    { id: 'tail', label: 'Live tail' },
    { id: 'search', label: 'Search' },
    { id: 'stats', label: 'Statistics' },
  ];
  protected readonly levels = LOG_LEVELS;
  protected readonly pct = percent;

  // ---- live tail ----
  protected readonly tailLevels = signal<string[]>([]);
  protected readonly tailService = new FormControl('', { nonNullable: true });
  private readonly tailServiceValue = signal('');
  protected readonly tail = signal<LogEntry[]>([]);
  protected readonly pending = signal<LogEntry[]>([]);
  protected readonly paused = signal(false);
  protected readonly autoScroll = signal(true);
  private readonly tailBox = viewChild<ElementRef<HTMLElement>>('tailBox');
  private readonly tailFilter = computed<LogFilter>(() => ({ levels: this.tailLevels(), service: this.tailServiceValue() }));

  // ---- search ----
  protected readonly searchForm = new FormGroup({
    q: new FormControl('', { nonNullable: true }),
    level: new FormControl('', { nonNullable: true }),
    service: new FormControl('', { nonNullable: true }),
    from: new FormControl('', { nonNullable: true }),
    to: new FormControl('', { nonNullable: true }),
    payment_id: new FormControl('', { nonNullable: true }),
    trace_id: new FormControl('', { nonNullable: true }),
    limit: new FormControl('50', { nonNullable: true }),
  });
  protected readonly results = signal<LogEntry[]>([]);
  protected readonly searchHasMore = signal(false);
  protected readonly searchLoading = signal(false);
  protected readonly searchError = signal<ApiError | null>(null);
  protected readonly searched = signal(false);
  protected readonly searchPager = new CursorPager();
  private searchQuery: LogQuery = {};
  private searchLimit = 50;

  // ---- stats ----
  protected readonly statsRanges = Object.keys(STATS_RANGES);
  protected readonly statsForm = new FormGroup({
    service: new FormControl('', { nonNullable: true }),
    range: new FormControl('1h', { nonNullable: true }),
  });
  protected readonly stats = signal<LogStats | null>(null);
  protected readonly statsLoading = signal(false);
  protected readonly statsError = signal<ApiError | null>(null);
  protected readonly stackedOptions: ChartOptions = {
    scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
  };
  protected readonly horizontalOptions: ChartOptions = {
    indexAxis: 'y',
    plugins: { legend: { display: false } },
    scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
  };
  protected readonly levelChart = computed<ChartData>(() => {
    const s = this.stats();
    const series = s?.series ?? [];
    const present = new Set(series.flatMap((p) => Object.keys(p.by_level ?? {})));
    const levels = [...LOG_LEVELS.filter((l) => present.has(l)), ...[...present].filter((l) => !LOG_LEVELS.includes(l as never))];
    return {
      labels: series.map((p) => timeLabel(p.time)),
      datasets: levels.map((l, i) => ({ label: l, data: series.map((p) => p.by_level?.[l] ?? 0), backgroundColor: colorFor(l, i) })),
    };
  });
  protected readonly serviceChart = computed<ChartData>(() => {
    const by = this.stats()?.by_service ?? {};
    const keys = Object.keys(by).sort((a, b) => by[b] - by[a]);
    return { labels: keys, datasets: [{ label: 'entries', data: keys.map((k) => by[k]), backgroundColor: colorFor('info', 0) }] };
  });

  constructor() {
    const destroyRef = inject(DestroyRef);
    this.tailService.valueChanges
      .pipe(debounceTime(400), takeUntilDestroyed(destroyRef))
      .subscribe((v) => this.tailServiceValue.set(v.trim()));

    toObservable(this.tailFilter)
      .pipe(
        switchMap((f) => this.stream.topic<LogEntry>('logs', f)),
        bufferTime(250),
        filter((batch) => batch.length > 0),
        takeUntilDestroyed(destroyRef),
      )
      .subscribe((batch) => {
        const entries = batch.map((e) => e.data).filter((e): e is LogEntry => !!e && !!e.id);
        if (this.paused()) {
          this.pending.update((p) => appendCapped(p, entries, this.cap));
        } else {
          this.tail.update((rows) => appendCapped(rows, entries, this.cap));
        }
      });

    afterRenderEffect(() => {
      this.tail();
      const box = this.tailBox()?.nativeElement;
      if (box && this.autoScroll() && !this.paused()) {
        box.scrollTop = box.scrollHeight;
      }
    });

    toObservable(this.activeTab)
      .pipe(takeUntilDestroyed(destroyRef))
      .subscribe((t) => {
        if (t === 'stats' && !this.stats() && !this.statsLoading()) {
          this.loadStats();
        }
      });
  }

  protected hasKeys(o: object | null | undefined): boolean {
    return !!o && Object.keys(o).length > 0;
  }

  selectTab(id: string): void {
    void this.router.navigate([], { queryParams: { tab: id }, queryParamsHandling: 'merge' });
  }

  toggleLevel(level: string): void {
    this.tailLevels.update((ls) => (ls.includes(level) ? ls.filter((l) => l !== level) : [...ls, level]));
  }

  togglePause(): void {
    if (this.paused()) {
      const more = this.pending();
      this.pending.set([]);
      this.tail.update((rows) => appendCapped(rows, more, this.cap));
      this.paused.set(false);
    } else {
      this.paused.set(true);
    }
  }

  clearTail(): void {
    this.tail.set([]);
    this.pending.set([]);
  }

  search(): void {
    const v = this.searchForm.getRawValue();
    this.searchQuery = {
      q: v.q.trim(),
      level: v.level,
      service: v.service.trim(),
      from: localInputToIso(v.from),
      to: localInputToIso(v.to),
      payment_id: v.payment_id.trim(),
      trace_id: v.trace_id.trim(),
    };
    this.searchLimit = Number(v.limit) || 50;
    this.searchPager.reset();
    this.runSearch();
  }

  searchNext(): void {
    if (this.searchPager.next(this.results(), this.searchHasMore())) {
      this.runSearch();
    }
  }

  searchPrev(): void {
    if (this.searchPager.previous()) {
      this.runSearch();
    }
  }

  runSearch(): void {
    this.searchLoading.set(true);
    this.searchError.set(null);
    this.api.searchLogs(this.searchQuery, this.searchLimit, this.searchPager.cursor()).subscribe({
      next: (r) => {
        this.results.set(r.data ?? []);
        this.searchHasMore.set(!!r.has_more);
        this.searchLoading.set(false);
        this.searched.set(true);
      },
      error: (err: unknown) => {
        this.searchError.set(toApiError(err));
        this.results.set([]);
        this.searchHasMore.set(false);
        this.searchLoading.set(false);
        this.searched.set(true);
      },
    });
  }

  loadStats(): void {
    const v = this.statsForm.getRawValue();
    const range = STATS_RANGES[v.range] ?? STATS_RANGES['1h'];
    const to = new Date();
    const from = new Date(to.getTime() - range.ms);
    this.statsLoading.set(true);
    this.statsError.set(null);
    this.api
      .logStats({ service: v.service.trim(), from: from.toISOString(), to: to.toISOString(), step: range.step })
      .subscribe({
        next: (s) => {
          this.stats.set(s);
          this.statsLoading.set(false);
        },
        error: (err: unknown) => {
          this.statsError.set(toApiError(err));
          this.statsLoading.set(false);
        },
      });
  }
}
