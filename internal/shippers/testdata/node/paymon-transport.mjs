// A pino transport (pino-abstract-transport) that ships pino's lines to
// Paymon unchanged: NDJSON batches to POST /api/v1/logs (every `batch`
// lines or every `interval` ms), the key in X-API-Key, and ?service=
// naming the service of lines that carry none (pino's default output has
// no service field).
import build from 'pino-abstract-transport';

export default async function paymonTransport(opts) {
  const url = new URL('/api/v1/logs', opts.url);
  if (opts.service) {
    url.searchParams.set('service', opts.service);
  }
  const maxLines = opts.batch || 500;
  let pending = [];
  const inFlight = new Set();

  async function post(lines) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-ndjson', 'X-API-Key': opts.key },
        body: lines.join('\n') + '\n',
      });
      const body = await res.text();
      if (res.status !== 200) {
        console.error(`paymon answered ${res.status}: ${body}`);
        return;
      }
      const answer = JSON.parse(body);
      if (answer.rejected > 0) {
        console.error(`paymon refused ${answer.rejected} lines: ${JSON.stringify(answer.errors)}`);
      }
    } catch (err) {
      console.error(`paymon unreachable: ${err.message}`);
    }
  }

  function flush() {
    if (pending.length === 0) {
      return;
    }
    const p = post(pending);
    pending = [];
    inFlight.add(p);
    p.finally(() => inFlight.delete(p));
  }

  const timer = setInterval(flush, opts.interval || 1000);
  timer.unref();
  let reading;

  return build(function (source) {
    reading = (async () => {
      for await (const line of source) {
        pending.push(line);
        if (pending.length >= maxLines) {
          flush();
        }
      }
    })();
    return reading;
  }, {
    parse: 'lines',
    // pino ends the stream when the logger closes: every batch must be
    // answered before the worker exits.
    close: async () => {
      clearInterval(timer);
      await reading;
      flush();
      await Promise.all(inFlight);
    },
  });
}
