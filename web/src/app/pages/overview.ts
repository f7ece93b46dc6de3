import { ChangeDetectionStrategy, Component, computed, DestroyRef, inject, signal } from '@angular/core';
import { takeUntilDestroyed } from '@angular/core/rxjs-interop';
import { RouterLink } from '@angular/router';
import { ChartData, ChartOptions } from 'chart.js';
import { catchError, EMPTY, interval, merge, Subject, switchMap, tap, throttleTime } from 'rxjs';
import { ApiError, toApiError } from '../core/api-error';
import { ApiService } from '../core/api.service';
import { Alert, Overview } from '../core/api.types';
import { formatMoney, minorToChartValue } from '../core/money';
import { StreamService } from '../core/stream.service';
import { ChartComponent, colorFor } from '../shared/chart';
import { ErrorBanner } from '../shared/error-banner';
import { percent, seconds, timeLabel } from '../shared/format';

export const OVERVIEW_WINDOWS = ['15m', '1h', '6h', '24h'] as const;

@Component({
  selector: 'pm-overview',
  imports: [ChartComponent, ErrorBanner, RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="page-head">
      <h1>Overview</h1>
      <label for="overview-window" class="inline-label">Window</label>
      <select id="overview-window" data-testid="overview-window" (change)="setWindow($any($event.target).value)">
        @for (w of windows; track w) {
          <option [value]="w" [selected]="w === window()">{{ w }}</option>
        }
      </select>
      <button type="button" class="btn btn-small" (click)="reload()" aria-label="Refresh overview" data-testid="overview-refresh">Refresh</button>
    </div>

    <pm-error-banner [error]="error()" [retryable]="true" (retry)="reload()" />

    @if (loading() && !data()) {
      <p class="loading" data-testid="loading">Loading overview…</p>
    }

    @if (data(); as d) {
      <section class="kpis" aria-label="Key figures">
        <div class="card kpi" data-testid="kpi-volume">
          <div class="kpi-label">Volume</div>
          @for (v of volumes(); track v.currency) {
            <div class="kpi-value" [attr.data-testid]="'kpi-volume-' + v.currency">{{ v.text }}</div>
          } @empty {
            <div class="kpi-value muted">No payments</div>
          }
        </div>
        <div class="card kpi" data-testid="kpi-success-rate">
          <div class="kpi-label">Success rate</div>
          <div class="kpi-value">{{ pct(d.payments.success_rate) }}</div>
          <div class="muted small">{{ d.payments.total }} payments</div>
        </div>
        <div class="card kpi" data-testid="kpi-failed">
          <div class="kpi-label">Failed</div>
          <div class="kpi-value" [class.bad]="(d.payments.by_status['failed'] ?? 0) > 0">{{ d.payments.by_status['failed'] ?? 0 }}</div>
        </div>
        <div class="card kpi" data-testid="kpi-p99">
          <div class="kpi-label">API latency p99</div>
          <div class="kpi-value">{{ secs(d.api_latency_p99_seconds) }}</div>
        </div>
        <div class="card kpi" data-testid="kpi-alerts">
          <div class="kpi-label">Alerts firing</div>
          <div class="kpi-value" [class.bad]="d.alerts_firing > 0">{{ d.alerts_firing }}</div>
        </div>
      </section>

      <section class="grid-2">
        <div class="card" data-testid="chart-payments-by-status">
          <h2>Payments per {{ d.step }} by status</h2>
          @if (d.payments.series.length) {
            <pm-chart type="bar" [data]="statusChart()" [options]="stackedOptions" label="Payments per minute by status" />
          } @else {
            <p class="empty" data-testid="empty-state">No payments in this window.</p>
          }
        </div>
        <div class="card" data-testid="chart-amount-by-currency">
          <h2>Amount by currency (major units)</h2>
          @if (d.payments.series.length) {
            <pm-chart type="line" [data]="amountChart()" label="Amount by currency over time" />
          } @else {
            <p class="empty">No payments in this window.</p>
          }
        </div>
      </section>
    }

    <section class="card" aria-labelledby="firing-title">
      <h2 id="firing-title">Firing alerts</h2>
      @if (alerts().length === 0) {
        <p class="empty" data-testid="no-firing-alerts">No alerts firing.</p>
      } @else {
        <ul class="plain-list">
          @for (a of alerts(); track a.id) {
            <li data-testid="overview-alert" [attr.data-id]="a.id">
              <span class="badge" [attr.data-severity]="a.severity">{{ a.severity }}</span>
              <strong>{{ a.rule }}</strong> — {{ a.summary }}
              <span class="muted small">since {{ a.started_at }}</span>
            </li>
          }
        </ul>
        <a routerLink="/alerts">All alerts</a>
      }
    </section>
  `,
})
export class OverviewPage {
  private readonly api = inject(ApiService);
  private readonly stream = inject(StreamService);

  protected readonly windows = OVERVIEW_WINDOWS;
  protected readonly window = signal<string>('1h');
  protected readonly data = signal<Overview | null>(null);
  protected readonly loading = signal(false);
  protected readonly error = signal<ApiError | null>(null);
  protected readonly alerts = signal<Alert[]>([]);
  private readonly reload$ = new Subject<void>();

  protected readonly stackedOptions: ChartOptions = {
    scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
  };

  protected readonly volumes = computed(() => {
    const v = this.data()?.payments.volume ?? {};
    return Object.keys(v)
      .sort()
      .map((currency) => ({ currency, text: formatMoney(v[currency], currency) }));
  });

  protected readonly statusChart = computed<ChartData>(() => {
    const series = this.data()?.payments.series ?? [];
    const statuses = [...new Set(series.flatMap((p) => Object.keys(p.by_status ?? {})))].sort();
    return {
      labels: series.map((p) => timeLabel(p.time)),
      datasets: statuses.map((s, i) => ({
        label: s,
        data: series.map((p) => p.by_status?.[s] ?? 0),
        backgroundColor: colorFor(s, i),
      })),
    };
  });

  protected readonly amountChart = computed<ChartData>(() => {
    const series = this.data()?.payments.series ?? [];
    const currencies = [...new Set(series.flatMap((p) => Object.keys(p.amount_by_currency ?? {})))].sort();
    return {
      labels: series.map((p) => timeLabel(p.time)),
      datasets: currencies.map((c, i) => ({
        label: c,
        data: series.map((p) => minorToChartValue(p.amount_by_currency?.[c] ?? 0, c)),
        borderColor: colorFor(c, i + 3),
        backgroundColor: colorFor(c, i + 3),
        tension: 0,
        pointRadius: series.length > 30 ? 0 : 3,
      })),
    };
  });

  protected readonly pct = percent;
  protected readonly secs = seconds;

  constructor() {
    const destroyRef = inject(DestroyRef);
    const live$ = this.stream.topic('payments').pipe(throttleTime(3000, undefined, { leading: true, trailing: true }));
    merge(this.reload$, live$, interval(30_000))
      .pipe(
        tap(() => this.loading.set(true)),
        switchMap(() =>
          this.api.overview(this.window()).pipe(
            catchError((err: unknown) => {
              this.error.set(toApiError(err));
              this.loading.set(false);
              return EMPTY;
            }),
          ),
        ),
        takeUntilDestroyed(destroyRef),
      )
      .subscribe((d) => {
        this.data.set(d);
        this.error.set(null);
        this.loading.set(false);
      });

    this.api.alerts('firing').subscribe({
      next: (r) => this.alerts.set(r.data ?? []),
      error: () => undefined, // the overview banner already reports API trouble
    });
    this.stream
      .topic<Alert>('alerts')
      .pipe(takeUntilDestroyed(destroyRef))
      .subscribe((ev) => {
        const a = ev.data;
        const rest = this.alerts().filter((x) => x.id !== a.id);
        this.alerts.set(a.state === 'firing' ? [a, ...rest] : rest);
      });

    this.reload();
  }

  reload(): void {
    this.reload$.next();
  }

  setWindow(w: string): void {
    this.window.set(w);
    this.reload();
  }
}
