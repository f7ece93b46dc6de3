// Browser end-to-end tests of the admin pages (issue 17) against a real
// `paymon serve`: an API key made on the page works until it is revoked
// on the page, and a user disabled on the page can no longer sign in.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ADMIN_EMAIL, Api, assertNoErrorBanner, BASE_URL, launchBrowser, LIVE_TIMEOUT, login, newContext, newPage, screenshot, until } from './lib.mjs';

const TEST_TIMEOUT = 240_000;

let browser;
let api;
const contexts = [];

async function context(opts) {
  const c = await newContext(browser, opts);
  contexts.push(c);
  return c;
}

function assertNoPageErrors() {
  const errors = contexts.flatMap((c) => c.pageErrors.splice(0));
  assert.deepEqual(errors, [], 'uncaught errors in the dashboard');
}

/** Posts one log line with `key` as the bearer credential; resolves to the HTTP status. */
async function postLogWith(key, message) {
  const res = await fetch(`${BASE_URL}/api/v1/logs`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/x-ndjson' },
    body: JSON.stringify({ level: 'info', service: 'e2e-shipper', message }) + '\n',
  });
  await res.arrayBuffer();
  return res.status;
}

describe('admin pages', { timeout: 10 * 60_000 }, () => {
  before(async () => {
    browser = await launchBrowser();
    api = await Api.login(process.env.PAYMON_E2E_ADMIN_EMAIL, process.env.PAYMON_E2E_ADMIN_PASSWORD);
  });

  after(async () => {
    for (const c of contexts) {
      await c.close().catch(() => {});
    }
    await browser?.close();
  });

  test('the admin pages are in the nav for admins only', { timeout: TEST_TIMEOUT }, async () => {
    const email = `viewer-${randomUUID().slice(0, 8)}@paymon.test`;
    const password = `pw-${randomUUID()}`;
    await api.createUser(email, password, 'viewer');
    const page = await newPage(await context());
    await login(page, email, password);
    assert.equal(await page.getByTestId('nav-users').count(), 0);
    assert.equal(await page.getByTestId('nav-api-keys').count(), 0);
    assert.equal(await page.getByTestId('nav-webhooks').count(), 0);
    await page.goto('/admin/api-keys');
    await page.waitForURL((u) => u.pathname === '/');
    assertNoPageErrors();
  });

  test('an API key made on the page posts logs until it is revoked on the page, then gets 401', { timeout: TEST_TIMEOUT }, async () => {
    const page = await newPage(await context());
    await login(page);
    await page.getByTestId('nav-api-keys').click();
    await page.waitForURL(/\/admin\/api-keys/);
    await page.locator('[data-testid="keys-table"], [data-testid="empty-state"]').first().waitFor();

    const name = `e2e shipper ${randomUUID().slice(0, 8)}`;
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('Role', { exact: true }).selectOption('ingest');
    await page.getByTestId('key-create').click();
    const secret = (await page.getByTestId('secret-value').innerText()).trim();
    assert.match(secret, /^pmk_/);
    assert.match(await page.getByTestId('secret-once').innerText(), /you will not see it again/);
    const row = page.locator(`[data-testid="key-row"][data-name="${name}"]`);
    await row.waitFor();
    assert.equal((await row.getByTestId('key-state').innerText()).trim(), 'active');
    await assertNoErrorBanner(page);
    await screenshot(page, 'api-keys');

    assert.equal(await postLogWith(secret, 'shipped with a key made on the admin page'), 200);

    // Once dismissed the secret is gone from the page: the list never carries it.
    await page.getByTestId('secret-dismiss').click();
    await page.getByTestId('secret-once').waitFor({ state: 'detached' });
    assert.ok(!(await page.locator('main').innerText()).includes(secret), 'the secret is still on the page');

    await row.getByTestId('key-revoke').click();
    await row.locator('[data-testid="key-state"]', { hasText: 'revoked' }).waitFor();
    await assertNoErrorBanner(page);
    const status = await until(async () => {
      const s = await postLogWith(secret, 'shipped after the revoke');
      return s === 401 ? s : false;
    }, { timeout: LIVE_TIMEOUT, message: 'the revoked key to be refused' });
    assert.equal(status, 401);
    assertNoPageErrors();
  });

  test('a user created on the page signs in; disabled on the page, their login fails', { timeout: TEST_TIMEOUT }, async () => {
    const page = await newPage(await context());
    await login(page);
    await page.getByTestId('nav-users').click();
    await page.waitForURL(/\/admin\/users/);
    await page.getByTestId('users-table').waitFor();
    // The signed-in admin cannot disable themselves from here.
    const self = page.locator(`[data-testid="user-row"][data-email="${ADMIN_EMAIL}"]`);
    assert.equal(await self.getByTestId('user-toggle').count(), 0);

    const email = `operator-${randomUUID().slice(0, 8)}@paymon.test`;
    const password = `pw-${randomUUID()}`;
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Password (at least 8 characters)').fill(password);
    await page.getByTestId('user-role-select').selectOption('operator');
    await page.getByTestId('user-create').click();
    const row = page.locator(`[data-testid="user-row"][data-email="${email}"]`);
    await row.waitFor();
    assert.equal(await row.getByTestId('user-role-change').inputValue(), 'operator');
    await assertNoErrorBanner(page);

    // The new user can sign in before being disabled…
    const theirs = await Api.login(email, password);
    assert.ok(theirs.token);

    await row.getByTestId('user-toggle').click();
    await page.locator(`[data-testid="user-row"][data-email="${email}"][data-disabled="true"]`).waitFor();
    assert.equal((await row.getByTestId('user-state').innerText()).trim(), 'disabled');
    await assertNoErrorBanner(page);
    await screenshot(page, 'users');

    // …and not after: through the API and through the login form.
    const res = await fetch(`${BASE_URL}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username: email, password }),
    });
    await res.arrayBuffer();
    assert.ok(res.status === 400 || res.status === 401, `token endpoint answered ${res.status} for a disabled user`);
    const other = await newPage(await context());
    await other.goto('/login');
    await other.getByTestId('login-email').fill(email);
    await other.getByTestId('login-password').fill(password);
    await other.getByTestId('login-submit').click();
    await other.getByTestId('error-banner').waitFor();
    assert.match(other.url(), /\/login/);
    assertNoPageErrors();
  });
});
