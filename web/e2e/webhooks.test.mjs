// Browser end-to-end test of the webhooks page (issue 16) against a real
// `paymon serve` (run.mjs sets PAYMON_WEBHOOK_ALLOW_PRIVATE so it may
// deliver to loopback): an endpoint made on the page pointing at a real
// HTTP receiver started here, its secret shown once, a simulator payment's
// delivery in the endpoint's log, a resend from the page reaching the
// receiver a second time, and the payment's events on its detail page.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Api, assertNoErrorBanner, launchBrowser, LIVE_TIMEOUT, login, newContext, newPage, screenshot, until } from './lib.mjs';

const TEST_TIMEOUT = 240_000;

let browser;
let api;
let receiver;
/** Every request the receiver got: event id, type and signature header. */
const received = [];
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

/** A merchant backend: answers 200 to every POST and remembers what came. */
function startReceiver() {
  return new Promise((ok, fail) => {
    const srv = createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        let body = null;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          /* recorded as null: the test then fails on the missing type */
        }
        received.push({ id: req.headers['paymon-event-id'], signature: req.headers['paymon-signature'], type: body?.type, paymentId: body?.payment_id });
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('ok');
      });
    });
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => ok(srv));
  });
}

describe('webhooks page', { timeout: 10 * 60_000 }, () => {
  before(async () => {
    receiver = await startReceiver();
    browser = await launchBrowser();
    api = await Api.login(process.env.PAYMON_E2E_ADMIN_EMAIL, process.env.PAYMON_E2E_ADMIN_PASSWORD);
  });

  after(async () => {
    for (const c of contexts) {
      await c.close().catch(() => {});
    }
    await browser?.close();
    await new Promise((ok) => (receiver ? receiver.close(ok) : ok()));
  });

  test('an endpoint made on the page gets a payment\'s events; Resend delivers again; the payment lists its events', { timeout: TEST_TIMEOUT }, async () => {
    const page = await newPage(await context());
    await login(page);
    await page.getByTestId('nav-webhooks').click();
    await page.waitForURL(/\/webhooks/);
    await page.getByTestId('endpoint-form').waitFor();

    const url = `http://127.0.0.1:${receiver.address().port}/hooks/${randomUUID().slice(0, 8)}`;
    await page.getByLabel('URL (HTTPS in production)').fill(url);
    await page.getByLabel('Description').fill('e2e receiver');
    await page.getByTestId('endpoint-create').click();
    const secret = (await page.getByTestId('secret-value').innerText()).trim();
    assert.match(secret, /^whsec_/);
    assert.match(await page.getByTestId('secret-once').innerText(), /you will not see it again/);
    const card = page.locator(`[data-testid="endpoint"][data-url="${url}"]`);
    await card.waitFor();
    assert.equal((await card.getByTestId('endpoint-state').innerText()).trim(), 'enabled');
    await card.getByTestId('deliveries-empty').waitFor();
    await assertNoErrorBanner(page);
    // Shown once: a fresh load of the page lists the endpoint without it.
    await page.reload();
    await card.waitFor();
    assert.equal(await page.getByTestId('secret-once').count(), 0);
    assert.ok(!(await page.locator('main').innerText()).includes(secret), 'the secret is shown again after a reload');

    const payment = await api.createPayment({ description: 'e2e webhook', simulate: 'succeed' });
    assert.equal(payment.status, 'succeeded');
    const events = await until(async () => {
      const r = await api.request('GET', `/api/v1/events?payment_id=${payment.id}`);
      return r.status === 200 && r.body.data.some((e) => e.type === 'payment.succeeded') ? r.body.data : false;
    }, { message: 'the payment.succeeded event' });
    const succeeded = events.find((e) => e.type === 'payment.succeeded');

    // The page refreshes its delivery log by itself: the attempt shows up without a reload.
    const rows = card.locator(`[data-testid="delivery-row"][data-event-id="${succeeded.id}"]`);
    await card.locator(`[data-testid="delivery-row"][data-event-id="${succeeded.id}"][data-result="delivered"][data-status="200"]`).waitFor({ timeout: LIVE_TIMEOUT });
    assert.equal(await rows.count(), 1);
    assert.ok(received.some((r) => r.id === succeeded.id && r.type === 'payment.succeeded' && /^t=\d+,v1=[0-9a-f]{64}/.test(r.signature ?? '')), 'the receiver did not get the signed event');
    await assertNoErrorBanner(page);
    await screenshot(page, 'webhooks');

    await rows.first().getByTestId('delivery-resend').click();
    await page.getByTestId('action-notice').waitFor();
    await until(async () => (await rows.count()) >= 2, { timeout: LIVE_TIMEOUT, message: 'a second delivery attempt on the page' });
    assert.equal(await card.locator(`[data-testid="delivery-row"][data-event-id="${succeeded.id}"][data-result="delivered"]`).count(), 2);
    assert.ok(received.filter((r) => r.id === succeeded.id).length >= 2, 'the receiver did not get the resent event');
    await assertNoErrorBanner(page);

    // The same page at phone width: nothing hidden behind a horizontal scroll of the whole page.
    await page.setViewportSize({ width: 390, height: 844 });
    await card.waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 1, `the page is ${overflow} px wider than a phone screen`);
    await screenshot(page, 'webhooks-phone');
    await page.setViewportSize({ width: 1366, height: 800 });

    await page.goto(`/payments/${payment.id}`);
    const listed = page.locator('[data-testid="payment-webhook-event"]');
    await page.locator(`[data-testid="payment-webhook-event"][data-id="${succeeded.id}"]`).waitFor();
    const types = await listed.evaluateAll((els) => els.map((e) => e.getAttribute('data-type')));
    assert.ok(types.includes('payment.created') && types.includes('payment.succeeded'), `events listed: ${types.join(', ')}`);
    await assertNoErrorBanner(page);
    await screenshot(page, 'payment-events');
    assertNoPageErrors();
  });

  test('an operator sees the endpoints read-only, with Resend', { timeout: TEST_TIMEOUT }, async () => {
    const email = `ops-${randomUUID().slice(0, 8)}@paymon.test`;
    const password = `pw-${randomUUID()}`;
    await api.createUser(email, password, 'operator');
    const page = await newPage(await context());
    await login(page, email, password);
    await page.getByTestId('nav-webhooks').click();
    await page.getByTestId('read-only-note').waitFor();
    await page.getByTestId('endpoint').first().waitFor();
    assert.equal(await page.getByTestId('endpoint-form').count(), 0);
    assert.equal(await page.getByTestId('endpoint-delete').count(), 0);
    assert.equal(await page.getByTestId('endpoint-rotate').count(), 0);
    await page.getByTestId('delivery-resend').first().waitFor();
    assert.equal(await page.getByTestId('nav-users').count(), 0);
    await assertNoErrorBanner(page);
    assertNoPageErrors();
  });
});
