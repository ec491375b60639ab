/**
 * Hostile input through the queue, property-based (fast-check): arbitrary bodies with hostile properties
 * and headers (a huge header table, values of every AMQP type, odd content types and encodings, missing
 * or odd message ids) published raw to the card service's queue. Each message ends either processed (a
 * card issued for its user) or dead-lettered with a reason in `<queue>.dead`; the process never dies; the
 * counts add up and the queue ends empty.
 */
import { randomUUID } from 'node:crypto';
import test from 'ava';
import fc from 'fast-check';
import type { Options } from 'amqplib';
import { encodeTable } from 'amqplib/lib/codec.js';
import { deadLetterHeader } from '../../src/policies/dead-letter.js';
import { userMessageSchema } from '../../src/app/messages.js';
import { peekQueue, publishRaw, queueCounts } from '../support/broker.js';
import { createTestEnvironment, query } from '../support/environment.js';
import { hostileEmail, hostileName } from '../support/hostile-strings.js';
import { startService } from '../support/service-process.js';
import { waitUntil } from '../support/wait.js';

const sequenceHeader = 'x-test-sequence';

const headerValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer(),
  // Sent as an AMQP double: amqplib alone would send 1e47 as a 64-bit integer and fail. Read back, such a
  // value is a plain number that amqplib cannot encode again: the dead letter must still go out.
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((value) => ({ '!': 'double', value })),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), { maxLength: 5 }),
  // A nested key "!" would make amqplib read the table as a typed value, which this test cannot send.
  fc.dictionary(fc.stringMatching(/^[a-z0-9_-]{1,8}$/), fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), {
    maxKeys: 4,
  }),
  fc.constant({ '!': 'timestamp', value: 1_700_000_000 }),
  fc.constant({ '!': 'decimal', value: { places: 2, digits: 12_345 } }),
  fc.constant({ '!': 'byte', value: -5 }),
);

/**
 * A header table: small and odd, or huge: 200 to 1,700 entries of about 41 encoded bytes, up to and past
 * the 64 KiB that amqplib can encode (past it, this test cannot publish the message; the service's dead
 * letter, which adds its own headers, must still go out for the tables just below it).
 */
const headers = fc.oneof(
  fc.dictionary(fc.string({ minLength: 1, maxLength: 30 }), headerValue, { maxKeys: 12 }),
  fc
    .integer({ min: 200, max: 1_700 })
    .map((count) =>
      Object.fromEntries(
        Array.from({ length: count }, (_, index) => [`h${index}`, `value-${index}-${'x'.repeat(20)}`]),
      ),
    ),
  fc.constant({ 'x-ackstate-reason': 'forged', 'x-ackstate-attempts': 'many', 'x-death': [{ count: 'x' }] }),
);

const properties = fc.record(
  {
    messageId: fc.oneof(fc.string({ maxLength: 40 }), fc.constant('')),
    contentType: fc.constantFrom(
      'application/json',
      'text/plain',
      'application/x-evil; charset=utf-16',
      '',
      'image/png',
    ),
    contentEncoding: fc.constantFrom('gzip', 'utf-16', 'identity'),
    type: fc.string({ maxLength: 20 }),
    correlationId: fc.string({ maxLength: 20 }),
    appId: fc.string({ maxLength: 20 }),
    priority: fc.integer({ min: 0, max: 9 }),
    timestamp: fc.integer({ min: 0, max: 2 ** 31 }),
  },
  { requiredKeys: [] },
);

/** A user message with hostile fields (valid or not), any JSON, or bytes that are not JSON at all. */
const body = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .record({ name: hostileName, email: hostileEmail })
      .map(({ name, email }) =>
        JSON.stringify({ id: randomUUID(), name, email, created_at: new Date().toISOString() }),
      ),
  },
  { weight: 1, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
  { weight: 1, arbitrary: fc.constant(JSON.stringify({ id: 'x', pad: 'p'.repeat(70_000) })) },
);

function validUserId(content: string | Buffer): string | undefined {
  try {
    const parsed = userMessageSchema.safeParse(JSON.parse(content.toString()));
    return parsed.success ? parsed.data.id : undefined;
  } catch {
    return undefined;
  }
}

