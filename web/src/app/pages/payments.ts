import { DatePipe } from '@angular/common';
import { ChangeDetectionStrategy, Component, DestroyRef, inject, signal } from '@angular/core';
import { takeUntilDestroyed } from '@angular/core/rxjs-interop';
import { FormControl, FormGroup, ReactiveFormsModule } from '@angular/forms';
import { ActivatedRoute, Router, RouterLink } from '@angular/router';
import { ApiError, toApiError } from '../core/api-error';
import { ApiService, PaymentFilters } from '../core/api.service';
import { Payment, PAYMENT_STATUSES, PROVIDERS } from '../core/api.types';
import { AuthService } from '../core/auth.service';
import { CursorPager } from '../core/cursor-pager';
import { FORM_CURRENCIES, formatMoney } from '../core/money';
import { StreamService } from '../core/stream.service';
import { ErrorBanner } from '../shared/error-banner';
import { isoToLocalInput, localInputToIso } from '../shared/format';

export const PAGE_SIZE = 25;
export const FEED_SIZE = 50;
const FILTER_KEYS = ['status', 'provider', 'currency', 'created_from', 'created_to'] as const;

export interface FeedItem {
  eventId: string;
  event: string;
  payment: Payment;
  receivedAt: Date;
}

/** Whether a payment belongs in a list filtered by `f`. */
export function matchesFilters(p: Payment, f: PaymentFilters): boolean {
  if (f.status && p.status !== f.status) {
    return false;
  }
  if (f.provider && p.provider !== f.provider) {
    return false;
  }
  if (f.currency && p.currency?.toUpperCase() !== f.currency.toUpperCase()) {
    return false;
  }
  const created = Date.parse(p.created_at);
  if (f.created_from && !(created >= Date.parse(f.created_from))) {
    return false;
  }
  if (f.created_to && !(created <= Date.parse(f.created_to))) {
    return false;
  }
  return true;
}

