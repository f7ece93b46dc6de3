import { ChangeDetectionStrategy, Component, DestroyRef, inject, signal } from '@angular/core';
import { takeUntilDestroyed } from '@angular/core/rxjs-interop';
import { FormControl, FormGroup, ReactiveFormsModule } from '@angular/forms';
import { Router, RouterLink } from '@angular/router';
import { ApiError, toApiError } from '../core/api-error';
import { ApiService, CreatePaymentRequest } from '../core/api.service';
import { SIMULATE_OUTCOMES } from '../core/api.types';
import { FORM_CURRENCIES, MoneyError, toMinorUnits } from '../core/money';
import { newIdempotencyKey } from '../core/uuid';
import { ErrorBanner } from '../shared/error-banner';

@Component({
  selector: 'pm-payment-new',
  imports: [ReactiveFormsModule, RouterLink, ErrorBanner],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="page-head">
      <a routerLink="/payments" class="back" aria-label="Back to payments">← Payments</a>
      <h1>New test payment</h1>
    </div>
    <pm-error-banner [error]="error()" />
    <form class="card form-grid" [formGroup]="form" (ngSubmit)="submit()" data-testid="create-payment-form" aria-label="New test payment">
      <div class="field">
        <label for="np-amount">Amount (major units, e.g. 12.34)</label>
        <input
          id="np-amount"
          type="text"
          inputmode="decimal"
          autocomplete="off"
          formControlName="amount"
          data-testid="create-amount"
          required
          [attr.aria-invalid]="!!amountError()"
          aria-describedby="np-amount-error"
        />
        @if (amountError()) {
          <p id="np-amount-error" class="field-error" role="alert" data-testid="create-amount-error">{{ amountError() }}</p>
        }
      </div>
      <div class="field">
        <label for="np-currency">Currency</label>
        <select id="np-currency" formControlName="currency" data-testid="create-currency">
          @for (c of currencies; track c) {
            <option [value]="c">{{ c }}</option>
          }
        </select>
      </div>
      <div class="field wide">
        <label for="np-description">Description</label>
        <input id="np-description" type="text" formControlName="description" maxlength="500" data-testid="create-description" />
      </div>
      <div class="field">
        <label for="np-simulate">Simulator outcome</label>
        <select id="np-simulate" formControlName="simulate" data-testid="create-simulate">
          <option value="">Random (provider default)</option>
          @for (o of outcomes; track o) {
            <option [value]="o">{{ o }}</option>
          }
        </select>
      </div>
      <div class="field actions">
        <button type="submit" class="btn btn-primary" [disabled]="busy()" data-testid="create-submit" aria-label="Create payment">
          {{ busy() ? 'Creating…' : 'Create payment' }}
        </button>
      </div>
    </form>
  `,
})
export class PaymentNewPage {
  private readonly api = inject(ApiService);
  private readonly router = inject(Router);

  protected readonly currencies = FORM_CURRENCIES;
  protected readonly outcomes = SIMULATE_OUTCOMES;
  protected readonly busy = signal(false);
  protected readonly error = signal<ApiError | null>(null);
  protected readonly amountError = signal<string | null>(null);

  protected readonly form = new FormGroup({
    amount: new FormControl('', { nonNullable: true }),
    currency: new FormControl<string>('EUR', { nonNullable: true }),
    description: new FormControl('', { nonNullable: true }),
    simulate: new FormControl<string>('succeed', { nonNullable: true }),
  });

  /** Reused while the form is unchanged, so resubmitting after a network error cannot pay twice. */
  private idempotencyKey: string | null = null;

  constructor() {
    this.form.valueChanges.pipe(takeUntilDestroyed(inject(DestroyRef))).subscribe(() => {
      this.idempotencyKey = null;
      this.amountError.set(null);
    });
  }

  submit(): void {
    const v = this.form.getRawValue();
    let amount: number;
    try {
      amount = toMinorUnits(v.amount, v.currency);
    } catch (e) {
      this.amountError.set(e instanceof MoneyError ? e.message : String(e));
      return;
    }
    const body: CreatePaymentRequest = { amount, currency: v.currency };
    if (v.description.trim()) {
      body.description = v.description.trim();
    }
    if (v.simulate) {
      body.metadata = { simulate: v.simulate };
    }
    this.idempotencyKey ??= newIdempotencyKey();
    this.busy.set(true);
    this.error.set(null);
    this.api.createPayment(body, this.idempotencyKey).subscribe({
      next: (p) => {
        this.busy.set(false);
        this.idempotencyKey = null;
        void this.router.navigate(['/payments', p.id]);
      },
      error: (err: unknown) => {
        this.busy.set(false);
        this.error.set(toApiError(err));
      },
    });
  }
}
