/**
 * A process of its own running the card-activation actor of `durable-cards.ts`, for tests that kill it:
 * `node --import=tsx test/support/durable-cards-process.ts` with the test's names in DURABLE_CARDS_NAMES
 * (JSON of `CardNames`) and the timing in DURABLE_CARDS_TIMING (JSON of `CardTiming`). It prints `ready`
 * once the runtime consumes.
 */
import { defineExchange, startRuntime, defineService, createLogger } from '../../src/index.js';
import { cardActivation, type CardNames, type CardTiming } from './durable-cards.js';

const given = JSON.parse(process.env.DURABLE_CARDS_NAMES ?? '{}') as CardNames & { exchange: { name: string } };
const names: CardNames = { ...given, exchange: defineExchange({ name: given.exchange.name, type: 'topic' }) };
const timing = JSON.parse(process.env.DURABLE_CARDS_TIMING ?? '{}') as CardTiming;

await startRuntime({
  broker: { urls: [process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'] },
  http: { port: 0 },
  outbox: { leaseMs: 2_000, pollMs: 200 },
  logger: createLogger('error'),
  services: [
    defineService({ name: names.service, database: { url: names.dbUrl }, actors: [cardActivation(names, timing)] }),
  ],
});
process.stdout.write('ready\n');
