import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { provideRouter, withComponentInputBinding } from '@angular/router';
import { RouterTestingHarness } from '@angular/router/testing';
import { signInAs, StubStream } from '../../testing/helpers';
import { Payment, WebhookEvent } from '../core/api.types';
import { authInterceptor } from '../core/auth.interceptor';
import { StreamService } from '../core/stream.service';
import { PaymentDetailPage } from './payment-detail';

const BASE: Payment = {
  id: 'pay_42',
  amount: 5000,
  currency: 'EUR',
  status: 'succeeded',
  provider: 'simulator',
  provider_payment_id: 'sim_42',
  next_action: null,
  description: 'coffee',
  metadata: { simulate: 'succeed' },
  amount_refunded: 1000,
  failure_reason: null,
  created_at: '2026-01-01T10:00:00Z',
  updated_at: '2026-01-01T10:00:01Z',
  events: [
    { type: 'created', at: '2026-01-01T10:00:00Z', reason: '' },
    { type: 'succeeded', at: '2026-01-01T10:00:01Z', reason: 'simulator: succeed' },
  ],
};

describe('PaymentDetailPage', () => {
  let ctrl: HttpTestingController;
  let stream: StubStream;
  let harness: RouterTestingHarness;

  async function open(role: string, p: Payment = BASE): Promise<HTMLElement> {
    signInAs(role);
    harness = await RouterTestingHarness.create();
    await harness.navigateByUrl(`/payments/${p.id}`, PaymentDetailPage);
    ctrl.expectOne(`/api/v1/payments/${p.id}`).flush(p);
    await render();
    flushEvents(p.id, EVENTS);
    return render();
  }

  const EVENTS: WebhookEvent[] = [
    { id: 'evt_2', type: 'payment.succeeded', payment_id: 'pay_42', created_at: '2026-01-01T10:00:01Z' },
    { id: 'evt_1', type: 'payment.created', payment_id: 'pay_42', created_at: '2026-01-01T10:00:00Z' },
  ];

  function flushEvents(id: string, events: WebhookEvent[]): void {
    const req = ctrl.expectOne((r) => r.url === '/api/v1/events' && r.params.get('payment_id') === id);
    expect(req.request.method).toBe('GET');
    req.flush({ data: events, has_more: false });
  }

  async function render(): Promise<HTMLElement> {
    await harness.fixture.whenStable();
    harness.fixture.detectChanges();
    return harness.routeNativeElement as HTMLElement;
  }

  function q<T extends Element = HTMLElement>(el: HTMLElement, testid: string): T | null {
    return el.querySelector(`[data-testid="${testid}"]`) as T | null;
  }

  async function type(el: HTMLElement, testid: string, value: string): Promise<void> {
    const input = q<HTMLInputElement>(el, testid)!;
    input.value = value;
    input.dispatchEvent(new Event('input'));
    await render();
  }

  beforeEach(() => {
    sessionStorage.clear();
    stream = new StubStream();
    TestBed.configureTestingModule({
      providers: [
        provideRouter([{ path: 'payments/:id', component: PaymentDetailPage }], withComponentInputBinding()),
        provideHttpClient(withInterceptors([authInterceptor])),
        provideHttpClientTesting(),
        { provide: StreamService, useValue: stream },
      ],
    });
    ctrl = TestBed.inject(HttpTestingController);
  });

  afterEach(() => {
    ctrl.verify();
    sessionStorage.clear();
  });

  it('shows the payment and its events timeline', async () => {
    const el = await open('viewer');
    expect(q(el, 'payment-status')?.textContent?.trim()).toBe('succeeded');
    expect(q(el, 'payment-amount')?.textContent).toContain('€50.00');
    expect(q(el, 'payment-refunded')?.textContent).toContain('€10.00');
    const events = Array.from(el.querySelectorAll('[data-testid="payment-event"]')).map((e) => e.getAttribute('data-type'));
    expect(events).toEqual(['created', 'succeeded']);
  });

  it('lists the events sent for the payment', async () => {
    const el = await open('viewer');
    const rows = Array.from(el.querySelectorAll('[data-testid="payment-webhook-event"]'));
    expect(rows.map((r) => r.getAttribute('data-type'))).toEqual(['payment.succeeded', 'payment.created']);
    expect(rows[0].textContent).toContain('evt_2');
    expect(q(el, 'payment-webhook-events-error')).toBeNull();
  });

  it('shows an error in the events section when the events cannot be listed', async () => {
    signInAs('viewer');
    harness = await RouterTestingHarness.create();
    await harness.navigateByUrl('/payments/pay_42', PaymentDetailPage);
    ctrl.expectOne('/api/v1/payments/pay_42').flush(BASE);
    await render();
    ctrl
      .expectOne((r) => r.url === '/api/v1/events')
      .flush({ error: { code: 'internal', message: 'store down' } }, { status: 503, statusText: 'Unavailable' });
    const el = await render();
    expect(q(el, 'payment-status')?.textContent?.trim()).toBe('succeeded');
    expect(q(el, 'payment-webhook-events-error')?.textContent).toContain('store down');
    expect(q(el, 'payment-webhook-events-empty')).toBeNull();
  });

  it('viewers see no refund or cancel controls', async () => {
    const el = await open('viewer');
    expect(q(el, 'refund-button')).toBeNull();
    expect(q(el, 'refund-amount')).toBeNull();
    expect(q(el, 'cancel-button')).toBeNull();
  });

  it('a partial refund posts the amount in minor units', async () => {
    const el = await open('operator');
    await type(el, 'refund-amount', '12.34');
    q<HTMLButtonElement>(el, 'refund-button')!.click();
    const req = ctrl.expectOne('/api/v1/payments/pay_42/refund');
    expect(req.request.method).toBe('POST');
    expect(req.request.body).toEqual({ amount: 1234 });
    req.flush({ ...BASE, amount_refunded: 2234 });
    await render();
    flushEvents('pay_42', [{ id: 'evt_3', type: 'payment.partially_refunded', payment_id: 'pay_42', created_at: '2026-01-01T10:05:00Z' }, ...EVENTS]);
    const after = await render();
    expect(after.querySelectorAll('[data-testid="payment-webhook-event"]').length).toBe(3);
    expect(q(after, 'payment-refunded')?.textContent).toContain('€22.34');
    expect(q(after, 'action-notice')?.textContent).toContain('€12.34');
  });

  it('an empty amount is a full refund with an empty body', async () => {
    const el = await open('admin');
    q<HTMLButtonElement>(el, 'refund-button')!.click();
    const req = ctrl.expectOne('/api/v1/payments/pay_42/refund');
    expect(req.request.body).toEqual({});
    req.flush({ ...BASE, status: 'refunded', amount_refunded: 5000 });
    await render();
    flushEvents('pay_42', EVENTS);
    const after = await render();
    expect(q(after, 'payment-status')?.textContent?.trim()).toBe('refunded');
    expect(q(after, 'refund-button')).toBeNull();
  });

  it('rejects a bad refund amount without calling the API', async () => {
    const el = await open('operator');
    await type(el, 'refund-amount', '1.234');
    q<HTMLButtonElement>(el, 'refund-button')!.click();
    await type(el, 'refund-amount', '1.234'); // re-render
    expect(q(el, 'refund-error')?.textContent).toContain('at most 2 decimal');
    await type(el, 'refund-amount', '40.01');
    q<HTMLButtonElement>(el, 'refund-button')!.click();
    await render();
    expect(q(el, 'refund-error')?.textContent).toContain('€40.00');
    ctrl.expectNone('/api/v1/payments/pay_42/refund');
  });

  it('shows a 409 from the API with its request id', async () => {
    const el = await open('operator');
    q<HTMLButtonElement>(el, 'refund-button')!.click();
    ctrl
      .expectOne('/api/v1/payments/pay_42/refund')
      .flush(
        { error: { code: 'illegal_transition', message: 'payment is already refunded', request_id: 'req-9' } },
        { status: 409, statusText: 'Conflict' },
      );
    const after = await render();
    expect(q(after, 'error-banner')?.textContent).toContain('payment is already refunded');
    expect(q(after, 'error-request-id')?.textContent).toBe('req-9');
  });

  it('a pending payment can be cancelled by an operator, and live updates apply', async () => {
    const pending: Payment = { ...BASE, status: 'pending', amount_refunded: 0 };
    const el = await open('operator', pending);
    expect(q(el, 'refund-button')).toBeNull();
    q<HTMLButtonElement>(el, 'cancel-button')!.click();
    const req = ctrl.expectOne('/api/v1/payments/pay_42/cancel');
    expect(req.request.method).toBe('POST');
    req.flush({ ...pending, status: 'canceled' });
    await render();
    flushEvents('pay_42', EVENTS);
    let after = await render();
    expect(q(after, 'payment-status')?.textContent?.trim()).toBe('canceled');
    expect(q(after, 'cancel-button')).toBeNull();

    stream.emit('payments', 'payment.updated', { ...BASE, id: 'pay_other', status: 'failed' });
    stream.emit('payments', 'payment.updated', { ...pending, status: 'failed', failure_reason: 'late decline' });
    await render();
    // Only the update of this payment reloads its events.
    flushEvents('pay_42', EVENTS);
    after = await render();
    expect(q(after, 'payment-status')?.textContent?.trim()).toBe('failed');
    expect(q(after, 'payment-failure-reason')?.textContent).toContain('late decline');
  });
});
