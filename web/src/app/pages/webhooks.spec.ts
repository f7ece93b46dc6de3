import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { provideRouter, Router } from '@angular/router';
import { RouterTestingHarness } from '@angular/router/testing';
import { signInAs } from '../../testing/helpers';
import { WebhookDelivery, WebhookEndpoint } from '../core/api.types';
import { operatorGuard } from '../core/auth.guard';
import { eventTypesFor, WebhooksPage } from './webhooks';

const EP: WebhookEndpoint = {
  id: 'we_1',
  url: 'https://shop.example/hooks',
  event_types: ['*'],
  enabled: true,
  description: 'shop',
  disabled_reason: '',
  previous_secret_expires_at: null,
  created_at: '2026-01-01T10:00:00Z',
  updated_at: '2026-01-01T10:00:00Z',
};

const DELIVERY: WebhookDelivery = {
  id: 'whd_1',
  endpoint_id: 'we_1',
  event_id: 'evt_9',
  event_type: 'payment.succeeded',
  attempt: 1,
  created_at: '2026-01-01T10:00:02Z',
  result: 'failed',
  status: 500,
  latency_ms: 12,
  response: 'oops',
  error: 'HTTP 500',
};

describe('eventTypesFor', () => {
  it('sends * for all events, else the picked types in canonical order', () => {
    expect(eventTypesFor(true, new Set(['payment.failed']))).toEqual(['*']);
    expect(eventTypesFor(false, new Set(['payment.refunded', 'payment.created', 'bogus']))).toEqual(['payment.created', 'payment.refunded']);
    expect(eventTypesFor(false, new Set())).toEqual([]);
  });
});

