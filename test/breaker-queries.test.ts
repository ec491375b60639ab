// The outage breaker's queries against a real database: the attempts it gives back, and its write probe,
// which fails where `SELECT 1` passes (a read-only database).
import test from 'ava';
import { createDatabase } from '../src/db/database.js';
import { giveBackAttempts, messagingTablesOf, probeWrite, recordAttempt } from '../src/db/messaging-queries.js';
import { query } from './support/environment.js';
import { messagingDatabase } from './support/messaging-database.js';

test('attempts given back are subtracted; a count that reaches zero removes its row; other rows are untouched', async (t) => {
  const { db, url } = await messagingDatabase(t, 'giveback');
  for (let index = 0; index < 3; index += 1) await recordAttempt(db, 'q', 'user:a', 'lock timeout');
  await recordAttempt(db, 'q', 'user:b', 'lock timeout');
  await recordAttempt(db, 'q', 'user:c', 'a bug');
  await recordAttempt(db, 'other', 'user:a', 'another consumer');

  await giveBackAttempts(
    db,
    'q',
    new Map([
      ['user:a', 2],
      ['user:b', 1],
      ['user:unknown', 4],
    ]),
  );

  const rows = await query<{ consumer: string; message_key: string; attempts: number }>(
    url,
    'SELECT consumer, message_key, attempts FROM delivery_attempts ORDER BY consumer, message_key',
  );
  t.deepEqual(rows, [
    { consumer: 'other', message_key: 'user:a', attempts: 1 },
    { consumer: 'q', message_key: 'user:a', attempts: 1 },
    { consumer: 'q', message_key: 'user:c', attempts: 1 },
  ]);
});

test('the write probe passes on a writable database, leaves nothing behind, and fails on a read-only one', async (t) => {
  const { db, url } = await messagingDatabase(t, 'probe');
  await probeWrite(db, 'q', 2_000);
  t.deepEqual(await query(url, 'SELECT * FROM delivery_attempts'), [], 'rolled back');

  await db.destroy();
  const name = new URL(url).pathname.slice(1);
  await query(url.replace(/\/[^/]+$/, '/postgres'), `ALTER DATABASE "${name}" SET default_transaction_read_only = on`);
  const readOnly = messagingTablesOf(createDatabase<unknown>({ url }));
  t.teardown(() => readOnly.destroy());
  await t.notThrowsAsync(query(url, 'SELECT 1'), 'SELECT 1 still passes');
  const error = await t.throwsAsync(probeWrite(readOnly, 'q', 2_000));
  t.regex(error?.message ?? '', /read-only/);
});
