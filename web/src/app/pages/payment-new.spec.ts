import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { provideRouter, Router } from '@angular/router';
import { RouterTestingHarness } from '@angular/router/testing';
import { signInAs } from '../../testing/helpers';
import { PaymentNewPage } from './payment-new';

describe('PaymentNewPage', () => {
  let ctrl: HttpTestingController;
  let harness: RouterTestingHarness;

  async function render(): Promise<HTMLElement> {
    await harness.fixture.whenStable();
    harness.fixture.detectChanges();
    return harness.routeNativeElement as HTMLElement;
  }

  function set(el: HTMLElement, testid: string, value: string): void {
    const input = el.querySelector(`[data-testid="${testid}"]`) as HTMLInputElement | HTMLSelectElement;
    input.value = value;
    input.dispatchEvent(new Event(input.tagName === 'SELECT' ? 'change' : 'input'));
  }

  beforeEach(async () => {
    sessionStorage.clear();
    signInAs('admin');
    TestBed.configureTestingModule({
      providers: [
        provideRouter([{ path: 'payments/new', component: PaymentNewPage }, { path: 'payments/:id', children: [] }]),
        provideHttpClient(),
        provideHttpClientTesting(),
      ],
    });
    ctrl = TestBed.inject(HttpTestingController);
    harness = await RouterTestingHarness.create();
    await harness.navigateByUrl('/payments/new', PaymentNewPage);
  });

  afterEach(() => ctrl.verify());

  it('posts integer minor units, metadata.simulate and an Idempotency-Key, then opens the payment', async () => {
    const el = await render();
    set(el, 'create-amount', '1.234');
    set(el, 'create-currency', 'KWD');
    set(el, 'create-description', 'e2e');
    set(el, 'create-simulate', 'decline_insufficient_funds');
    (el.querySelector('[data-testid="create-submit"]') as HTMLButtonElement).click();

    const req = ctrl.expectOne('/api/v1/payments');
    expect(req.request.method).toBe('POST');
    expect(req.request.body).toEqual({
      amount: 1234,
      currency: 'KWD',
      description: 'e2e',
      metadata: { simulate: 'decline_insufficient_funds' },
    });
    expect(req.request.headers.get('Idempotency-Key')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    req.flush({ id: 'pay_new' });
    await render();
    expect(TestBed.inject(Router).url).toBe('/payments/pay_new');
  });

  it('reuses the Idempotency-Key when the same form is resubmitted after a failure', async () => {
    const el = await render();
    set(el, 'create-amount', '10');
    (el.querySelector('[data-testid="create-submit"]') as HTMLButtonElement).click();
    const first = ctrl.expectOne('/api/v1/payments');
    const key = first.request.headers.get('Idempotency-Key');
    first.flush(null, { status: 0, statusText: 'Unknown Error' });
    await render();
    expect(el.querySelector('[data-testid="error-banner"]')?.getAttribute('data-kind')).toBe('unreachable');

    (el.querySelector('[data-testid="create-submit"]') as HTMLButtonElement).click();
    const second = ctrl.expectOne('/api/v1/payments');
    expect(second.request.headers.get('Idempotency-Key')).toBe(key);
    expect(second.request.body.amount).toBe(1000);
    second.flush({ id: 'pay_x' });
  });

  it('refuses an amount with too many decimals for the currency', async () => {
    const el = await render();
    set(el, 'create-amount', '12.5');
    set(el, 'create-currency', 'JPY');
    (el.querySelector('[data-testid="create-submit"]') as HTMLButtonElement).click();
    await render();
    expect(el.querySelector('[data-testid="create-amount-error"]')?.textContent).toContain('whole number');
    ctrl.expectNone('/api/v1/payments');
  });
});
