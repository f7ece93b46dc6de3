import { HttpClient, provideHttpClient, withInterceptors } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { provideRouter, Router } from '@angular/router';
import { authInterceptor } from './auth.interceptor';
import { AuthService, LOGOUT_URL, REFRESH_COOKIE_HEADER, STORAGE_KEY, TOKEN_URL } from './auth.service';

function fakeJwt(claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}.sig`;
}

const ACCESS_1 = fakeJwt({ sub: 'usr_1', email: 'ops@example.com', role: 'operator', exp: 2_000_000_000 });
const ACCESS_2 = fakeJwt({ sub: 'usr_1', email: 'ops@example.com', role: 'operator', exp: 2_000_000_900 });
const ACCESS_3 = fakeJwt({ sub: 'usr_1', email: 'ops@example.com', role: 'operator', exp: 2_000_001_800 });

/** The server's answer in cookie mode: the refresh token went into the cookie. */
function tokenBody(access: string, expiresIn = 900) {
  return { access_token: access, token_type: 'Bearer', expires_in: expiresIn };
}

function form(body: unknown): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(String(body)));
}

describe('AuthService and authInterceptor', () => {
  let auth: AuthService;
  let http: HttpClient;
  let ctrl: HttpTestingController;
  let router: Router;

  beforeEach(() => {
    sessionStorage.clear();
    TestBed.configureTestingModule({
      providers: [
        provideRouter([]),
        provideHttpClient(withInterceptors([authInterceptor])),
        provideHttpClientTesting(),
      ],
    });
    auth = TestBed.inject(AuthService);
    http = TestBed.inject(HttpClient);
    ctrl = TestBed.inject(HttpTestingController);
    router = TestBed.inject(Router);
    vi.spyOn(router, 'navigate').mockResolvedValue(true);
  });

  afterEach(() => {
    ctrl.verify();
    vi.useRealTimers();
    sessionStorage.clear();
  });

  function login(access = ACCESS_1, expiresIn = 900): void {
    auth.login('ops@example.com', 'p+ss&word').subscribe();
    ctrl.expectOne(TOKEN_URL).flush(tokenBody(access, expiresIn));
  }

  /** A refresh must ask for cookie mode and carry no refresh token of its own. */
  function expectCookieRefresh(req: { request: { body: unknown; headers: { get(n: string): string | null } } }): void {
    expect(form(req.request.body)).toEqual({ grant_type: 'refresh_token' });
    expect(req.request.headers.get(REFRESH_COOKIE_HEADER)).toBe('1');
  }

  it('login posts a form-encoded password grant in cookie mode and keeps only the access token', () => {
    let done = false;
    auth.login('ops@example.com', 'p+ss&word').subscribe(() => (done = true));
    const req = ctrl.expectOne(TOKEN_URL);
    expect(req.request.method).toBe('POST');
    expect(req.request.headers.get('Content-Type')).toBe('application/x-www-form-urlencoded');
    expect(req.request.headers.has('Authorization')).toBe(false);
    expect(req.request.headers.get(REFRESH_COOKIE_HEADER)).toBe('1');
    expect(form(req.request.body)).toEqual({ grant_type: 'password', username: 'ops@example.com', password: 'p+ss&word' });
    req.flush(tokenBody(ACCESS_1));

    expect(done).toBe(true);
    expect(auth.isLoggedIn()).toBe(true);
    expect(auth.accessToken()).toBe(ACCESS_1);
    expect(auth.email()).toBe('ops@example.com');
    expect(auth.role()).toBe('operator');
    expect(auth.canWrite()).toBe(true);
    const stored = JSON.parse(sessionStorage.getItem(STORAGE_KEY)!);
    expect(stored.accessToken).toBe(ACCESS_1);
    expect(stored.refreshToken).toBeUndefined();
  });

  it('a refresh token in the JSON (an older server) is not kept anywhere script can read', () => {
    auth.login('ops@example.com', 'pw').subscribe();
    ctrl.expectOne(TOKEN_URL).flush({ ...tokenBody(ACCESS_1), refresh_token: 'pmr_leaked' });
    expect(sessionStorage.getItem(STORAGE_KEY)).not.toContain('pmr_leaked');
  });

  it('a failed login stores nothing', () => {
    let error: unknown;
    auth.login('ops@example.com', 'wrong').subscribe({ error: (e) => (error = e) });
    ctrl
      .expectOne(TOKEN_URL)
      .flush({ error: { code: 'invalid_grant', message: 'bad credentials', request_id: 'r1' } }, { status: 401, statusText: 'Unauthorized' });
    expect(error).toBeTruthy();
    expect(auth.isLoggedIn()).toBe(false);
    expect(sessionStorage.getItem(STORAGE_KEY)).toBeNull();
  });

  it('viewer role cannot write', () => {
    login(fakeJwt({ sub: 'usr_2', email: 'v@example.com', role: 'viewer', exp: 2_000_000_000 }));
    expect(auth.canWrite()).toBe(false);
  });

  it('refresh goes through the cookie every time and keeps the new access token', () => {
    login();
    auth.refresh().subscribe();
    const r1 = ctrl.expectOne(TOKEN_URL);
    expectCookieRefresh(r1);
    r1.flush(tokenBody(ACCESS_2));
    expect(auth.accessToken()).toBe(ACCESS_2);
    expect(JSON.parse(sessionStorage.getItem(STORAGE_KEY)!).accessToken).toBe(ACCESS_2);

    auth.refresh().subscribe();
    const r2 = ctrl.expectOne(TOKEN_URL);
    expectCookieRefresh(r2);
    r2.flush(tokenBody(ACCESS_3));
    expect(auth.accessToken()).toBe(ACCESS_3);
  });

  it('a session restored from sessionStorage (a reload) refreshes through the cookie', () => {
    const now = Date.now();
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ accessToken: ACCESS_1, expiresAt: now + 1_000, issuedAt: now - 899_000 }));
    TestBed.resetTestingModule();
    TestBed.configureTestingModule({
      providers: [provideRouter([]), provideHttpClient(withInterceptors([authInterceptor])), provideHttpClientTesting()],
    });
    const restored = TestBed.inject(AuthService);
    const client = TestBed.inject(HttpClient);
    const c = TestBed.inject(HttpTestingController);
    expect(restored.isLoggedIn()).toBe(true);
    expect(restored.canRefresh()).toBe(true);
    client.get('/api/v1/payments').subscribe();
    const refresh = c.expectOne(TOKEN_URL);
    expectCookieRefresh(refresh);
    refresh.flush(tokenBody(ACCESS_2));
    expect(c.expectOne('/api/v1/payments').request.headers.get('Authorization')).toBe(`Bearer ${ACCESS_2}`);
    c.verify();
    ctrl = c; // afterEach verifies the module in use
  });

  it('concurrent refreshes share one token call', () => {
    login();
    auth.refresh().subscribe();
    auth.refresh().subscribe();
    ctrl.expectOne(TOKEN_URL).flush(tokenBody(ACCESS_2));
  });

  it('the interceptor adds the bearer token to API calls only', () => {
    login();
    http.get('/api/v1/payments').subscribe();
    const api = ctrl.expectOne('/api/v1/payments');
    expect(api.request.headers.get('Authorization')).toBe(`Bearer ${ACCESS_1}`);
    api.flush({});
    http.get('/assets/x.json').subscribe();
    expect(ctrl.expectOne('/assets/x.json').request.headers.has('Authorization')).toBe(false);
  });

  it('on a 401 it refreshes once and retries the request once with the new token', () => {
    login();
    let body: unknown;
    http.get('/api/v1/overview').subscribe((b) => (body = b));
    const first = ctrl.expectOne('/api/v1/overview');
    expect(first.request.headers.get('Authorization')).toBe(`Bearer ${ACCESS_1}`);
    first.flush({ error: { code: 'unauthenticated', message: 'token expired' } }, { status: 401, statusText: 'Unauthorized' });

    const refresh = ctrl.expectOne(TOKEN_URL);
    expectCookieRefresh(refresh);
    expect(refresh.request.headers.has('Authorization')).toBe(false);
    refresh.flush(tokenBody(ACCESS_2));

    const retry = ctrl.expectOne('/api/v1/overview');
    expect(retry.request.headers.get('Authorization')).toBe(`Bearer ${ACCESS_2}`);
    retry.flush({ ok: true });
    expect(body).toEqual({ ok: true });
    expect(auth.sessionExpired()).toBe(false);
  });

  it('a second 401 after the retry is not retried again and ends the session', () => {
    login();
    let status = 0;
    http.get('/api/v1/overview').subscribe({ error: (e) => (status = e.status) });
    ctrl.expectOne('/api/v1/overview').flush({}, { status: 401, statusText: 'Unauthorized' });
    ctrl.expectOne(TOKEN_URL).flush(tokenBody(ACCESS_2));
    ctrl.expectOne('/api/v1/overview').flush({}, { status: 401, statusText: 'Unauthorized' });
    ctrl.expectNone(TOKEN_URL);
    ctrl.expectNone('/api/v1/overview');
    expect(status).toBe(401);
    expect(auth.sessionExpired()).toBe(true);
    expect(auth.isLoggedIn()).toBe(false);
    expect(router.navigate).toHaveBeenCalledWith(['/login'], expect.objectContaining({ queryParams: expect.objectContaining({ expired: 1 }) }));
  });

  it('when the refresh is refused the original 401 surfaces and the session expires', () => {
    login();
    let status = 0;
    http.get('/api/v1/payments').subscribe({ error: (e) => (status = e.status) });
    ctrl.expectOne('/api/v1/payments').flush({}, { status: 401, statusText: 'Unauthorized' });
    ctrl
      .expectOne(TOKEN_URL)
      .flush({ error: { code: 'invalid_grant', message: 'refresh token revoked' } }, { status: 400, statusText: 'Bad Request' });
    ctrl.expectNone('/api/v1/payments');
    expect(status).toBe(401);
    expect(auth.sessionExpired()).toBe(true);
    expect(sessionStorage.getItem(STORAGE_KEY)).toBeNull();
  });

  it('other errors are passed through without a refresh', () => {
    login();
    let status = 0;
    http.get('/api/v1/payments/x').subscribe({ error: (e) => (status = e.status) });
    ctrl.expectOne('/api/v1/payments/x').flush({}, { status: 404, statusText: 'Not Found' });
    ctrl.expectNone(TOKEN_URL);
    expect(status).toBe(404);
    expect(auth.isLoggedIn()).toBe(true);
  });

  it('refreshes silently before the access token expires', () => {
    vi.useFakeTimers();
    login(ACCESS_1, 900);
    vi.advanceTimersByTime(869_000);
    ctrl.expectNone(TOKEN_URL);
    vi.advanceTimersByTime(1_000);
    const req = ctrl.expectOne(TOKEN_URL);
    expectCookieRefresh(req);
    req.flush(tokenBody(ACCESS_2, 900));
    expect(auth.accessToken()).toBe(ACCESS_2);
  });

  it('logout asks the server to revoke the cookie, clears the token and storage and goes to /login', () => {
    login();
    auth.logout();
    const out = ctrl.expectOne(LOGOUT_URL);
    expect(out.request.method).toBe('POST');
    expect(out.request.headers.get(REFRESH_COOKIE_HEADER)).toBe('1');
    expect(out.request.headers.has('Authorization')).toBe(false);
    out.flush(null, { status: 204, statusText: 'No Content' });
    expect(auth.isLoggedIn()).toBe(false);
    expect(auth.accessToken()).toBeNull();
    expect(auth.canRefresh()).toBe(false);
    expect(sessionStorage.getItem(STORAGE_KEY)).toBeNull();
    expect(auth.sessionExpired()).toBe(false);
    expect(router.navigate).toHaveBeenCalledWith(['/login']);
    http.get('/api/v1/payments').subscribe({ error: () => undefined });
    expect(ctrl.expectOne('/api/v1/payments').request.headers.has('Authorization')).toBe(false);
  });
});