test('every hostile message is processed or dead-lettered with a reason; the consumer never dies', async (t) => {
  const environment = createTestEnvironment('hostilequeue', { MAX_ATTEMPTS: '3' });
  t.teardown(() => environment.cleanUp());
  const service = await startService(environment.env, 'card');
  t.teardown(() => service.stop());
  const deadQueue = `${environment.userQueue}.dead`;
  let sequence = 0;
  const tally = { processed: 0, deadLettered: 0, unsendable: 0 };

  const result = await fc.check(
    fc.asyncProperty(body, properties, headers, async (content, props, table) => {
      sequence += 1;
      const mine = sequence;
      // fast-check's dictionaries may lack a prototype, which amqplib's encoder cannot read: plain objects, same content.
      const plainTable = JSON.parse(JSON.stringify(table)) as Record<string, unknown>;
      const options: Options.Publish = { ...props, headers: { ...plainTable, [sequenceHeader]: mine } };
      try {
        await publishRaw(environment.userQueue, [content], options);
      } catch (error) {
        // amqplib refuses to encode a header table over 64 KiB: such a message never reaches the broker.
        if ((error as { code?: string }).code !== 'ERR_OUT_OF_RANGE') throw error;
        tally.unsendable += 1;
        return;
      }
      const userId = validUserId(content);
      const outcome = await waitUntil(
        async () => {
          if (userId) {
            const cards = await query(environment.cardDbUrl, 'SELECT 1 FROM cards WHERE user_id = $1', [userId]);
            if (cards.length === 1) return 'processed';
          }
          // One message at a time, so a new dead letter is this message's. Its headers (and the sequence
          // number in them) are dropped when they could not be published again.
          const letters = await peekQueue(deadQueue);
          if (letters.length > tally.deadLettered) {
            const dead =
              letters.find((message) => message.properties.headers?.[sequenceHeader] === mine) ?? letters.at(-1)!;
            const sequenceSeen = dead.properties.headers?.[sequenceHeader];
            if (sequenceSeen !== undefined && sequenceSeen !== mine)
              throw new Error(`dead letter ${String(sequenceSeen)} arrived late`);
            const reason = dead.properties.headers?.[deadLetterHeader.reason];
            if (typeof reason !== 'string' || reason.length === 0) throw new Error(`dead letter ${mine} has no reason`);
            return 'dead-lettered';
          }
          if (service.child.exitCode !== null)
            throw new Error(`the card service exited with ${service.child.exitCode}`);
          return undefined;
        },
        { timeoutMs: 60_000, intervalMs: 50, what: `message ${mine} to be processed or dead-lettered` },
      );
      if (outcome === 'processed') tally.processed += 1;
      else tally.deadLettered += 1;
      // A message the schema accepts must be processed; one it refuses must be dead-lettered.
      if ((userId !== undefined) !== (outcome === 'processed')) {
        throw new Error(`message ${mine} was ${outcome}, but the schema ${userId ? 'accepts' : 'refuses'} it`);
      }
    }),
    // No shrinking: each run waits on the broker, and the failing message is described below.
    { numRuns: 50, endOnFailure: true },
  );
  if (result.failed) {
    const [content, props, table] = result.counterexample ?? [];
    t.fail(
      `${String(result.errorInstance)}\nbody: ${String(content).slice(0, 300)}\nproperties: ${JSON.stringify(props)}\n` +
        `headers: ${Object.keys(table ?? {}).length} entries, ${JSON.stringify(table).slice(0, 300)}`,
    );
    return;
  }

  t.log(`processed ${tally.processed}, dead-lettered ${tally.deadLettered}, too large to publish ${tally.unsendable}`);
  t.is(tally.processed + tally.deadLettered + tally.unsendable, sequence);
  t.is((await peekQueue(deadQueue)).length, tally.deadLettered, 'each dead letter once');
  const cards = await query<{ n: string }>(environment.cardDbUrl, 'SELECT count(*) AS n FROM cards');
  t.is(Number(cards[0]!.n), tally.processed, 'each processed message made one card');
  await waitUntil(async () => (await queueCounts(environment.userQueue)).messages === 0, {
    what: 'the queue to be empty',
  });
  t.is(service.child.exitCode, null);
  t.is((await fetch(`${service.url}/readyz`)).status, 200);
});

/** The largest table of `entry`-shaped headers that this test's amqplib can still publish. */
function largestPublishableTable(): Record<string, string> {
  const table = (count: number) =>
    Object.fromEntries(Array.from({ length: count }, (_, index) => [`h${index}`, `value-${index}-${'x'.repeat(20)}`]));
  const buffer = Buffer.alloc(65_536 - 200);
  let count = 1_000;
  for (;;) {
    try {
      encodeTable(buffer, table(count + 1), 0);
      count += 1;
    } catch {
      return table(count);
    }
  }
}

test("a poison message whose headers fill amqplib's limit is dead-lettered (without them), not retried forever", async (t) => {
  const environment = createTestEnvironment('hugeheaders');
  t.teardown(() => environment.cleanUp());
  const service = await startService(environment.env, 'card');
  t.teardown(() => service.stop());
  await publishRaw(environment.userQueue, ['not JSON'], {
    messageId: 'huge-headers',
    headers: largestPublishableTable(),
  });
  const [dead] = await waitUntil(
    async () => {
      const messages = await peekQueue(`${environment.userQueue}.dead`);
      return messages.length === 1 ? messages : undefined;
    },
    { what: 'the message with huge headers in the dead-letter queue' },
  );
  t.is(dead!.properties.messageId, 'huge-headers');
  t.regex(String(dead!.properties.headers?.[deadLetterHeader.reason]), /not JSON/);
  t.regex(String(dead!.properties.headers?.[deadLetterHeader.headersDropped]), /over \d+ bytes/);
  t.is(dead!.properties.headers?.h0, undefined);
  t.is(service.child.exitCode, null);
});
