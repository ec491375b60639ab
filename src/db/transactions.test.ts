// The runtime's own transactions against PostgreSQL: all or nothing, the connection back in the pool once
// they end, and the handler's `Transaction` refused after the end.
import test from 'ava';
import { CompiledQuery, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { query } from '../../test/support/environment.js';
import { itemsDatabase, type ItemsTables } from '../../test/support/items-database.js';
import { deferred } from './pipelined-driver.js';
import { openTransaction, transact } from './transactions.js';

type Tables = ItemsTables;

const scratch = itemsDatabase('transactions', 1);
const url = scratch.url;
let db: Kysely<Tables>;

// One connection: a transaction that did not give it back would stall every test after it.
test.before(async () => {
  db = await scratch.create();
});
test.after.always(() => scratch.drop());

const ids = async (from: number, to: number) =>
  (await query<{ id: number }>(url, 'SELECT id FROM items WHERE id BETWEEN $1 AND $2 ORDER BY id', [from, to])).map(
    (row) => row.id,
  );
const insert = (trx: Kysely<Tables>, id: number) => trx.insertInto('items').values({ id, note: 'n' }).execute();

test.serial('a committed transaction keeps its rows and gives its connection back', async (t) => {
  const open = await openTransaction(db);
  await insert(open.trx, 1);
  await open.trx.executeQuery(deferred(CompiledQuery.raw("INSERT INTO items VALUES (2, 'n')")));
  t.deepEqual(await ids(1, 2), [], 'nothing is visible before the commit');
  await open.commit();

  t.false(open.isOpen);
  t.deepEqual(await ids(1, 2), [1, 2]);
  t.deepEqual(await db.selectFrom('items').select('id').where('id', '=', 1).execute(), [{ id: 1 }]);
});

test.serial('a rolled back transaction leaves nothing, and its Transaction refuses statements after', async (t) => {
  const open = await openTransaction(db);
  await insert(open.trx, 10);
  await open.rollback();
  await open.rollback(); // a second rollback is nothing

  t.deepEqual(await ids(10, 10), []);
  const error = await t.throwsAsync(insert(open.trx, 11));
  t.regex(error.message, /already rolled back/);
  await t.throwsAsync(open.commit(), { message: /already rolled back/ });
  t.deepEqual(await ids(11, 11), []);
});

test.serial('after a commit the Transaction refuses statements: they could land on a pooled connection', async (t) => {
  const open = await openTransaction(db);
  await insert(open.trx, 20);
  await open.commit();

  await t.throwsAsync(insert(open.trx, 21), { message: /already committed/ });
  t.deepEqual(await ids(20, 21), [20]);
});

test.serial('a COMMIT answered with ROLLBACK ends the transaction and says so', async (t) => {
  const open = await openTransaction(db);
  await insert(open.trx, 30);
  await t.throwsAsync(insert(open.trx, 30)); // a unique violation: the transaction is aborted

  const error = await t.throwsAsync(open.commit());
  t.is(error.name, 'AbortedTransactionError');
  t.false(open.isOpen, 'nothing is left to roll back');
  t.deepEqual(await ids(30, 30), []);
  t.deepEqual(await db.selectFrom('items').select('id').where('id', '=', 30).execute(), [], 'the connection is back');
});

test.serial('a failed commit stays open for its rollback, which gives the connection back', async (t) => {
  const open = await openTransaction(db);
  await insert(open.trx, 40);
  await open.trx.executeQuery(deferred(CompiledQuery.raw("INSERT INTO items VALUES (40, 'again')")));

  const error = await t.throwsAsync(open.commit());
  t.is((error as { code?: string }).code, '23505', "the deferred statement's own error");
  t.true(open.isOpen);
  await open.rollback();
  t.deepEqual(await ids(40, 40), []);
  await t.notThrowsAsync(insert(db, 41), 'the connection is usable again');
});

test.serial('transact commits what its work did, or rolls it back and rethrows the work’s error', async (t) => {
  t.is(await transact(db, async (trx) => (await insert(trx, 50), 'done')), 'done');
  const failure = new Error('the work failed');
  const error = await t.throwsAsync(
    transact(db, async (trx) => {
      await insert(trx, 51);
      throw failure;
    }),
  );

  t.is(error, failure);
  t.deepEqual(await ids(50, 51), [50]);
});

test.serial('a table view of the database opens transactions too; another Kysely instance is refused', async (t) => {
  const view = db.withTables<{ others: { id: number } }>();
  await transact(view, (trx) => trx.insertInto('items').values({ id: 60, note: 'n' }).execute());
  t.deepEqual(await ids(60, 60), [60]);

  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const foreign = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  try {
    await t.throwsAsync(openTransaction(foreign), { message: /not made by createDatabase/ });
  } finally {
    await foreign.destroy();
  }
});

test.serial(
  'a lease counts its own statements as they start, and marks one started after it was disowned as late',
  async (t) => {
    const open = await openTransaction(db);
    const first = open.lease();
    const second = open.lease();
    const pending = insert(first.trx, 940); // not awaited yet: counted when it starts
    t.is(first.statements, 1);
    await pending;
    await insert(second.trx, 941);
    t.deepEqual([first.statements, second.statements, open.statements], [1, 1, 2]);

    second.disown();
    t.false(second.late);
    await insert(second.trx, 942);
    t.true(second.late, 'started after disown()');
    t.false(first.late);
    await open.commit();
    t.deepEqual(await ids(940, 942), [940, 941, 942], 'a late statement still runs: the caller decides what it means');
  },
);
