import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { provideRouter } from '@angular/router';
import { FakeWebSocket } from '../../testing/fake-websocket';
import { AuthService, STORAGE_KEY, TOKEN_URL } from './auth.service';
import { STREAM_BASE_URL, StreamEvent, StreamService, WEBSOCKET_FACTORY } from './stream.service';

function fakeJwt(claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}.sig`;
}

function storeSession(access: string): void {
  const now = Date.now();
  sessionStorage.setItem(
    STORAGE_KEY,
    JSON.stringify({ accessToken: access, expiresAt: now + 3_600_000, issuedAt: now }),
  );
}

describe('StreamService', () => {
  let service: StreamService;
  const token = fakeJwt({ sub: 'u1', email: 'a@example.com', role: 'admin', exp: 9999999999 });

  beforeEach(() => {
    vi.useFakeTimers();
    FakeWebSocket.reset();
    sessionStorage.clear();
    storeSession(token);
    TestBed.configureTestingModule({
      providers: [
        provideRouter([{ path: '**', children: [] }]),
        provideHttpClient(),
        provideHttpClientTesting(),
        { provide: WEBSOCKET_FACTORY, useValue: (url: string) => new FakeWebSocket(url) },
        { provide: STREAM_BASE_URL, useValue: () => 'ws://paymon.test/api/v1/stream' },
      ],
    });
    service = TestBed.inject(StreamService);
    TestBed.tick();
  });

  afterEach(() => {
    vi.useRealTimers();
    sessionStorage.clear();
  });

  it('connects lazily with the access token in the query string', () => {
    expect(FakeWebSocket.instances.length).toBe(0);
    const sub = service.topic('payments').subscribe();
    expect(FakeWebSocket.instances.length).toBe(1);
    expect(FakeWebSocket.last().url).toBe(`ws://paymon.test/api/v1/stream?access_token=${encodeURIComponent(token)}`);
    sub.unsubscribe();
  });

  it('sends one subscribe frame per topic, with the logs filter, once open', () => {
    const a = service.topic('payments').subscribe();
    const b = service.topic('payments').subscribe();
    const c = service.topic('logs', { levels: ['error', 'fatal'], service: 'checkout' }).subscribe();
    const ws = FakeWebSocket.last();
    expect(ws.sent).toEqual([]);
    ws.serverOpen();
    expect(ws.frames).toEqual([
      { type: 'subscribe', topic: 'payments' },
      { type: 'subscribe', topic: 'logs', filter: { levels: ['error', 'fatal'], service: 'checkout' } },
    ]);
    ws.serverSend({ type: 'subscribed', topic: 'payments' });
    expect(service.subscribed().has('payments')).toBe(true);
    expect(service.state()).toBe('open');
    a.unsubscribe();
    expect(ws.frames.length).toBe(2);
    b.unsubscribe();
    expect(ws.frames[2]).toEqual({ type: 'unsubscribe', topic: 'payments' });
    c.unsubscribe();
  });

  it('delivers event frames to the topic subscribers only', () => {
    const payments: StreamEvent[] = [];
    const alerts: StreamEvent[] = [];
    const s1 = service.topic('payments').subscribe((e) => payments.push(e));
    const s2 = service.topic('alerts').subscribe((e) => alerts.push(e));
    const ws = FakeWebSocket.last();
    ws.serverOpen();
    ws.serverSend({ type: 'event', topic: 'payments', id: 'e1', event: 'payment.created', data: { id: 'pay_1' } });
    ws.serverSend({ type: 'event', topic: 'alerts', id: 'e2', event: 'alert.fired', data: { id: 'al_1' } });
    expect(payments).toEqual([{ topic: 'payments', id: 'e1', event: 'payment.created', data: { id: 'pay_1' } }]);
    expect(alerts.map((e) => e.id)).toEqual(['e2']);
    s1.unsubscribe();
    s2.unsubscribe();
  });

  it('reconnects with exponential backoff and resubscribes with since = last event id', () => {
    const sub = service.topic('payments').subscribe();
    const first = FakeWebSocket.last();
    first.serverOpen();
    first.serverSend({ type: 'event', topic: 'payments', id: 'evt-41', event: 'payment.updated', data: {} });
    first.serverSend({ type: 'event', topic: 'payments', id: 'evt-42', event: 'payment.updated', data: {} });

    first.serverClose(1008, 'too slow');
    expect(service.state()).toBe('reconnecting');
    expect(FakeWebSocket.instances.length).toBe(1);
    vi.advanceTimersByTime(999);
    expect(FakeWebSocket.instances.length).toBe(1);
    vi.advanceTimersByTime(1);
    expect(FakeWebSocket.instances.length).toBe(2);

    // The second attempt fails before opening: the next delay doubles.
    FakeWebSocket.last().serverClose(1006);
    vi.advanceTimersByTime(1999);
    expect(FakeWebSocket.instances.length).toBe(2);
    vi.advanceTimersByTime(1);
    expect(FakeWebSocket.instances.length).toBe(3);

    const third = FakeWebSocket.last();
    third.serverOpen();
    expect(third.frames).toEqual([{ type: 'subscribe', topic: 'payments', since: 'evt-42' }]);
    expect(service.state()).toBe('open');

    // A successful open resets the backoff.
    third.serverClose(1006);
    vi.advanceTimersByTime(1000);
    expect(FakeWebSocket.instances.length).toBe(4);
    sub.unsubscribe();
  });

  it('caps the backoff at 30 s', () => {
    const sub = service.topic('alerts').subscribe();
    for (let i = 0; i < 8; i++) {
      FakeWebSocket.last().serverClose(1006);
      vi.advanceTimersByTime(30_000);
    }
    const before = FakeWebSocket.instances.length;
    FakeWebSocket.last().serverClose(1006);
    vi.advanceTimersByTime(29_999);
    expect(FakeWebSocket.instances.length).toBe(before);
    vi.advanceTimersByTime(1);
    expect(FakeWebSocket.instances.length).toBe(before + 1);
    sub.unsubscribe();
  });

  it('reconnects with the fresh token after a refresh, resuming with since', () => {
    const sub = service.topic('payments').subscribe();
    const first = FakeWebSocket.last();
    first.serverOpen();
    first.serverSend({ type: 'event', topic: 'payments', id: 'evt-7', event: 'payment.created', data: {} });

    const fresh = fakeJwt({ sub: 'u1', email: 'a@example.com', role: 'admin', exp: 9999999999, n: 2 });
    const auth = TestBed.inject(AuthService);
    auth.refresh().subscribe();
    TestBed.inject(HttpTestingController)
      .expectOne(TOKEN_URL)
      .flush({ access_token: fresh, token_type: 'Bearer', expires_in: 900, refresh_token: 'rt-2' });
    TestBed.tick();

    expect(first.closedByClient).not.toBeNull();
    const second = FakeWebSocket.last();
    expect(second).not.toBe(first);
    expect(second.url).toContain(encodeURIComponent(fresh));
    second.serverOpen();
    expect(second.frames).toEqual([{ type: 'subscribe', topic: 'payments', since: 'evt-7' }]);
    sub.unsubscribe();
  });

  it('replaces the logs subscription when the filter changes, without replay', () => {
    const s1 = service.topic('logs', { levels: ['error'] }).subscribe();
    const ws = FakeWebSocket.last();
    ws.serverOpen();
    ws.serverSend({ type: 'event', topic: 'logs', id: 'l1', event: 'log.created', data: {} });
    s1.unsubscribe();
    const s2 = service.topic('logs', { service: 'checkout' }).subscribe();
    expect(ws.frames).toEqual([
      { type: 'subscribe', topic: 'logs', filter: { levels: ['error'] } },
      { type: 'unsubscribe', topic: 'logs' },
      { type: 'subscribe', topic: 'logs', filter: { service: 'checkout' } },
    ]);
    s2.unsubscribe();
  });

  it('disconnects and stops reconnecting on logout', () => {
    const sub = service.topic('payments').subscribe();
    const ws = FakeWebSocket.last();
    ws.serverOpen();
    TestBed.inject(AuthService).logout();
    TestBed.tick();
    expect(ws.closedByClient).not.toBeNull();
    expect(service.state()).toBe('idle');
    vi.advanceTimersByTime(60_000);
    expect(FakeWebSocket.instances.length).toBe(1);
    sub.unsubscribe();
  });
});