@Component({
  selector: 'pm-payments',
  imports: [ReactiveFormsModule, RouterLink, ErrorBanner, DatePipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="page-head">
      <h1>Payments</h1>
      @if (auth.canWrite()) {
        <a class="btn btn-primary" routerLink="/payments/new" data-testid="new-payment-button" aria-label="New test payment">New test payment</a>
      }
    </div>

    <form class="card filters" [formGroup]="filterForm" (ngSubmit)="applyFilters()" aria-label="Payment filters" data-testid="payments-filters">
      <div class="field">
        <label for="f-status">Status</label>
        <select id="f-status" formControlName="status" data-testid="filter-status">
          <option value="">Any</option>
          @for (s of statuses; track s) {
            <option [value]="s">{{ s }}</option>
          }
        </select>
      </div>
      <div class="field">
        <label for="f-provider">Provider</label>
        <select id="f-provider" formControlName="provider" data-testid="filter-provider">
          <option value="">Any</option>
          @for (p of providers; track p) {
            <option [value]="p">{{ p }}</option>
          }
        </select>
      </div>
      <div class="field">
        <label for="f-currency">Currency</label>
        <select id="f-currency" formControlName="currency" data-testid="filter-currency">
          <option value="">Any</option>
          @for (c of currencies; track c) {
            <option [value]="c">{{ c }}</option>
          }
        </select>
      </div>
      <div class="field">
        <label for="f-from">Created from</label>
        <input id="f-from" type="datetime-local" formControlName="created_from" data-testid="filter-created-from" />
      </div>
      <div class="field">
        <label for="f-to">Created to</label>
        <input id="f-to" type="datetime-local" formControlName="created_to" data-testid="filter-created-to" />
      </div>
      <div class="field actions">
        <button type="submit" class="btn btn-primary" data-testid="filter-apply" aria-label="Apply filters">Apply</button>
        <button type="button" class="btn" data-testid="filter-reset" aria-label="Reset filters" (click)="resetFilters()">Reset</button>
      </div>
    </form>

    <pm-error-banner [error]="error()" [retryable]="true" (retry)="load()" />

    <div class="split">
      <section class="card table-card" aria-labelledby="payments-title">
        <h2 id="payments-title" class="sr-only">Payment list</h2>
        @if (loading()) {
          <p class="loading" data-testid="loading">Loading payments…</p>
        }
        @if (!loading() && !error() && rows().length === 0) {
          <p class="empty" data-testid="empty-state">No payments match these filters.</p>
        }
        @if (rows().length > 0) {
          <div class="table-scroll">
            <table class="table" data-testid="payments-table">
              <thead>
                <tr>
                  <th scope="col" class="hide-narrow">Created</th>
                  <th scope="col">ID</th>
                  <th scope="col" class="num">Amount</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="hide-narrow">Provider</th>
                  <th scope="col" class="hide-narrow">Description</th>
                </tr>
              </thead>
              <tbody>
                @for (p of rows(); track p.id) {
                  <tr data-testid="payment-row" [attr.data-id]="p.id" [attr.data-status]="p.status">
                    <td class="nowrap hide-narrow">{{ p.created_at | date: 'MMM d, HH:mm:ss' }}</td>
                    <td class="id-cell"><a [routerLink]="['/payments', p.id]" class="mono" [title]="p.id">{{ p.id }}</a></td>
                    <td class="num nowrap">{{ money(p.amount, p.currency) }}</td>
                    <td><span class="badge" [attr.data-status]="p.status">{{ p.status }}</span></td>
                    <td class="hide-narrow">{{ p.provider }}</td>
                    <td class="hide-narrow ellipsis">{{ p.description }}</td>
                  </tr>
                }
              </tbody>
            </table>
          </div>
        }
        <div class="pager">
          <button type="button" class="btn" [disabled]="!hasPrevious() || loading()" (click)="previous()" data-testid="payments-prev" aria-label="Previous page">
            ← Previous
          </button>
          <span class="muted small" data-testid="payments-page">Page {{ pageNumber() }}</span>
          <button type="button" class="btn" [disabled]="!hasMore() || loading()" (click)="next()" data-testid="payments-next" aria-label="Next page">
            Next →
          </button>
        </div>
      </section>

      <aside class="card feed" aria-labelledby="feed-title" data-testid="live-feed">
        <h2 id="feed-title">Live feed</h2>
        @if (feed().length === 0) {
          <p class="empty small">Waiting for payment events…</p>
        }
        <ol class="plain-list feed-list" aria-live="polite">
          @for (f of feed(); track f.eventId) {
            <li data-testid="feed-item" [attr.data-id]="f.payment.id" [attr.data-event]="f.event">
              <span class="muted small">{{ f.receivedAt | date: 'HH:mm:ss' }}</span>
              <span class="badge" [attr.data-status]="f.payment.status">{{ f.payment.status }}</span>
              <a [routerLink]="['/payments', f.payment.id]" class="mono small">{{ f.payment.id }}</a>
              <span class="nowrap">{{ money(f.payment.amount, f.payment.currency) }}</span>
              <span class="muted small">{{ f.event }}</span>
            </li>
          }
        </ol>
      </aside>
    </div>
  `,
})
export class PaymentsPage {
  protected readonly auth = inject(AuthService);
  private readonly api = inject(ApiService);
  private readonly stream = inject(StreamService);
  private readonly route = inject(ActivatedRoute);
  private readonly router = inject(Router);

  protected readonly statuses = PAYMENT_STATUSES;
  protected readonly providers = PROVIDERS;
  protected readonly currencies = FORM_CURRENCIES;

  protected readonly filters = signal<PaymentFilters>({});
  protected readonly rows = signal<Payment[]>([]);
  protected readonly hasMore = signal(false);
  protected readonly loading = signal(false);
  protected readonly error = signal<ApiError | null>(null);
  protected readonly feed = signal<FeedItem[]>([]);
  private readonly pager = new CursorPager();
  protected readonly hasPrevious = this.pager.hasPrevious;
  protected readonly pageNumber = this.pager.pageNumber;

  protected readonly filterForm = new FormGroup({
    status: new FormControl('', { nonNullable: true }),
    provider: new FormControl('', { nonNullable: true }),
    currency: new FormControl('', { nonNullable: true }),
    created_from: new FormControl('', { nonNullable: true }),
    created_to: new FormControl('', { nonNullable: true }),
  });

  private loadSub: { unsubscribe(): void } | null = null;

  constructor() {
    const destroyRef = inject(DestroyRef);
    this.route.queryParamMap.pipe(takeUntilDestroyed(destroyRef)).subscribe((qp) => {
      const f: PaymentFilters = {};
      for (const k of FILTER_KEYS) {
        const v = qp.get(k);
        if (v) {
          f[k] = v;
        }
      }
      this.filters.set(f);
      this.filterForm.setValue(
        {
          status: f.status ?? '',
          provider: f.provider ?? '',
          currency: f.currency ?? '',
          created_from: isoToLocalInput(f.created_from),
          created_to: isoToLocalInput(f.created_to),
        },
        { emitEvent: false },
      );
      this.pager.reset();
      this.load();
    });

    this.stream
      .topic<Payment>('payments')
      .pipe(takeUntilDestroyed(destroyRef))
      .subscribe((ev) => this.onLive(ev.id, ev.event, ev.data));
    destroyRef.onDestroy(() => this.loadSub?.unsubscribe());
  }

  protected money(amount: number, currency: string): string {
    return formatMoney(amount, currency);
  }

  applyFilters(): void {
    const v = this.filterForm.getRawValue();
    const queryParams: Record<string, string | null> = {
      status: v.status || null,
      provider: v.provider || null,
      currency: v.currency || null,
      created_from: localInputToIso(v.created_from) || null,
      created_to: localInputToIso(v.created_to) || null,
    };
    void this.router.navigate([], { relativeTo: this.route, queryParams });
  }

  resetFilters(): void {
    this.filterForm.reset();
    void this.router.navigate([], { relativeTo: this.route, queryParams: {} });
  }

  load(): void {
    this.loadSub?.unsubscribe();
    this.loading.set(true);
    this.error.set(null);
    this.loadSub = this.api.listPayments(this.filters(), PAGE_SIZE, this.pager.cursor()).subscribe({
      next: (res) => {
        this.rows.set(res.data ?? []);
        this.hasMore.set(!!res.has_more);
        this.loading.set(false);
      },
      error: (err: unknown) => {
        this.error.set(toApiError(err));
        this.rows.set([]);
        this.hasMore.set(false);
        this.loading.set(false);
      },
    });
  }

  next(): void {
    if (this.pager.next(this.rows(), this.hasMore())) {
      this.load();
    }
  }

  previous(): void {
    if (this.pager.previous()) {
      this.load();
    }
  }

  private onLive(eventId: string, event: string, p: Payment): void {
    if (!p || !p.id) {
      return;
    }
    this.feed.update((f) =>
      [{ eventId: eventId || `${p.id}-${Date.now()}`, event, payment: p, receivedAt: new Date() }, ...f].slice(0, FEED_SIZE),
    );
    const rows = this.rows();
    const idx = rows.findIndex((r) => r.id === p.id);
    const matches = matchesFilters(p, this.filters());
    const firstPage = this.pager.cursor() === undefined;
    if (idx >= 0) {
      if (matches) {
        this.rows.set(rows.map((r, i) => (i === idx ? p : r)));
      } else if (firstPage) {
        this.rows.set(rows.filter((_, i) => i !== idx));
      }
      return;
    }
    if (matches && firstPage && !this.loading()) {
      // Keep the newest-first order: insert by created_at; skip it when it belongs to a later page.
      const created = Date.parse(p.created_at);
      let at = rows.findIndex((r) => Date.parse(r.created_at) <= created);
      if (at < 0) {
        if (this.hasMore()) {
          return;
        }
        at = rows.length;
      }
      const next = [...rows.slice(0, at), p, ...rows.slice(at)];
      if (next.length > PAGE_SIZE) {
        next.length = PAGE_SIZE;
        this.hasMore.set(true);
      }
      this.rows.set(next);
    }
  }
}
