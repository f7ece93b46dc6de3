// Browser end-to-end tests of the dashboard against a real `paymon serve`
// (started by run.mjs), driven through Debian's Chromium: what issue 7's
// "Must show" lists, plus a screenshot of each page for the README.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  ADMIN_EMAIL,
  ALERT_TIMEOUT,
  Api,
  assertNoErrorBanner,
  launchBrowser,
  LIVE_TIMEOUT,
  login,
  newContext,
  newPage,
  screenshot,
  subscribedCount,
  until,
  waitSubscribed,
} from './lib.mjs';

const TEST_TIMEOUT = 240_000;

let browser;
let api;
const contexts = [];
/** Shared between the steps of one story; each step that needs it fails clearly when an earlier one did not set it. */
const state = { adminPage: null, paymentId: null };

async function context(opts) {
  const c = await newContext(browser, opts);
  contexts.push(c);
  return c;
}

/** The admin's tab, signed in once through the form (by the first test, or here when it failed). */
async function adminPage() {
  if (!state.adminPage) {
    const page = await newPage(await context());
    await login(page);
    state.adminPage = page;
  }
  return state.adminPage;
}

/** Waits until the payments list finished loading (rows or the empty state). */
async function paymentsLoaded(page) {
  await page.locator('[data-testid="payments-table"], [data-testid="empty-state"]').first().waitFor();
  await assertNoErrorBanner(page);
}

/** Marks the document so a later check can tell that the page was not reloaded. */
async function markDocument(page) {
  const mark = randomUUID();
  await page.evaluate((m) => (window.__pmNoReload = m), mark);
  return async () => assert.equal(await page.evaluate(() => window.__pmNoReload), mark, 'the page was reloaded');
}

function assertNoPageErrors() {
  const errors = contexts.flatMap((c) => c.pageErrors.splice(0));
  assert.deepEqual(errors, [], 'uncaught errors in the dashboard');
}

