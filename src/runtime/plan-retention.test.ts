import test from 'ava';
import type { Transaction } from 'kysely';
import { z } from 'zod';
import { defineConsumer } from '../api/consumer.js';
import { OptionsError, resolveOptions, type RuntimeOptions } from '../api/options.js';
import { defaultRetention } from '../api/retention.js';
import { defineService, type Service } from '../api/service.js';
import { planRuntime } from './plan.js';

const url = 'postgres://postgres@127.0.0.1:5432/plan_retention_test';
const consumer = (queue: string, maxAttempts?: number) =>
  defineConsumer({
    queue,
    schema: z.object({ id: z.string() }),
    key: (message) => message.id,
    ...(maxAttempts !== undefined && { maxAttempts }),
    async handle(trx: Transaction<unknown>) {
      await trx.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
    },
  });

const plan = (services: readonly Service[], extra: Partial<RuntimeOptions> = {}) =>
  planRuntime(resolveOptions({ broker: { urls: 'amqp://127.0.0.1' }, services, ...extra }));

const problemsOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    if (error instanceof OptionsError) return error.message;
    throw error;
  }
  return '';
};

test('each database gets the defaults, or the longest windows of the services sharing it', (t) => {
  const result = plan(
    [
      defineService({ name: 'a', database: { url }, retention: { deduplicationWindowMs: 3_600_000 } }),
      defineService({ name: 'b', database: { url }, retention: { sentOutboxGraceMs: 0 } }),
      defineService({ name: 'c', database: { url: `${url}_c` } }),
    ],
    { retention: { deduplicationWindowMs: 600_000, intervalMs: 1_000 } },
  );
  const [shared, alone] = result.databases;
  t.like(shared, {
    label: 'a+b',
    retention: { deduplicationWindowMs: 3_600_000, sentOutboxGraceMs: defaultRetention.sentOutboxGraceMs },
  });
  t.like(alone?.retention, { deduplicationWindowMs: 600_000, intervalMs: 1_000, batchSize: 1_000 });
});

test("a bad retention setting, the runtime's or a service's, is an OptionsError naming it", (t) => {
  t.regex(
    problemsOf(() => plan([defineService({ name: 'a', database: { url } })], { retention: { intervalMs: 0 } })),
    /retention\.intervalMs/,
  );
  t.regex(
    problemsOf(() => plan([defineService({ name: 'a', database: { url } })], { retention: { unknown: 1 } as never })),
    /retention: .*unknown/,
  );
  const own = problemsOf(() =>
    plan([defineService({ name: 'a', database: { url }, retention: { sentOutboxGraceMs: -1, keep: true } as never })]),
  );
  t.regex(own, /services\.a\.retention\.sentOutboxGraceMs/);
  t.regex(own, /services\.a\.retention: .*keep/);
});

test("a deduplication window no longer than a consumer's retries is refused, naming both", (t) => {
  const problems = problemsOf(() =>
    plan(
      [
        defineService({
          name: 'shop',
          database: { url },
          consumers: [consumer('orders', 4)],
          retention: { deduplicationWindowMs: 100_000 },
        }),
      ],
      { consumers: { retry: { maxMs: 30_000 }, immediateRetries: 2, delayedRetriesMs: [40_000] } },
    ),
  );
  t.regex(
    problems,
    /services\.shop\.retention\.deduplicationWindowMs: 100000 ms is not longer than the retries of consumer orders/,
  );
  // Two immediate retries at the cap of 30 s, then one delayed retry of 40 s, before the fourth attempt.
  t.regex(problems, /\(100000 ms from its first attempt to its last: 4 attempts/);
  const byDefault = problemsOf(() =>
    plan([defineService({ name: 'shop', database: { url }, consumers: [consumer('orders', 4)] })], {
      retention: { deduplicationWindowMs: 60_000 },
    }),
  );
  t.regex(byDefault, /^invalid options: retention\.deduplicationWindowMs \(the default of shop\): 60000 ms/);
  t.notThrows(() =>
    plan([
      defineService({
        name: 'shop',
        database: { url },
        consumers: [consumer('orders', 4)],
        retention: { deduplicationWindowMs: 90_001 },
      }),
    ]),
  );
});
