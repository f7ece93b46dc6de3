import { DatePipe, JsonPipe } from '@angular/common';
import { ChangeDetectionStrategy, Component, computed, DestroyRef, effect, inject, input, signal, untracked } from '@angular/core';
import { takeUntilDestroyed } from '@angular/core/rxjs-interop';
import { FormControl, FormGroup, ReactiveFormsModule } from '@angular/forms';
import { RouterLink } from '@angular/router';
import { ApiError, toApiError } from '../core/api-error';
import { ApiService } from '../core/api.service';
import { Payment, WebhookEvent } from '../core/api.types';
import { AuthService } from '../core/auth.service';
import { formatMoney, MoneyError, toMinorUnits } from '../core/money';
import { StreamService } from '../core/stream.service';
import { ErrorBanner } from '../shared/error-banner';

@Component({
  selector: 'pm-payment-detail',
  imports: [RouterLink, ReactiveFormsModule, ErrorBanner, DatePipe, JsonPipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="page-head">
      <a routerLink="/payments" class="back" aria-label="Back to payments">← Payments</a>
      <h1>Payment <span class="mono">{{ id() }}</span></h1>
    </div>

    <pm-error-banner [error]="error()" [retryable]="!payment()" (retry)="load()" />

    @if (loading() && !payment()) {
      <p class="loading" data-testid="loading">Loading payment…</p>
    }

    @if (payment(); as p) {
      <div class="grid-2">
        <section class="card" data-testid="payment-detail" [attr.data-id]="p.id" [attr.data-status]="p.status">
          <dl class="facts">
            <dt>Amount</dt>
            <dd data-testid="payment-amount">{{ money(p.amount, p.currency) }}</dd>
            <dt>Status</dt>
            <dd><span class="badge" [attr.data-status]="p.status" data-testid="payment-status">{{ p.status }}</span></dd>
            <dt>Refunded</dt>
            <dd data-testid="payment-refunded">{{ money(p.amount_refunded || 0, p.currency) }}</dd>
            <dt>Provider</dt>
            <dd>{{ p.provider }} @if (p.provider_payment_id) {<span class="mono small">{{ p.provider_payment_id }}</span>}</dd>
            <dt>Description</dt>
            <dd>{{ p.description || '—' }}</dd>
            @if (p.failure_reason) {
              <dt>Failure reason</dt>
              <dd class="bad" data-testid="payment-failure-reason">{{ p.failure_reason }}</dd>
            }
            @if (p.next_action) {
              <dt>Next action</dt>
              <dd>
                {{ p.next_action.type }}
                @if (p.next_action.url) {
                  <a [href]="p.next_action.url" target="_blank" rel="noopener">open</a>
                }
              </dd>
            }
            <dt>Created</dt>
            <dd>{{ p.created_at | date: 'medium' }}</dd>
            <dt>Updated</dt>
            <dd>{{ p.updated_at | date: 'medium' }}</dd>
            @if (p.metadata && hasKeys(p.metadata)) {
              <dt>Metadata</dt>
              <dd><code class="small">{{ p.metadata | json }}</code></dd>
            }
          </dl>
        </section>

        <section class="card" aria-labelledby="timeline-title">
          <h2 id="timeline-title">Timeline</h2>
          @if (!p.events || p.events.length === 0) {
            <p class="empty">No events recorded.</p>
          } @else {
            <ol class="timeline" data-testid="payment-timeline">
              @for (e of p.events; track $index) {
                <li data-testid="payment-event" [attr.data-type]="e.type">
                  <strong>{{ e.type }}</strong>
                  <span class="muted small">{{ e.at | date: 'MMM d, HH:mm:ss.SSS' }}</span>
                  @if (e.reason) {
                    <div class="small">{{ e.reason }}</div>
                  }
                </li>
              }
            </ol>
          }
        </section>
      </div>

      <section class="card" aria-labelledby="events-title" data-testid="payment-webhook-events">
        <h2 id="events-title">Events sent to webhooks</h2>
        @if (eventsError()) {
          <p class="bad small" data-testid="payment-webhook-events-error">Cannot list the events: {{ eventsError() }}</p>
        }
        @if (events() === null) {
          @if (!eventsError()) {
            <p class="loading small">Loading events…</p>
          }
        } @else if (events()!.length === 0) {
          <p class="empty" data-testid="payment-webhook-events-empty">No events recorded for this payment.</p>
        } @else {
          <div class="table-scroll">
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">Type</th>
                  <th scope="col">Time</th>
                  <th scope="col">Event id</th>
                </tr>
              </thead>
              <tbody>
                @for (ev of events(); track ev.id) {
                  <tr data-testid="payment-webhook-event" [attr.data-id]="ev.id" [attr.data-type]="ev.type">
                    <td><strong>{{ ev.type }}</strong></td>
                    <td class="nowrap small">{{ ev.created_at | date: 'MMM d, HH:mm:ss.SSS' }}</td>
                    <td class="mono small">{{ ev.id }}</td>
                  </tr>
                }
              </tbody>
            </table>
          </div>
        }
      </section>

      @if (notice()) {
        <div class="banner banner-ok" role="status" data-testid="action-notice">{{ notice() }}</div>
      }

      @if (auth.canWrite()) {
        @if (refundable() > 0) {
          <form class="card inline-form" [formGroup]="refundForm" (ngSubmit)="refund()" aria-labelledby="refund-title" data-testid="refund-form">
            <h2 id="refund-title">Refund</h2>
            <label for="refund-amount">Amount in {{ p.currency }} (empty = full refund of {{ money(refundable(), p.currency) }})</label>
            <input
              id="refund-amount"
              type="text"
              inputmode="decimal"
              autocomplete="off"
              formControlName="amount"
              data-testid="refund-amount"
              [attr.aria-invalid]="!!refundError()"
              aria-describedby="refund-error"
            />
            @if (refundError()) {
              <p id="refund-error" class="field-error" role="alert" data-testid="refund-error">{{ refundError() }}</p>
            }
            <button type="submit" class="btn btn-danger" [disabled]="busy()" data-testid="refund-button" aria-label="Refund payment">
              {{ busy() ? 'Refunding…' : 'Refund' }}
            </button>
          </form>
        }
        @if (p.status === 'pending') {
          <div class="card inline-form">
            <h2>Cancel</h2>
            <p class="small muted">The payment is still pending; cancelling it stops it for good.</p>
            <button type="button" class="btn btn-danger" [disabled]="busy()" (click)="cancel()" data-testid="cancel-button" aria-label="Cancel payment">
              {{ busy() ? 'Cancelling…' : 'Cancel payment' }}
            </button>
          </div>
        }
      }
    }
  `,
})
export class PaymentDetailPage {
  protected readonly auth = inject(AuthService);
  private readonly api = inject(ApiService);
  private readonly stream = inject(StreamService);

  /** Route parameter :id (component input binding). */
  readonly id = input.required<string>();

  protected readonly payment = signal<Payment | null>(null);
  /** The merchant events of this payment; null until loaded. */
  protected readonly events = signal<WebhookEvent[] | null>(null);
  protected readonly eventsError = signal<string | null>(null);
  protected readonly loading = signal(false);
  protected readonly busy = signal(false);
  protected readonly error = signal<ApiError | null>(null);
  protected readonly refundError = signal<string | null>(null);
  protected readonly notice = signal<string | null>(null);
  protected readonly refundForm = new FormGroup({ amount: new FormControl('', { nonNullable: true }) });

  /** What can still be refunded, in minor units (0 unless succeeded). */
  protected readonly refundable = computed(() => {
    const p = this.payment();
    if (!p || p.status !== 'succeeded') {
      return 0;
    }
    return Math.max(0, p.amount - (p.amount_refunded ?? 0));
  });

  constructor() {
    effect(() => {
      this.id();
      untracked(() => this.load());
    });
    this.stream
      .topic<Payment>('payments')
      .pipe(takeUntilDestroyed(inject(DestroyRef)))
      .subscribe((ev) => {
        if (ev.data?.id === this.id()) {
          this.payment.set(ev.data);
          // The change wrote its event in the same transaction: the list has it now.
          this.loadEvents();
        }
      });
  }

  protected money(amount: number, currency: string): string {
    return formatMoney(amount, currency);
  }

  protected hasKeys(o: object): boolean {
    return Object.keys(o).length > 0;
  }

  load(): void {
    this.loading.set(true);
    this.error.set(null);
    this.api.getPayment(this.id()).subscribe({
      next: (p) => {
        this.payment.set(p);
        this.loading.set(false);
        this.loadEvents();
      },
      error: (err: unknown) => {
        this.error.set(toApiError(err));
        this.loading.set(false);
      },
    });
  }

  /** Failing to list events must not hide the payment: the section keeps its last content. */
  loadEvents(): void {
    this.api.paymentEvents(this.id()).subscribe({
      next: (r) => {
        this.events.set(r.data);
        this.eventsError.set(null);
      },
      error: (err: unknown) => this.eventsError.set(toApiError(err).message),
    });
  }

  refund(): void {
    const p = this.payment();
    if (!p) {
      return;
    }
    this.refundError.set(null);
    this.notice.set(null);
    let amount: number | undefined;
    const text = this.refundForm.controls.amount.value.trim();
    if (text !== '') {
      try {
        amount = toMinorUnits(text, p.currency);
      } catch (e) {
        this.refundError.set(e instanceof MoneyError ? e.message : String(e));
        return;
      }
      if (amount > this.refundable()) {
        this.refundError.set(`At most ${formatMoney(this.refundable(), p.currency)} can be refunded.`);
        return;
      }
    }
    this.busy.set(true);
    this.error.set(null);
    this.api.refundPayment(p.id, amount).subscribe({
      next: (updated) => {
        this.busy.set(false);
        this.payment.set(updated);
        this.loadEvents();
        this.refundForm.controls.amount.setValue('');
        this.notice.set(`Refunded ${formatMoney(amount ?? p.amount - (p.amount_refunded ?? 0), p.currency)}.`);
      },
      error: (err: unknown) => {
        this.busy.set(false);
        this.error.set(toApiError(err));
      },
    });
  }

  cancel(): void {
    const p = this.payment();
    if (!p) {
      return;
    }
    this.busy.set(true);
    this.error.set(null);
    this.notice.set(null);
    this.api.cancelPayment(p.id).subscribe({
      next: (updated) => {
        this.busy.set(false);
        this.payment.set(updated);
        this.loadEvents();
        this.notice.set('Payment cancelled.');
      },
      error: (err: unknown) => {
        this.busy.set(false);
        this.error.set(toApiError(err));
      },
    });
  }
}