describe('dashboard', { timeout: 30 * 60_000 }, () => {
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

  test('signs in through the login form; a wrong password is refused', { timeout: TEST_TIMEOUT }, async () => {
    const page = await newPage(await context());
    await page.goto('/');
    // The guard sends a signed-out visitor to the login page.
    await page.waitForURL(/\/login/);
    await page.getByTestId('login-submit').waitFor();
    await screenshot(page, 'login');

    await page.getByTestId('login-email').fill(ADMIN_EMAIL);
    await page.getByTestId('login-password').fill('not-the-password');
    await page.getByTestId('login-submit').click();
    await page.getByTestId('error-banner').waitFor();
    assert.match(page.url(), /\/login/);

    await page.getByTestId('login-password').fill(process.env.PAYMON_E2E_ADMIN_PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('nav-overview').waitFor();
    assert.equal((await page.getByTestId('user-role').innerText()).trim(), 'admin');
    await page.getByTestId('kpi-volume').waitFor();
    await assertNoErrorBanner(page);
    state.adminPage = page;
    assertNoPageErrors();
  });

  test('the refresh token stays in an HttpOnly cookie; a refused access token is renewed through it; sign-out revokes it', { timeout: TEST_TIMEOUT }, async () => {
    const ctx = await context();
    const page = await newPage(ctx);
    await login(page);
    const refreshCookie = async () => (await ctx.cookies()).find((c) => c.name === 'paymon_refresh');
    const cookie = await refreshCookie();
    assert.ok(cookie, 'no paymon_refresh cookie after sign-in');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(cookie.path, '/api/v1/auth');
    const stored = await page.evaluate(() => sessionStorage.getItem('paymon.auth') ?? '');
    assert.ok(!stored.includes('pmr_') && !stored.includes(cookie.value), 'the refresh token is readable by script');
    assert.equal(await page.evaluate(() => document.cookie.includes('paymon_refresh')), false, 'document.cookie shows the refresh cookie');

    // Spoil the access token's signature and reload: the API answers 401,
    // the app renews the token through the cookie and carries on signed in.
    const spoiled = await page.evaluate(() => {
      const v = JSON.parse(sessionStorage.getItem('paymon.auth'));
      v.accessToken = v.accessToken.slice(0, -4) + (v.accessToken.endsWith('AAAA') ? 'BBBB' : 'AAAA');
      sessionStorage.setItem('paymon.auth', JSON.stringify(v));
      return v.accessToken;
    });
    await page.goto('/payments');
    await paymentsLoaded(page);
    assert.doesNotMatch(page.url(), /\/login/);
    await until(async () => (await page.evaluate(() => JSON.parse(sessionStorage.getItem('paymon.auth')).accessToken)) !== spoiled, {
      message: 'a renewed access token',
    });
    const rotated = await refreshCookie();
    assert.ok(rotated && rotated.value !== cookie.value, 'the refresh did not rotate the cookie');

    await page.getByTestId('logout-button').click();
    await page.waitForURL(/\/login/);
    await until(async () => (await refreshCookie()) === undefined, { message: 'the refresh cookie cleared by sign-out' });
    // The revoked token refreshes nothing, even if someone kept a copy.
    const res = await fetch(new URL('/api/v1/auth/token', page.url()), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: rotated.value }),
    });
    assert.equal(res.status, 401);
    assertNoPageErrors();
  });

  test('a payment created through the form appears live in the feed and the table, without reload', { timeout: TEST_TIMEOUT }, async () => {
    const watcher = await adminPage();
    await watcher.getByTestId('nav-payments').click();
    await paymentsLoaded(watcher);
    await waitSubscribed(watcher, 'payments');
    const notReloaded = await markDocument(watcher);

    // A second tab of the same person creates the payment.
    const creator = await newPage(watcher.context());
    await login(creator);
    await creator.getByTestId('nav-payments').click();
    await creator.getByTestId('new-payment-button').click();
    await creator.getByTestId('create-payment-form').waitFor();
    const description = `e2e live ${randomUUID().slice(0, 8)}`;
    await creator.getByTestId('create-amount').fill('42.17');
    await creator.getByTestId('create-currency').selectOption('EUR');
    await creator.getByTestId('create-description').fill(description);
    await creator.getByTestId('create-simulate').selectOption('succeed');
    await creator.getByTestId('create-submit').click();
    await creator.waitForURL(/\/payments\/(?!new)[^/?#]+$/);
    const id = decodeURIComponent(new URL(creator.url()).pathname.split('/').pop());
    await creator.locator(`[data-testid="payment-detail"][data-id="${id}"]`).waitFor();
    await creator.close();

    // The watching tab shows it without being reloaded.
    await watcher.locator(`[data-testid="feed-item"][data-id="${id}"]`).first().waitFor({ timeout: LIVE_TIMEOUT });
    const row = watcher.locator(`[data-testid="payment-row"][data-id="${id}"]`);
    await row.waitFor({ timeout: LIVE_TIMEOUT });
    await until(async () => (await row.getAttribute('data-status')) === 'succeeded', { message: 'the row to show succeeded' });
    assert.match(await row.innerText(), /42\.17/);
    await notReloaded();
    state.paymentId = id;
    assertNoPageErrors();
  });

  test("opens the payment's detail and refunds it", { timeout: TEST_TIMEOUT }, async () => {
    assert.ok(state.paymentId, 'needs the payment of the previous test');
    const page = await adminPage();
    const id = state.paymentId;
    if (!(await page.locator(`[data-testid="payment-row"][data-id="${id}"]`).count())) {
      await page.getByTestId('nav-payments').click();
    }
    await page.locator(`[data-testid="payment-row"][data-id="${id}"] a`).first().click();
    const detail = page.locator(`[data-testid="payment-detail"][data-id="${id}"]`);
    await detail.waitFor();
    const status = page.getByTestId('payment-status');
    const refunded = page.getByTestId('payment-refunded');
    assert.equal((await status.innerText()).trim(), 'succeeded');
    const refundedBefore = (await refunded.innerText()).trim();
    const amount = (await page.getByTestId('payment-amount').innerText()).trim();
    assert.notEqual(refundedBefore, amount);
    await page.getByTestId('payment-timeline').waitFor();
    const eventsBefore = await page.getByTestId('payment-event').count();
    assert.ok(eventsBefore >= 1, 'the timeline lists the creation');

    // An empty amount refunds what is left: all of it.
    await page.getByTestId('refund-amount').fill('');
    await page.getByTestId('refund-button').click();
    await until(async () => (await status.innerText()).trim() === 'refunded', { message: 'the status to become refunded' });
    assert.equal((await refunded.innerText()).trim(), amount);
    await page.getByTestId('action-notice').waitFor();
    await until(async () => (await page.getByTestId('payment-event').count()) > eventsBefore, { message: 'a refund event in the timeline' });
    // Nothing is left to refund.
    await page.getByTestId('refund-form').waitFor({ state: 'detached' });
    await assertNoErrorBanner(page);
    assertNoPageErrors();
  });

  test('error logs posted through the API appear in the live tail; the level filter applies', { timeout: TEST_TIMEOUT }, async () => {
    const page = await adminPage();
    await page.getByTestId('nav-logs').click();
    await page.getByTestId('log-tail').waitFor();
    await waitSubscribed(page, 'logs');
    const notReloaded = await markDocument(page);

    const marker = `e2e-${randomUUID().slice(0, 8)}`;
    await api.postLogs([0, 1, 2].map((i) => ({ level: 'error', service: 'checkout', message: `card processor timeout ${marker} #${i}` })));
    const rows = page.locator('[data-testid="log-row"][data-level="error"]', { hasText: marker });
    await until(async () => (await rows.count()) === 3, { message: 'three error rows in the live tail' });

    // Only errors: the stream is resubscribed with the filter.
    const subs = await subscribedCount(page, 'logs');
    await page.getByTestId('tail-level-error').check();
    await waitSubscribed(page, 'logs', subs + 1);
    const marker2 = `e2e-${randomUUID().slice(0, 8)}`;
    await api.postLogs([
      { level: 'info', service: 'checkout', message: `filtered out ${marker2}` },
      { level: 'error', service: 'checkout', message: `kept ${marker2}` },
    ]);
    await page.locator('[data-testid="log-row"][data-level="error"]', { hasText: `kept ${marker2}` }).waitFor({ timeout: LIVE_TIMEOUT });
    // The info line was published first: had the filter not applied, it would be here by now.
    assert.equal(await page.locator('[data-testid="log-row"]', { hasText: `filtered out ${marker2}` }).count(), 0);
    await page.getByTestId('tail-level-error').uncheck();
    await notReloaded();
    assertNoPageErrors();
  });

  test('many failing payments raise a PaymentFailureRateHigh alert, shown live on /alerts', { timeout: TEST_TIMEOUT }, async () => {
    const page = await adminPage();
    await page.getByTestId('nav-alerts').click();
    await page.locator('[data-testid="alerts-table"], [data-testid="empty-state"]').first().waitFor();
    await assertNoErrorBanner(page);
    await waitSubscribed(page, 'alerts');
    const notReloaded = await markDocument(page);

    for (let i = 0; i < 30; i++) {
      const p = await api.createPayment({ amount: 1000 + i, description: `e2e failing ${i}`, simulate: 'fail' });
      assert.equal(p.status, 'failed', `payment ${i} should fail`);
    }
    const row = page.locator('[data-testid="alert-row"][data-rule="PaymentFailureRateHigh"]');
    await row.first().waitFor({ timeout: ALERT_TIMEOUT });
    assert.equal(await row.first().getAttribute('data-state'), 'firing');
    await notReloaded();
    assertNoPageErrors();
  });

  test('a viewer sees no refund button and no create button', { timeout: TEST_TIMEOUT }, async () => {
    const email = `viewer-${randomUUID().slice(0, 8)}@paymon.test`;
    const password = 'viewer-password-1';
    await api.createUser(email, password, 'viewer');
    const p = await api.createPayment({ amount: 990, description: 'e2e viewer check', simulate: 'succeed' });
    assert.equal(p.status, 'succeeded');

    // Control: the same page offers the refund to an admin, so its absence below means something.
    const admin = await adminPage();
    await admin.goto(`/payments/${p.id}`);
    await admin.getByTestId('refund-button').waitFor();

    const page = await newPage(await context());
    await login(page, email, password);
    assert.equal((await page.getByTestId('user-role').innerText()).trim(), 'viewer');
    await page.goto(`/payments/${p.id}`);
    await page.locator(`[data-testid="payment-detail"][data-id="${p.id}"]`).waitFor();
    assert.equal((await page.getByTestId('payment-status').innerText()).trim(), 'succeeded');
    assert.equal(await page.getByTestId('refund-button').count(), 0);
    assert.equal(await page.getByTestId('refund-form').count(), 0);

    await page.getByTestId('nav-payments').click();
    await paymentsLoaded(page);
    await page.locator(`[data-testid="payment-row"][data-id="${p.id}"]`).waitFor();
    assert.equal(await page.getByTestId('new-payment-button').count(), 0);
    assertNoPageErrors();
  });

  const shots = { timeout: TEST_TIMEOUT, skip: process.env.PAYMON_E2E_SCREENSHOTS ? false : 'PAYMON_E2E_SCREENSHOTS is not set' };

  test('screenshots: payments, overview, payment detail', shots, async () => {
    const page = await adminPage();

    // The feed shows what arrives while the page is open.
    await page.goto('/payments');
    await paymentsLoaded(page);
    await waitSubscribed(page, 'payments');
    const fresh = [];
    for (const [amount, currency, simulate, description] of [
      [2599, 'EUR', 'succeed', 'Annual plan'],
      [1800, 'USD', 'decline_insufficient_funds', 'Team seat'],
      [74900, 'JPY', 'succeed', 'Gift card'],
      [4500, 'GBP', 'pending', 'Bank transfer'],
    ]) {
      fresh.push(await api.createPayment({ amount, currency, simulate, description }));
    }
    for (const p of fresh) {
      await page.locator(`[data-testid="feed-item"][data-id="${p.id}"]`).first().waitFor({ timeout: LIVE_TIMEOUT });
    }
    await screenshot(page, 'payments');

    // After the payments above, so the charts show several currencies.
    await page.goto('/');
    await page.getByTestId('kpi-volume').waitFor();
    await page.locator('[data-testid="chart-payments-by-status"] canvas').waitFor();
    await screenshot(page, 'overview');

    const detailId = state.paymentId ?? fresh[0].id;
    await page.goto(`/payments/${detailId}`);
    await page.getByTestId('payment-timeline').waitFor();
    await screenshot(page, 'payment-detail');
    assertNoPageErrors();
  });

  test('screenshot: logs live tail', shots, async () => {
    const page = await adminPage();
    await page.goto('/logs');
    await page.getByTestId('log-tail').waitFor();
    await waitSubscribed(page, 'logs');
    const lines = [
      ['info', 'api', 'POST /api/v1/payments 201 in 12ms'],
      ['info', 'checkout', 'cart confirmed, 3 items'],
      ['debug', 'worker', 'reconciler pass: 0 pending payments'],
      ['warn', 'checkout', 'provider latency above 800ms'],
      ['info', 'api', 'GET /api/v1/payments 200 in 4ms'],
      ['error', 'checkout', 'card processor timeout after 3 attempts'],
      ['info', 'notifier', 'receipt e-mail queued'],
      ['warn', 'api', 'rate limit reached for key pk_live_…42'],
      ['error', 'worker', 'webhook delivery failed: 503 from merchant endpoint'],
      ['info', 'api', 'POST /api/v1/payments/pay_…/refund 200 in 18ms'],
      ['fatal', 'ledger', 'cannot open ledger journal: disk full'],
      ['info', 'checkout', 'payment succeeded'],
    ];
    await api.postLogs(lines.map(([level, service, message]) => ({ level, service, message })));
    await until(async () => (await page.getByTestId('log-row').count()) >= lines.length, { message: 'the posted lines in the tail' });
    await screenshot(page, 'logs-tail');
    assertNoPageErrors();
  });

  test('screenshots: logs statistics, alerts, payments at phone width', shots, async () => {
    const page = await adminPage();
    await page.goto('/logs?tab=stats');
    await page.getByTestId('logs-stats-total').waitFor();
    await page.locator('[data-testid="chart-logs-by-level"] canvas').waitFor();
    await screenshot(page, 'logs-stats');

    await page.goto('/alerts');
    await page.getByTestId('alert-row').first().waitFor({ timeout: ALERT_TIMEOUT });
    await screenshot(page, 'alerts');

    const phone = await newPage(await context({ width: 390, height: 800 }));
    await login(phone);
    await phone.goto('/payments');
    await phone.getByTestId('payment-row').first().waitFor();
    await screenshot(phone, 'payments-mobile');
    assertNoPageErrors();
  });
});
