// The outbox insert against a real database: one row, and a batch of rows in one statement, read back
// exactly as written (bodies with quotes, backslashes, braces, escapes and non-ASCII text; headers or none).
import { randomUUID } from 'node:crypto';
import test from 'ava';
import { insertOutbox, type OutgoingMessage } from '../src/db/messaging-queries.js';
import { query } from './support/environment.js';
import { messagingDatabase } from './support/messaging-database.js';

const message = (body: unknown, headers: OutgoingMessage['headers'] = null): OutgoingMessage => ({
  id: randomUUID(),
  exchange: '',
  routingKey: 'card_queue',
  body: JSON.stringify(body),
  headers,
});

type Row = { id: string; exchange: string; routing_key: string; body: string; headers: unknown; leased: boolean };
const rowsOf = (url: string) =>
  query<Row>(
    url,
    `SELECT id, exchange, routing_key, body, headers,
            next_attempt_at > now() + interval '5 seconds' AS leased
       FROM outbox ORDER BY created_at, body`,
  );

for (const count of [1, 4]) {
  test(`${count} outgoing message${count > 1 ? 's' : ''} written in a transaction read back exactly, leased`, async (t) => {
    const { db, url } = await messagingDatabase(t, `outbox${count}`);
    const tricky = [
      message({ name: 'say "hi" \\ {a,b} ünïcødé ✓', n: 1 }, { traceparent: '00-abc-def-01', retries: 2 }),
      message({ empty: '', nested: { list: [1, 'two', null] } }),
      message('just a string, with, commas', { flag: true }),
      message({ lone: '\ud800 surrogate', control: '\u0001\n\t' }),
    ].slice(0, count);
    const trx = await db.startTransaction().execute();
    await insertOutbox(trx, tricky, 60_000);
    await trx.commit().execute();

    const rows = await rowsOf(url);
    t.is(rows.length, count);
    for (const sent of tricky) {
      const row = rows.find((each) => each.id === sent.id);
      t.like(row, { exchange: sent.exchange, routing_key: sent.routingKey, body: sent.body, leased: true });
      t.deepEqual(row?.headers ?? null, sent.headers);
    }
  });
}
