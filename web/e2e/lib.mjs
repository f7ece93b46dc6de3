// Helpers shared by the browser tests: the API client the tests use to
// seed data, the browser launch, login through the form, and waits that
// poll until a condition holds or a deadline passes.
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const BASE_URL = mustEnv('PAYMON_E2E_URL');
export const ADMIN_EMAIL = mustEnv('PAYMON_E2E_ADMIN_EMAIL');
export const ADMIN_PASSWORD = mustEnv('PAYMON_E2E_ADMIN_PASSWORD');
/** Where screenshots go; unset means no screenshots. */
export const SHOTS_DIR = process.env.PAYMON_E2E_SCREENSHOTS || '';

// The CI box has two cores and Chromium shares them with paymon: waits are generous.
export const UI_TIMEOUT = 30_000;
export const LIVE_TIMEOUT = 30_000;
export const ALERT_TIMEOUT = 90_000;

function mustEnv(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set: run the browser tests through e2e/run.mjs`);
  }
  return v;
}

/** Polls fn until it returns a truthy value; throws `message` (and the last value or error) at the deadline. */
export async function until(fn, { timeout = LIVE_TIMEOUT, interval = 250, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) {
        return last;
      }
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeout} ms waiting for ${message} (last: ${detail})`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** A small client of the Paymon API for seeding data the browser then has to show. */
export class Api {
  constructor(token) {
    this.token = token;
  }

  static async login(email, password) {
    const res = await fetch(`${BASE_URL}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username: email, password }),
    });
    const body = await res.json();
    if (res.status !== 200 || !body.access_token) {
      throw new Error(`token endpoint answered ${res.status}: ${JSON.stringify(body)}`);
    }
    return new Api(body.access_token);
  }

  async request(method, path, body, { headers = {}, raw = false } = {}) {
    const init = { method, headers: { Authorization: `Bearer ${this.token}`, ...headers } };
    if (body !== undefined) {
      init.body = raw ? body : JSON.stringify(body);
      if (!raw) {
        init.headers['Content-Type'] = 'application/json';
      }
    }
    const res = await fetch(`${BASE_URL}${path}`, init);
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    return { status: res.status, body: json };
  }

  /** Creates a payment; `simulate` picks the simulator's outcome. */
  async createPayment({ amount = 1250, currency = 'EUR', description = 'e2e payment', simulate = 'succeed' } = {}) {
    const r = await this.request('POST', '/api/v1/payments', { amount, currency, description, metadata: { simulate } }, { headers: { 'Idempotency-Key': randomUUID() } });
    if (r.status !== 200 && r.status !== 201) {
      throw new Error(`POST /api/v1/payments answered ${r.status}: ${JSON.stringify(r.body)}`);
    }
    return r.body;
  }

  /** Posts log entries as NDJSON, one object a line. */
  async postLogs(entries) {
    const ndjson = entries.map((e) => JSON.stringify(e)).join('\n') + '\n';
    const r = await this.request('POST', '/api/v1/logs', ndjson, { raw: true, headers: { 'Content-Type': 'application/x-ndjson' } });
    if (r.status !== 200) {
      throw new Error(`POST /api/v1/logs answered ${r.status}: ${JSON.stringify(r.body)}`);
    }
    return r.body;
  }

  async createUser(email, password, role) {
    const r = await this.request('POST', '/api/v1/users', { email, password, role });
    if (r.status !== 201) {
      throw new Error(`POST /api/v1/users answered ${r.status}: ${JSON.stringify(r.body)}`);
    }
    return r.body;
  }
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.PAYMON_E2E_CHROMIUM || '/usr/bin/chromium',
    // Without the background-networking flags Chromium's own outbound
    // connections are refused many at a time on this network, which slows
    // every launch; the tests need only loopback.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * A fresh browser context (its own storage: a separate user). Every page
 * records the stream frames it receives (window.__pmFrames) so a test can
 * wait until a subscription is live before causing the event it expects,
 * and collects uncaught page errors and CSP violations (newPage) so a test
 * can assert there were none.
 */
export async function newContext(browser, { width = 1366, height = 800 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, baseURL: BASE_URL, reducedMotion: 'reduce' });
  context.setDefaultTimeout(UI_TIMEOUT);
  await context.addInitScript(() => {
    const frames = [];
    window.__pmFrames = frames;
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        this.addEventListener('message', (ev) => {
          try {
            const f = JSON.parse(ev.data);
            if (f.type !== 'event') {
              frames.push(f);
            }
          } catch {
            /* not JSON: not ours to check */
          }
        });
      }
    };
  });
  context.pageErrors = [];
  return context;
}

/** Opens a page that records its uncaught errors in context.pageErrors. */
export async function newPage(context) {
  const page = await context.newPage();
  page.on('pageerror', (err) => context.pageErrors.push(`${page.url()}: ${err.message}`));
  // A Content-Security-Policy violation is no exception: Chromium reports
  // it on the console ("Refused to load/execute/apply ... because it
  // violates the following Content Security Policy directive").
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to (load|execute|apply|connect|frame)/.test(msg.text())) {
      context.pageErrors.push(`${page.url()}: CSP: ${msg.text()}`);
    }
  });
  return page;
}

/** How many `subscribed` frames for `topic` the page has received. */
export async function subscribedCount(page, topic) {
  return page.evaluate((t) => (window.__pmFrames || []).filter((f) => f.type === 'subscribed' && f.topic === t).length, topic);
}

/** Waits until the page's stream has at least `n` live subscriptions to `topic`. */
export async function waitSubscribed(page, topic, n = 1) {
  await page.locator('[data-testid="stream-state"][data-state="open"]').waitFor({ timeout: LIVE_TIMEOUT });
  await until(async () => (await subscribedCount(page, topic)) >= n, { message: `a live subscription to "${topic}"` });
}

/** Signs in through the login form and waits for the app shell. */
export async function login(page, email = ADMIN_EMAIL, password = ADMIN_PASSWORD) {
  await page.goto('/login');
  await page.getByTestId('login-email').fill(email);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
  // Attached, not visible: at phone width the navigation is folded behind its toggle.
  await page.getByTestId('nav-overview').waitFor({ state: 'attached' });
}

/** Fails when an error banner is showing (a page with a backend error must not pass as a screenshot). */
export async function assertNoErrorBanner(page) {
  const banners = page.locator('[data-testid="error-banner"]:visible, [data-testid="api-unreachable"]:visible');
  if ((await banners.count()) > 0) {
    throw new Error(`error banner on ${page.url()}: ${await banners.first().innerText()}`);
  }
}

export async function screenshot(page, name) {
  if (!SHOTS_DIR) {
    return;
  }
  mkdirSync(SHOTS_DIR, { recursive: true });
  await assertNoErrorBanner(page);
  await page.screenshot({ path: `${SHOTS_DIR}/${name}.png`, animations: 'disabled' });
}
