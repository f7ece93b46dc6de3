// Entry point of the browser end-to-end tests (make e2e):
//
//   cd web && PAYMON_BIN=/abs/path/bin/paymon node e2e/run.mjs
//
// Starts a real `paymon serve` on a free loopback port over a fresh data
// directory, waits for /healthz, runs e2e/*.test.mjs with Node's test
// runner, and always stops the server and removes the directory, whether
// the tests pass, fail or are interrupted. Exits non-zero on any failure.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');
const START_TIMEOUT_MS = 60_000;

const bin = process.env.PAYMON_BIN;
if (!bin || !existsSync(bin)) {
  console.error(`e2e: PAYMON_BIN must name the paymon binary (got ${JSON.stringify(bin)}); run "make build" first`);
  process.exit(2);
}
const chromiumPath = process.env.PAYMON_E2E_CHROMIUM || '/usr/bin/chromium';
if (!existsSync(chromiumPath)) {
  console.error(`e2e: no browser at ${chromiumPath}; install Debian's chromium with "scripts/deps.sh chromium"`);
  process.exit(2);
}

/** A port nothing listens on right now (the server may still lose a race for it: start() retries). */
function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

const dataDir = mkdtempSync(join(tmpdir(), 'paymon-e2e-'));
const serverLogPath = join(dataDir, 'server.log');
const adminEmail = 'admin@paymon.test';
const adminPassword = `e2e-${randomBytes(12).toString('hex')}`;
let server = null;
let tests = null;
let cleaning = null;
let interrupted = false;

function printServerLog() {
  try {
    const lines = readFileSync(serverLogPath, 'utf8').trimEnd().split('\n');
    console.error(`--- last ${Math.min(60, lines.length)} lines of the server log ---`);
    console.error(lines.slice(-60).join('\n'));
  } catch {
    /* no log yet */
  }
}

/** Signals a child and waits for it to exit, killing it after `graceMs`. */
async function stop(child, signal, graceMs) {
  if (!child || child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise((ok) => child.once('exit', ok));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops the test runner's whole process group (the runner, the test file
 * and the Chromium it launched): SIGTERM lets Playwright close the browser,
 * SIGKILL ends whatever is left after `graceMs`.
 */
async function stopTests(graceMs) {
  if (!tests?.pid || !groupAlive(tests.pid)) {
    return;
  }
  const pgid = tests.pid;
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  const deadline = Date.now() + graceMs;
  while (groupAlive(pgid) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  if (groupAlive(pgid)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  }
}

/** Stops everything once; every caller waits for the same cleanup to finish. */
function cleanup() {
  cleaning ??= (async () => {
    // The tests first, so nothing talks to the server while it stops.
    await stopTests(10_000);
    await stop(server, 'SIGTERM', 10_000);
    try {
      rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    } catch (err) {
      console.error(`e2e: cannot remove ${dataDir}: ${err.message}`);
    }
  })();
  return cleaning;
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, async () => {
    interrupted = true;
    console.error(`e2e: ${sig}, stopping`);
    await cleanup();
    process.exit(130);
  });
}

async function healthy(url) {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** Starts paymon serve and resolves to its base URL once /healthz answers. */
async function start() {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const log = createWriteStream(serverLogPath, { flags: 'a' });
    await new Promise((ok) => log.once('open', ok));
    server = spawn(bin, ['serve'], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TMPDIR: process.env.TMPDIR,
        PAYMON_ADDR: `127.0.0.1:${port}`,
        PAYMON_DATA_DIR: join(dataDir, 'data'),
        PAYMON_ADMIN_EMAIL: adminEmail,
        PAYMON_ADMIN_PASSWORD: adminPassword,
        // Evaluate the alert rules every second so the failure alert shows up in seconds.
        PAYMON_ALERT_EVAL_INTERVAL: '1s',
        PAYMON_ALERT_FAILURE_RATIO: '0.2',
        PAYMON_ALERT_FAILURE_MIN_PAYMENTS: '20',
        PAYMON_ALERT_FAILURE_WINDOW: '5m',
        // The webhook tests' receiver listens on 127.0.0.1, which is refused otherwise.
        PAYMON_WEBHOOK_ALLOW_PRIVATE: 'true',
        // Only the simulator outcomes the tests ask for.
        PAYMON_SIMULATOR_FAILURE_RATE: '0',
      },
      stdio: ['ignore', log, log],
    });
    const exited = new Promise((ok) => server.once('exit', (code, signal) => ok({ code, signal })));
    const deadline = Date.now() + START_TIMEOUT_MS;
    let exit = null;
    while (Date.now() < deadline) {
      exit = await Promise.race([exited, new Promise((ok) => setTimeout(() => ok(null), 200))]);
      if (exit) {
        break;
      }
      if (await healthy(url)) {
        return url;
      }
    }
    if (exit && attempt < 3 && /address already in use/i.test(readFileSync(serverLogPath, 'utf8'))) {
      continue; // lost the race for the port
    }
    printServerLog();
    throw new Error(exit ? `paymon serve exited (${JSON.stringify(exit)}) before it was healthy` : `paymon serve was not healthy after ${START_TIMEOUT_MS} ms`);
  }
}

function runTests(url) {
  const files = readdirSync(here)
    .filter((f) => f.endsWith('.test.mjs'))
    .sort()
    .map((f) => join(here, f));
  const browserTmp = join(dataDir, 'tmp');
  mkdirSync(browserTmp);
  return new Promise((ok) => {
    const child = (tests = spawn(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=1', ...files], {
      stdio: 'inherit',
      // Its own process group, so cleanup can stop it with every browser process it started.
      detached: true,
      env: {
        ...process.env,
        // Chromium's profile goes under the run's directory, so it is removed even when the browser is killed.
        TMPDIR: browserTmp,
        PAYMON_E2E_URL: url,
        PAYMON_E2E_ADMIN_EMAIL: adminEmail,
        PAYMON_E2E_ADMIN_PASSWORD: adminPassword,
        PAYMON_E2E_CHROMIUM: chromiumPath,
        PAYMON_E2E_SCREENSHOTS: process.env.PAYMON_E2E_SCREENSHOTS ?? join(repoRoot, 'docs', 'screenshots'),
      },
    }));
    child.on('exit', (code, signal) => ok(code ?? (signal ? 1 : 0)));
  });
}

let status = 1;
try {
  const started = Date.now();
  const url = await start();
  console.log(`e2e: paymon serve healthy at ${url} after ${Date.now() - started} ms (data in ${dataDir})`);
  status = await runTests(url);
  if (status !== 0) {
    printServerLog();
  }
} catch (err) {
  console.error(`e2e: ${err.message}`);
  status = 1;
} finally {
  await cleanup();
}
process.exit(interrupted ? 130 : status);
