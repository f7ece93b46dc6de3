import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { provideRouter, Router } from '@angular/router';
import { RouterTestingHarness } from '@angular/router/testing';
import { signInAs } from '../../testing/helpers';
import { ApiKey, User } from '../core/api.types';
import { adminGuard } from '../core/auth.guard';
import { ApiKeysPage } from './api-keys';
import { UsersPage } from './users';

const USERS: User[] = [
  { id: 'usr_1', email: 'admin@example.com', role: 'admin', disabled: false, created_at: '2026-01-01T10:00:00Z' },
  { id: 'usr_2', email: 'bob@example.com', role: 'viewer', disabled: false, created_at: '2026-01-02T10:00:00Z' },
];

const KEYS: ApiKey[] = [
  { id: 'key_old', name: 'old shipper', prefix: 'pmk_old', role: 'ingest', created_by: 'usr_1', created_at: '2026-01-01T10:00:00Z', revoked_at: '2026-01-03T10:00:00Z' },
  { id: 'key_1', name: 'vector', prefix: 'pmk_abc', role: 'ingest', created_by: 'usr_1', created_at: '2026-01-02T10:00:00Z' },
];

describe('admin pages', () => {
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

  function all(el: HTMLElement, testid: string): HTMLElement[] {
    return Array.from(el.querySelectorAll(`[data-testid="${testid}"]`));
  }

  function set(el: Element, value: string): void {
    const input = el as HTMLInputElement | HTMLSelectElement;
    input.value = value;
    input.dispatchEvent(new Event(input.tagName === 'SELECT' ? 'change' : 'input'));
  }

  async function open(url: string, role = 'admin'): Promise<void> {
    signInAs(role);
    harness = await RouterTestingHarness.create();
    await harness.navigateByUrl(url);
  }

  beforeEach(() => {
    sessionStorage.clear();
    TestBed.configureTestingModule({
      providers: [
        provideRouter([
          { path: '', children: [] },
          { path: 'admin/users', component: UsersPage, canActivate: [adminGuard] },
          { path: 'admin/api-keys', component: ApiKeysPage, canActivate: [adminGuard] },
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

  it.each(['operator', 'viewer'])('sends a %s away from the admin pages', async (role) => {
    await open('/admin/users', role);
    expect(TestBed.inject(Router).url).toBe('/');
    ctrl.expectNone('/api/v1/users');
    await harness.navigateByUrl('/admin/api-keys');
    expect(TestBed.inject(Router).url).toBe('/');
    ctrl.expectNone('/api/v1/api-keys');
  });

  it('lists users, creates one with a role, and reloads the list', async () => {
    await open('/admin/users');
    ctrl.expectOne('/api/v1/users').flush({ data: USERS, has_more: false });
    let el = await render();
    expect(all(el, 'user-row').map((r) => r.getAttribute('data-email'))).toEqual(['admin@example.com', 'bob@example.com']);
    // Admins cannot lock themselves out: no toggle and no role picker on their own row.
    const self = all(el, 'user-row')[0];
    expect(self.querySelector('[data-testid="user-toggle"]')).toBeNull();
    expect((self.querySelector('[data-testid="user-role-change"]') as HTMLSelectElement).disabled).toBe(true);

    set(q(el, 'user-email')!, 'carol@example.com');
    set(q(el, 'user-password')!, 'long-enough-password');
    set(q(el, 'user-role-select')!, 'operator');
    el = await render();
    q<HTMLButtonElement>(el, 'user-create')!.click();
    const req = ctrl.expectOne('/api/v1/users');
    expect(req.request.method).toBe('POST');
    expect(req.request.body).toEqual({ email: 'carol@example.com', password: 'long-enough-password', role: 'operator' });
    req.flush({ id: 'usr_3', email: 'carol@example.com', role: 'operator', created_at: '2026-01-03T10:00:00Z' }, { status: 201, statusText: 'Created' });
    await render();
    ctrl.expectOne('/api/v1/users').flush({ data: [...USERS, { ...USERS[1], id: 'usr_3', email: 'carol@example.com', role: 'operator' }], has_more: false });
    el = await render();
    expect(all(el, 'user-row')).toHaveLength(3);
    expect(q(el, 'action-notice')?.textContent).toContain('carol@example.com');
  });

  it('changes a role and disables a user through PATCH', async () => {
    await open('/admin/users');
    ctrl.expectOne('/api/v1/users').flush({ data: USERS, has_more: false });
    let el = await render();
    const bob = all(el, 'user-row')[1];
    set(bob.querySelector('[data-testid="user-role-change"]')!, 'operator');
    let req = ctrl.expectOne('/api/v1/users/usr_2');
    expect(req.request.method).toBe('PATCH');
    expect(req.request.body).toEqual({ role: 'operator' });
    req.flush({ ...USERS[1], role: 'operator' });
    await render();
    ctrl.expectOne('/api/v1/users').flush({ data: [USERS[0], { ...USERS[1], role: 'operator' }], has_more: false });
    el = await render();

    (all(el, 'user-row')[1].querySelector('[data-testid="user-toggle"]') as HTMLButtonElement).click();
    req = ctrl.expectOne('/api/v1/users/usr_2');
    expect(req.request.body).toEqual({ disabled: true });
    req.flush({ ...USERS[1], disabled: true });
    await render();
    ctrl.expectOne('/api/v1/users').flush({ data: [USERS[0], { ...USERS[1], disabled: true }], has_more: false });
    el = await render();
    const toggle = all(el, 'user-row')[1].querySelector('[data-testid="user-toggle"]') as HTMLButtonElement;
    expect(toggle.textContent?.trim()).toBe('Enable');
    expect(all(el, 'user-state')[1].textContent?.trim()).toBe('disabled');
  });

  it('shows the API answer when a change is refused', async () => {
    await open('/admin/users');
    ctrl.expectOne('/api/v1/users').flush({ data: USERS, has_more: false });
    const el = await render();
    (all(el, 'user-row')[1].querySelector('[data-testid="user-toggle"]') as HTMLButtonElement).click();
    ctrl
      .expectOne('/api/v1/users/usr_2')
      .flush({ error: { code: 'own_account', message: 'you cannot disable your own account', request_id: 'req-7' } }, { status: 409, statusText: 'Conflict' });
    await render();
    ctrl.expectOne('/api/v1/users').flush({ data: USERS, has_more: false });
    const after = await render();
    expect(q(after, 'error-banner')?.textContent).toContain('you cannot disable your own account');
  });

  it('puts a refused role change back to the role the server kept', async () => {
    await open('/admin/users');
    ctrl.expectOne('/api/v1/users').flush({ data: USERS, has_more: false });
    const el = await render();
    const picker = () => all(el, 'user-row')[1].querySelector('[data-testid="user-role-change"]') as HTMLSelectElement;
    set(picker(), 'admin');
    ctrl.expectOne('/api/v1/users/usr_2').flush({ error: { code: 'forbidden', message: 'no' } }, { status: 403, statusText: 'Forbidden' });
    await render();
    ctrl.expectOne('/api/v1/users').flush({ data: USERS.map((u) => ({ ...u })), has_more: false });
    await render();
    expect(picker().value).toBe('viewer');
    expect(q(el, 'error-banner')).not.toBeNull();
  });

  it('creates an API key and shows its secret once, active keys first', async () => {
    await open('/admin/api-keys');
    ctrl.expectOne('/api/v1/api-keys').flush({ data: KEYS, has_more: false });
    let el = await render();
    expect(all(el, 'key-row').map((r) => r.getAttribute('data-id'))).toEqual(['key_1', 'key_old']);
    expect(q(el, 'secret-once')).toBeNull();

    set(q(el, 'key-name')!, 'fluent-bit');
    set(q(el, 'key-role')!, 'viewer');
    el = await render();
    q<HTMLButtonElement>(el, 'key-create')!.click();
    const req = ctrl.expectOne('/api/v1/api-keys');
    expect(req.request.method).toBe('POST');
    expect(req.request.body).toEqual({ name: 'fluent-bit', role: 'viewer' });
    req.flush({ id: 'key_2', name: 'fluent-bit', prefix: 'pmk_new', role: 'viewer', created_by: 'usr_1', created_at: '2026-01-04T10:00:00Z', key: 'pmk_new_secret' });
    await render();
    ctrl.expectOne('/api/v1/api-keys').flush({ data: [...KEYS, { id: 'key_2', name: 'fluent-bit', prefix: 'pmk_new', role: 'viewer', created_by: 'usr_1', created_at: '2026-01-04T10:00:00Z' }], has_more: false });
    el = await render();
    expect(q(el, 'secret-value')?.textContent).toBe('pmk_new_secret');
    expect(q(el, 'secret-once')?.textContent).toContain('you will not see it again');
    expect(all(el, 'key-row')[0].getAttribute('data-id')).toBe('key_2');
    // The listed key carries no secret: once dismissed, nothing on the page shows it.
    q<HTMLButtonElement>(el, 'secret-dismiss')!.click();
    el = await render();
    expect(q(el, 'secret-once')).toBeNull();
    expect(el.textContent).not.toContain('pmk_new_secret');
  });

  it('revokes a key with DELETE; revoked keys have no revoke button', async () => {
    await open('/admin/api-keys');
    ctrl.expectOne('/api/v1/api-keys').flush({ data: KEYS, has_more: false });
    let el = await render();
    expect(all(el, 'key-revoke')).toHaveLength(1);
    all(el, 'key-revoke')[0].click();
    const req = ctrl.expectOne('/api/v1/api-keys/key_1');
    expect(req.request.method).toBe('DELETE');
    req.flush(null, { status: 204, statusText: 'No Content' });
    await render();
    ctrl.expectOne('/api/v1/api-keys').flush({ data: [KEYS[0], { ...KEYS[1], revoked_at: '2026-01-05T10:00:00Z' }], has_more: false });
    el = await render();
    expect(all(el, 'key-revoke')).toHaveLength(0);
    expect(all(el, 'key-state').map((s) => s.textContent?.trim())).toEqual(['revoked', 'revoked']);
    expect(q(el, 'action-notice')?.textContent).toContain('vector');
  });
});