describe('WebhooksPage', () => {
  let ctrl: HttpTestingController;
  let harness: RouterTestingHarness;

  async function render(): Promise<HTMLElement> {
    await harness.fixture.whenStable();
    harness.fixture.detectChanges();
    return harness.routeNativeElement as HTMLElement;
  }

  function q<T extends Element = HTMLElement>(el: HTMLElement, testid: string): T | null {
    return el.querySelector(`[data-testid="${testid}"]`) as T | null;
  }

  function set(el: Element, value: string): void {
    const input = el as HTMLInputElement;
    input.value = value;
    input.dispatchEvent(new Event('input'));
  }

  /** Opens the page and answers the endpoint list and each endpoint's deliveries. */
  async function open(role: string, endpoints: WebhookEndpoint[] = [EP], deliveries: WebhookDelivery[] = [DELIVERY]): Promise<HTMLElement> {
    signInAs(role);
    harness = await RouterTestingHarness.create();
    await harness.navigateByUrl('/webhooks');
    await answerList(endpoints, deliveries);
    return render();
  }

  async function answerList(endpoints: WebhookEndpoint[], deliveries: WebhookDelivery[] = []): Promise<void> {
    ctrl.expectOne('/api/v1/webhook-endpoints').flush({ data: endpoints, has_more: false });
    await render();
    for (const e of endpoints) {
      ctrl.expectOne((r) => r.url === `/api/v1/webhook-endpoints/${e.id}/deliveries`).flush({ data: deliveries, has_more: false });
    }
  }

  beforeEach(() => {
    sessionStorage.clear();
    TestBed.configureTestingModule({
      providers: [
        provideRouter([
          { path: '', children: [] },
          { path: 'webhooks', component: WebhooksPage, canActivate: [operatorGuard] },
        ]),
        provideHttpClient(),
        provideHttpClientTesting(),
      ],
    });
    ctrl = TestBed.inject(HttpTestingController);
  });

  afterEach(() => {
    ctrl.verify();
    sessionStorage.clear();
  });

  it('is not for viewers', async () => {
    signInAs('viewer');
    harness = await RouterTestingHarness.create();
    await harness.navigateByUrl('/webhooks');
    expect(TestBed.inject(Router).url).toBe('/');
    ctrl.expectNone('/api/v1/webhook-endpoints');
  });

  it('lists endpoints with their deliveries: time, event, result, status, latency, error', async () => {
    const el = await open('admin');
    const ep = q(el, 'endpoint')!;
    expect(ep.getAttribute('data-url')).toBe('https://shop.example/hooks');
    expect(q(el, 'endpoint-event-types')?.textContent).toContain('all events');
    expect(q(el, 'endpoint-state')?.textContent?.trim()).toBe('enabled');
    const row = q(el, 'delivery-row')!;
    expect(row.getAttribute('data-result')).toBe('failed');
    expect(row.textContent).toContain('evt_9');
    expect(row.textContent).toContain('payment.succeeded');
    expect(row.textContent).toContain('500');
    expect(row.textContent).toContain('12 ms');
    expect(row.textContent).toContain('HTTP 500');
  });

  it('creates an endpoint for picked event types and shows its secret once', async () => {
    let el = await open('admin', []);
    expect(q(el, 'empty-state')).not.toBeNull();
    set(q(el, 'endpoint-url')!, ' https://shop.example/new ');
    q<HTMLInputElement>(el, 'endpoint-all-types')!.click();
    el = await render();
    q<HTMLInputElement>(el, 'endpoint-type-payment.refunded')!.click();
    q<HTMLInputElement>(el, 'endpoint-type-payment.succeeded')!.click();
    el = await render();
    q<HTMLButtonElement>(el, 'endpoint-create')!.click();
    const req = ctrl.expectOne('/api/v1/webhook-endpoints');
    expect(req.request.method).toBe('POST');
    expect(req.request.body).toEqual({ url: 'https://shop.example/new', event_types: ['payment.succeeded', 'payment.refunded'], description: '' });
    const created = { ...EP, id: 'we_2', url: 'https://shop.example/new', event_types: ['payment.succeeded', 'payment.refunded'] };
    req.flush({ ...created, secret: 'whsec_abc' }, { status: 201, statusText: 'Created' });
    await render();
    await answerList([created]);
    el = await render();
    expect(q(el, 'secret-value')?.textContent).toBe('whsec_abc');
    expect(q(el, 'secret-once')?.textContent).toContain('you will not see it again');
    expect(q(el, 'endpoint-event-types')?.textContent).toContain('payment.succeeded, payment.refunded');
    expect(q(el, 'deliveries-empty')).not.toBeNull();
  });

  it('refuses a create with no event type without calling the API', async () => {
    let el = await open('admin', []);
    set(q(el, 'endpoint-url')!, 'https://shop.example/new');
    q<HTMLInputElement>(el, 'endpoint-all-types')!.click();
    el = await render();
    q<HTMLButtonElement>(el, 'endpoint-create')!.click();
    el = await render();
    expect(q(el, 'endpoint-form-error')?.textContent).toContain('at least one event type');
    ctrl.expectNone('/api/v1/webhook-endpoints');
  });

  it('disables, rotates (new secret shown) and deletes after a confirmation', async () => {
    let el = await open('admin');
    q<HTMLButtonElement>(el, 'endpoint-toggle')!.click();
    let req = ctrl.expectOne('/api/v1/webhook-endpoints/we_1');
    expect(req.request.method).toBe('PATCH');
    expect(req.request.body).toEqual({ enabled: false });
    req.flush({ ...EP, enabled: false });
    await render();
    await answerList([{ ...EP, enabled: false }]);
    el = await render();
    expect(q(el, 'endpoint-state')?.textContent?.trim()).toBe('disabled');

    q<HTMLButtonElement>(el, 'endpoint-rotate')!.click();
    req = ctrl.expectOne('/api/v1/webhook-endpoints/we_1/rotate-secret');
    expect(req.request.method).toBe('POST');
    req.flush({ ...EP, secret: 'whsec_new', previous_secret_expires_at: '2026-01-02T10:00:00Z' });
    await render();
    await answerList([{ ...EP, previous_secret_expires_at: '2026-01-02T10:00:00Z' }]);
    el = await render();
    expect(q(el, 'secret-value')?.textContent).toBe('whsec_new');

    q<HTMLButtonElement>(el, 'endpoint-delete')!.click();
    el = await render();
    ctrl.expectNone('/api/v1/webhook-endpoints/we_1');
    q<HTMLButtonElement>(el, 'endpoint-delete-confirm')!.click();
    req = ctrl.expectOne('/api/v1/webhook-endpoints/we_1');
    expect(req.request.method).toBe('DELETE');
    req.flush(null, { status: 204, statusText: 'No Content' });
    await render();
    await answerList([]);
    el = await render();
    expect(q(el, 'endpoint')).toBeNull();
  });

  it('operators read deliveries and resend, but cannot manage endpoints', async () => {
    let el = await open('operator');
    expect(q(el, 'endpoint-form')).toBeNull();
    expect(q(el, 'endpoint-toggle')).toBeNull();
    expect(q(el, 'endpoint-rotate')).toBeNull();
    expect(q(el, 'endpoint-delete')).toBeNull();
    expect(q(el, 'read-only-note')).not.toBeNull();

    q<HTMLButtonElement>(el, 'delivery-resend')!.click();
    const req = ctrl.expectOne('/api/v1/events/evt_9/resend');
    expect(req.request.method).toBe('POST');
    expect(req.request.body).toEqual({ endpoint_id: 'we_1' });
    req.flush({ event_id: 'evt_9', endpoint_ids: ['we_1'] }, { status: 202, statusText: 'Accepted' });
    await render();
    ctrl
      .expectOne((r) => r.url === '/api/v1/webhook-endpoints/we_1/deliveries')
      .flush({ data: [{ ...DELIVERY, id: 'whd_2', attempt: 2, result: 'delivered', status: 200, error: '' }, DELIVERY], has_more: false });
    el = await render();
    expect(el.querySelectorAll('[data-testid="delivery-row"]')).toHaveLength(2);
    expect(q(el, 'action-notice')?.textContent).toContain('evt_9');
  });
});
