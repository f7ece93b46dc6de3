import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting, TestRequest } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { provideRouter, withComponentInputBinding } from '@angular/router';
import { RouterTestingHarness } from '@angular/router/testing';
import { signInAs, StubStream } from '../../testing/helpers';
import { Payment } from '../core/api.types';
import { authInterceptor } from '../core/auth.interceptor';
import { StreamService } from '../core/stream.service';
import { PAGE_SIZE, PaymentsPage } from './payments';

function payment(id: string, over: Partial<Payment> = {}): Payment {
  return {
    id,
    amount: 1234,
    currency: 'EUR',
    status: 'succeeded',
    provider: 'simulator',
    provider_payment_id: null,
    next_action: null,
    description: `test ${id}`,
    metadata: {},
    amount_refunded: 0,
    failure_reason: null,
    created_at: '2026-01-01T10:00:00Z',
    updated_at: '2026-01-01T10:00:00Z',
    events: [],
    ...over,
  };
}

describe('PaymentsPage', () => {
  let ctrl: HttpTestingController;
  let stream: StubStream;
  let harness: RouterTestingHarness;

  async function open(url: string): Promise<void> {
    harness = await RouterTestingHarness.create();
    await harness.navigateByUrl(url, PaymentsPage);
  }

  function expectList(): TestRequest {
    return ctrl.expectOne((r) => r.url === '/api/v1/payments');
  }

  async function render(): Promise<HTMLElement> {
    await harness.fixture.whenStable();
    harness.fixture.detectChanges();
    return harness.routeNativeElement as HTMLElement;
  }

  function rowIds(el: HTMLElement): string[] {
    return Array.from(el.querySelectorAll('[data-testid="payment-row"]')).map((r) => r.getAttribute('data-id')!);
  }

  beforeEach(() => {
    sessionStorage.clear();
    signInAs('operator');
    stream = new StubStream();
    TestBed.configureTestingModule({
      providers: [
        provideRouter([{ path: 'payments', component: PaymentsPage }, { path: 'payments/:id', children: [] }], withComponentInputBinding()),
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

  it('loads the list with the filters from the page URL and renders rows', async () => {
    await open('/payments?status=failed&currency=EUR');
    const req = expectList();
    expect(req.request.params.get('status')).toBe('failed');
    expect(req.request.params.get('currency')).toBe('EUR');
    expect(req.request.params.get('limit')).toBe(String(PAGE_SIZE));
    expect(req.request.params.has('starting_after')).toBe(false);
    expect(req.request.params.has('provider')).toBe(false);
    expect(req.request.headers.get('Authorization')).toMatch(/^Bearer /);
    req.flush({ data: [payment('pay_1', { status: 'failed' }), payment('pay_2', { status: 'failed' })], has_more: false });

    const el = await render();
    expect(rowIds(el)).toEqual(['pay_1', 'pay_2']);
    expect(el.textContent).toContain('€12.34');
    expect((el.querySelector('#f-status') as HTMLSelectElement).value).toBe('failed');
    expect(el.querySelector('[data-testid="new-payment-button"]')).not.toBeNull();
  });

  it('pages forward with starting_after and back with the cursor stack', async () => {
    await open('/payments');
    expectList().flush({ data: [payment('pay_a'), payment('pay_b')], has_more: true });
    let el = await render();

    (el.querySelector('[data-testid="payments-next"]') as HTMLButtonElement).click();
    const page2 = expectList();
    expect(page2.request.params.get('starting_after')).toBe('pay_b');
    page2.flush({ data: [payment('pay_c'), payment('pay_d')], has_more: true });
    el = await render();
    expect(rowIds(el)).toEqual(['pay_c', 'pay_d']);

    (el.querySelector('[data-testid="payments-next"]') as HTMLButtonElement).click();
    const page3 = expectList();
    expect(page3.request.params.get('starting_after')).toBe('pay_d');
    page3.flush({ data: [payment('pay_e')], has_more: false });
    el = await render();
    expect((el.querySelector('[data-testid="payments-next"]') as HTMLButtonElement).disabled).toBe(true);

    (el.querySelector('[data-testid="payments-prev"]') as HTMLButtonElement).click();
    const back = expectList();
    expect(back.request.params.get('starting_after')).toBe('pay_b');
    back.flush({ data: [payment('pay_c'), payment('pay_d')], has_more: true });
    el = await render();

    (el.querySelector('[data-testid="payments-prev"]') as HTMLButtonElement).click();
    const first = expectList();
    expect(first.request.params.has('starting_after')).toBe(false);
    first.flush({ data: [payment('pay_a'), payment('pay_b')], has_more: true });
    el = await render();
    expect((el.querySelector('[data-testid="payments-prev"]') as HTMLButtonElement).disabled).toBe(true);
  });

  it('shows the API error message and request id in a banner', async () => {
    await open('/payments?currency=XXX');
    expectList().flush(
      { error: { code: 'invalid_currency', message: 'currency XXX is not supported', request_id: 'req-123' } },
      { status: 422, statusText: 'Unprocessable Entity' },
    );
    const el = await render();
    const banner = el.querySelector('[data-testid="error-banner"]');
    expect(banner?.textContent).toContain('currency XXX is not supported');
    expect(el.querySelector('[data-testid="error-request-id"]')?.textContent).toBe('req-123');
  });

  it('shows an empty state', async () => {
    await open('/payments');
    expectList().flush({ data: [], has_more: false });
    const el = await render();
    expect(el.querySelector('[data-testid="empty-state"]')).not.toBeNull();
  });

  it('adds live payments that match the filters on the first page, and lists every event in the feed', async () => {
    await open('/payments?status=succeeded');
    expectList().flush({ data: [payment('pay_old', { created_at: '2026-01-01T09:00:00Z' })], has_more: false });
    await render();

    stream.emit('payments', 'payment.created', payment('pay_new', { created_at: '2026-01-01T11:00:00Z' }));
    stream.emit('payments', 'payment.created', payment('pay_pending', { status: 'pending', created_at: '2026-01-01T11:01:00Z' }));
    let el = await render();
    expect(rowIds(el)).toEqual(['pay_new', 'pay_old']);
    const feed = Array.from(el.querySelectorAll('[data-testid="feed-item"]')).map((f) => f.getAttribute('data-id'));
    expect(feed).toEqual(['pay_pending', 'pay_new']);

    // The pending one succeeds: it now matches and appears in order.
    stream.emit('payments', 'payment.updated', payment('pay_pending', { status: 'succeeded', created_at: '2026-01-01T11:01:00Z' }));
    el = await render();
    expect(rowIds(el)).toEqual(['pay_pending', 'pay_new', 'pay_old']);

    // A shown payment that is refunded no longer matches status=succeeded.
    stream.emit('payments', 'payment.updated', payment('pay_new', { status: 'refunded', created_at: '2026-01-01T11:00:00Z' }));
    el = await render();
    expect(rowIds(el)).toEqual(['pay_pending', 'pay_old']);
  });

  it('does not insert live payments when not on the first page', async () => {
    await open('/payments');
    expectList().flush({ data: [payment('pay_a'), payment('pay_b')], has_more: true });
    let el = await render();
    (el.querySelector('[data-testid="payments-next"]') as HTMLButtonElement).click();
    expectList().flush({ data: [payment('pay_c')], has_more: false });
    await render();
    stream.emit('payments', 'payment.created', payment('pay_new', { created_at: '2026-02-01T00:00:00Z' }));
    el = await render();
    expect(rowIds(el)).toEqual(['pay_c']);
    expect(el.querySelectorAll('[data-testid="feed-item"]').length).toBe(1);
  });

  it('hides the create button from viewers', async () => {
    sessionStorage.clear();
    signInAs('viewer');
    await open('/payments');
    expectList().flush({ data: [], has_more: false });
    const el = await render();
    expect(el.querySelector('[data-testid="new-payment-button"]')).toBeNull();
  });
});
