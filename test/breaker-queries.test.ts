// The outage breaker's queries against a real database: the attempts it gives back, its write probe, which
// fails where `SELECT 1` passes (a read-only database) and meets what a new session meets, and the pool,
// which hands out no session that answered with an outage.
import test from 'ava';
import pg from 'pg';
import { sql } from 'kysely';
import { createDatabase, renewConnections } from '../src/db/database.js';
import { giveBackAttempts, messagingTablesOf, recordAttempt } from '../src/db/messaging-queries.js';
import { probeWrite } from '../src/db/write-probe.js';
import { query } from './support/environment.js';
import { messagingDatabase } from './support/messaging-database.js';
import { waitUntil } from './support/wait.js';

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

const adminOf = (url: string) => url.replace(/\/[^/]+$/, '/postgres');
const nameOf = (url: string) => pg.escapeIdentifier(new URL(url).pathname.slice(1));
const backendPid = async (db: ReturnType<typeof messagingTablesOf>) =>
  (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db)).rows[0]!.pid;

test("a database made read-only, then writable again, with the pool's sessions left alone: the probe passes at once, and no read-only session is handed out again", async (t) => {
  const { db: migrated, url } = await messagingDatabase(t, 'demoted');
  await migrated.destroy();
  const db = messagingTablesOf(createDatabase<unknown>({ url, maxConnections: 1 }));
  t.teardown(() => db.destroy());
  await query(adminOf(url), `ALTER DATABASE ${nameOf(url)} SET default_transaction_read_only = on`);
  const readOnlyPid = await backendPid(db); // a session opened during the outage, back in the pool
  await t.throwsAsync(probeWrite(db, 'q', 2_000), { message: /read-only/ });
  await query(adminOf(url), `ALTER DATABASE ${nameOf(url)} RESET default_transaction_read_only`);

  await t.notThrowsAsync(probeWrite(db, 'q', 2_000), 'a new session is writable');
  t.is(await backendPid(db), readOnlyPid, 'the pooled session is still the one opened while read-only');
  const failed = await t.throwsAsync(recordAttempt(db, 'q', 'user:a', 'x'));
  t.regex(failed?.message ?? '', /read-only/);
  t.not(await backendPid(db), readOnlyPid, 'the session that answered read-only was ended, not pooled');
  await t.notThrowsAsync(recordAttempt(db, 'q', 'user:a', 'x'));
});

test('renewing the pool ends every session opened before it, as each is next used', async (t) => {
  const { db, url } = await messagingDatabase(t, 'renew');
  const before = await backendPid(db);
  renewConnections(db);
  const after = await backendPid(db);
  t.not(after, before);
  t.is(await backendPid(db), after, 'sessions opened after it are kept');
  const stillOpen = async () =>
    (await query(adminOf(url), 'SELECT 1 FROM pg_stat_activity WHERE pid = $1', [before])).length > 0;
  await waitUntil(async () => !(await stillOpen()), { what: 'the old session to end' });
  t.false(await stillOpen());
});

test("the probe keeps a shorter statement timeout of the service's sessions: a write that every session would time out on fails it", async (t) => {
  const { db, url } = await messagingDatabase(t, 'probetimeout');
  await query(adminOf(url), `ALTER DATABASE ${nameOf(url)} SET statement_timeout = '300ms'`);
  const holder = new pg.Client({ connectionString: url });
  holder.on('error', () => {});
  await holder.connect();
  t.teardown(() => holder.end().catch(() => {}));
  await holder.query('BEGIN');
  await holder.query('LOCK TABLE delivery_attempts IN ACCESS EXCLUSIVE MODE');
  const error = await t.throwsAsync(probeWrite(db, 'q', 10_000));
  t.is(
    (error as { code?: string } | undefined)?.code,
    '57014',
    "the session's 300 ms, not the probe's 10 s lock timeout",
  );
});
