// pino 10 with its default output (numeric levels, time in epoch ms, msg,
// pid, hostname), shipped to Paymon by pino's transport API through
// paymon-transport.mjs. PAYMON_URL, PAYMON_KEY and PAYMON_SERVICE come
// from the environment.
import pino from 'pino';

const transport = pino.transport({
  target: new URL('./paymon-transport.mjs', import.meta.url).pathname,
  options: {
    url: process.env.PAYMON_URL,
    key: process.env.PAYMON_KEY,
    service: process.env.PAYMON_SERVICE || 'checkout',
  },
});
const logger = pino({ level: 'trace' }, transport);

logger.trace('trace line');
logger.debug('debug line');
logger.info({ orderId: 'o-1', amount: 1299 }, 'order placed');
logger.warn('warn line');
logger.error(new Error('card declined'), 'error line');
logger.fatal('fatal line');
logger.child({ module: 'ledger' }).info('child line');

// End the transport and wait until it has shipped everything.
transport.on('close', () => process.exit(0));
transport.end();
