// winston 3 shipping to Paymon with its stock Http transport: format.json()
// with format.timestamp(), metadata on every line, every npm level.
// PAYMON_URL (http://host:port), PAYMON_KEY (an ingest API key) and
// PAYMON_SERVICE come from the environment. It exits once every line was
// answered, non-zero if one was not.
'use strict';
const winston = require('winston');

const url = new URL(process.env.PAYMON_URL);
const http = new winston.transports.Http({
  host: url.hostname,
  port: Number(url.port),
  path: '/api/v1/logs',
  auth: { bearer: process.env.PAYMON_KEY },
  // With batch, the transport sends JSON arrays of lines; Paymon takes
  // both shapes. (WINSTON_BATCH is only for the tests, which run both.)
  // winston 3 also sends an empty [] when a batch's timer fires after the
  // batch was sent full (Paymon answers it 200); the long interval keeps
  // that from racing this script's exit, which counts answers.
  ...(process.env.WINSTON_BATCH ? { batch: true, batchCount: 4, batchInterval: 60000 } : {}),
});

const logger = winston.createLogger({
  level: 'silly', // every npm level: error warn info http verbose debug silly
  format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
  defaultMeta: { service: process.env.PAYMON_SERVICE || 'checkout' },
  transports: [http],
});

// What the transport reports: a refused line or a non-200 answer is a
// warning (winston prints nothing by itself; an application listens).
logger.on('warn', (err) => console.error(`winston warning: ${err.message}`));
logger.on('error', (err) => console.error(`winston error: ${err.message}`));

const lines = [
  () => logger.error('payment failed', { orderId: 'o-1', amount: 1299, card: { brand: 'visa' } }),
  () => logger.warn('retrying capture', { orderId: 'o-2', attempt: 2 }),
  () => logger.info('order placed', { orderId: 'o-3' }),
  () => logger.http('POST /orders 201', { orderId: 'o-4', status: 201 }),
  () => logger.verbose('cart recomputed', { orderId: 'o-5' }),
  () => logger.debug('cache miss', { orderId: 'o-6' }),
  () => logger.silly('tick', { orderId: 'o-7' }),
  () => logger.log('info', 'shipped via log()', { orderId: 'o-8' }),
];

// The transport reports each request: one per line, or one per batch.
const requests = process.env.WINSTON_BATCH ? Math.ceil(lines.length / 4) : lines.length;
let answered = 0;
let warned = false;
logger.on('warn', () => { warned = true; });
function done() {
  answered++;
  if (answered === requests) {
    process.exit(warned ? 1 : 0);
  }
}
http.on('logged', done);
http.on('warn', (err) => {
  console.error(`winston warning: ${err.message}`);
  warned = true;
  done();
});
for (const line of lines) {
  line();
}
