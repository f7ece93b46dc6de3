import { DatePipe } from '@angular/common';
import { ChangeDetectionStrategy, Component, computed, DestroyRef, inject, input, signal, effect, untracked } from '@angular/core';
import { takeUntilDestroyed } from '@angular/core/rxjs-interop';
import { Router } from '@angular/router';
import { ApiError, toApiError } from '../core/api-error';
import { ApiService } from '../core/api.service';
import { Alert } from '../core/api.types';
import { StreamService } from '../core/stream.service';
import { ErrorBanner } from '../shared/error-banner';

@Component({
  selector: 'pm-alerts',
  imports: [ErrorBanner, DatePipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="page-head">
      <h1>Alerts</h1>
      <label for="alerts-state" class="inline-label">State</label>
      <select id="alerts-state" (change)="setState($any($event.target).value)" data-testid="alerts-state">
        <option value="firing" [selected]="state() === 'firing'">Firing</option>
        <option value="resolved" [selected]="state() === 'resolved'">Resolved</option>
      </select>
    </div>
    <pm-error-banner [error]="error()" [retryable]="true" (retry)="load()" />
    <section class="card table-card" [hidden]="!!error() && !loading()">
      @if (loading()) {
        <p class="loading" data-testid="loading">Loading alerts…</p>
      } @else if (!error() && alerts().length === 0) {
        <p class="empty" data-testid="empty-state">{{ state() === 'firing' ? 'No alerts firing. All quiet.' : 'No resolved alerts.' }}</p>
      }
      @if (alerts().length) {
        <div class="table-scroll">
          <table class="table" data-testid="alerts-table">
            <thead>
              <tr>
                <th scope="col">Severity</th>
                <th scope="col">Rule</th>
                <th scope="col">Summary</th>
                <th scope="col">Started</th>
                <th scope="col">Resolved</th>
                <th scope="col" class="hide-narrow">Labels</th>
              </tr>
            </thead>
            <tbody>
              @for (a of alerts(); track a.id) {
                <tr data-testid="alert-row" [attr.data-id]="a.id" [attr.data-state]="a.state" [attr.data-rule]="a.rule">
                  <td><span class="badge" [attr.data-severity]="a.severity">{{ a.severity }}</span></td>
                  <td class="nowrap"><strong>{{ a.rule }}</strong></td>
                  <td>{{ a.summary }}</td>
                  <td class="nowrap small">{{ a.started_at | date: 'MMM d, HH:mm:ss' }}</td>
                  <td class="nowrap small">{{ a.resolved_at ? (a.resolved_at | date: 'MMM d, HH:mm:ss') : '—' }}</td>
                  <td class="hide-narrow small mono">{{ labels(a) }}</td>
                </tr>
              }
            </tbody>
          </table>
        </div>
      }
    </section>
  `,
})
export class AlertsPage {
  private readonly api = inject(ApiService);
  private readonly stream = inject(StreamService);
  private readonly router = inject(Router);

  /** Query parameter ?state=firing|resolved (component input binding). */
  readonly stateParam = input<string | undefined>(undefined, { alias: 'state' });
  protected readonly state = computed(() => (this.stateParam() === 'resolved' ? 'resolved' : 'firing'));
  protected readonly alerts = signal<Alert[]>([]);
  protected readonly loading = signal(false);
  protected readonly error = signal<ApiError | null>(null);

  constructor() {
    effect(() => {
      this.state();
      untracked(() => this.load());
    });
    this.stream
      .topic<Alert>('alerts')
      .pipe(takeUntilDestroyed(inject(DestroyRef)))
      .subscribe((ev) => {
        const a = ev.data;
        if (!a?.id) {
          return;
        }
        const rest = this.alerts().filter((x) => x.id !== a.id);
        this.alerts.set(a.state === this.state() ? [a, ...rest] : rest);
      });
  }

  protected labels(a: Alert): string {
    return Object.entries(a.labels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
  }

  setState(state: string): void {
    void this.router.navigate([], { queryParams: { state } });
  }

  load(): void {
    this.loading.set(true);
    this.error.set(null);
    this.api.alerts(this.state()).subscribe({
      next: (r) => {
        this.alerts.set(r.data ?? []);
        this.loading.set(false);
      },
      error: (err: unknown) => {
        this.error.set(toApiError(err));
        this.alerts.set([]);
        this.loading.set(false);
      },
    });
  }
}
