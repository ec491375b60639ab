// The pipelined driver against PostgreSQL: BEGIN leaves with the first statement, a deferred statement with
// the COMMIT; a transaction is still all or nothing.
import test from 'ava';
import { CompiledQuery, type Kysely } from 'kysely';
import { query } from '../../test/support/environment.js';
import { itemsDatabase, type ItemsTables } from '../../test/support/items-database.js';
import { createDatabase } from './database.js';
import { deferred } from './pipelined-driver.js';
import { prepared } from './prepared.js';

type Tables = ItemsTables;

const scratch = itemsDatabase('pipelined', 2);
const url = scratch.url;
let db: Kysely<Tables>;

test.before(async () => {
  db = await scratch.create();
});
test.after.always(() => scratch.drop());

const insert = (id: number, note = 'n') =>
  CompiledQuery.raw('INSERT INTO items (id, note) VALUES ($1, $2)', [id, note]);
const ids = async (from: number) =>
  (await query<{ id: number }>(url, 'SELECT id FROM items WHERE id >= $1 ORDER BY id', [from])).map((row) => row.id);

test.serial('a transaction commits its statements and the deferred one sent with its COMMIT', async (t) => {
  const trx = await db.startTransaction().execute();
  const { rows } = await trx.executeQuery<{ id: number }>(
    CompiledQuery.raw('INSERT INTO items (id, note) VALUES ($1, $2) RETURNING id', [100, 'a']),
  );
  t.deepEqual(rows, [{ id: 100 }], 'the first statement, sent with BEGIN, answers as usual');
  await trx.executeQuery(deferred(insert(101)));
  t.deepEqual(await ids(100), [], 'nothing is visible before the commit');
  await trx.commit().execute();

  t.deepEqual(await ids(100), [100, 101]);
});

test.serial(
  'a deferred statement that fails fails the COMMIT with its own error, and nothing is committed',
  async (t) => {
    const trx = await db.startTransaction().execute();
    await trx.executeQuery(insert(200));
    await trx.executeQuery(deferred(insert(200))); // the same key: a unique violation, seen only at the commit

    const error = await t.throwsAsync(trx.commit().execute());
    t.is((error as { code?: string }).code, '23505');
    await trx.rollback().execute(); // as the delivery machine's rollingBack does: nothing is left to roll back
    t.deepEqual(await ids(200), []);
    await t.notThrowsAsync(db.selectFrom('items').select('id').execute(), 'the connection is usable again');
  },
);

test.serial('a statement that fails aborts the transaction: its rollback leaves nothing', async (t) => {
  const trx = await db.startTransaction().execute();
  await trx.executeQuery(insert(300));
  await t.throwsAsync(trx.executeQuery(CompiledQuery.raw('INSERT INTO items (id) VALUES ($1)', [301])));
  await trx.rollback().execute();

  t.deepEqual(await ids(300), []);
});

test.serial(
  'Kysely transactions: a failure in the callback rolls back what was sent and what was deferred',
  async (t) => {
    await t.throwsAsync(
      db.transaction().execute(async (trx) => {
        await trx.executeQuery(insert(400));
        await trx.executeQuery(deferred(insert(401)));
        throw new Error('the work failed');
      }),
      { message: 'the work failed' },
    );
    await db.transaction().execute(async () => {}); // an empty transaction sends nothing and commits

    t.deepEqual(await ids(400), []);
  },
);

test.serial('outside a transaction a deferred statement runs at once', async (t) => {
  await db.executeQuery(deferred(insert(500)));

  t.deepEqual(await ids(500), [500]);
});

const preparedNames = (runner: Pick<Kysely<Tables>, 'executeQuery'>) =>
  runner
    .executeQuery<{ name: string }>(CompiledQuery.raw('SELECT name FROM pg_prepared_statements ORDER BY name'))
    .then(({ rows }) => rows.map((row) => row.name));

test.serial('a prepared() statement is prepared once on the connection, then run by name', async (t) => {
  const note = prepared<{ note: string }, readonly [id: number]>('SELECT note FROM items WHERE id = $1');
  await db.executeQuery(insert(300, 'first'));
  await db.connection().execute(async (connection) => {
    const before = await preparedNames(connection);
    t.deepEqual((await note(connection, 300)).rows, [{ note: 'first' }]);
    const after = await preparedNames(connection);
    t.is(after.length, before.length + 1, 'the first run prepared it');
    t.deepEqual((await note(connection, 300)).rows, [{ note: 'first' }], 'the second runs the prepared statement');
    t.deepEqual(await preparedNames(connection), after, 'nothing prepared twice');
  });
});

test.serial('with preparedStatements: false, prepared() statements run unnamed', async (t) => {
  const unnamed = createDatabase<Tables>({ url, maxConnections: 1, preparedStatements: false });
  t.teardown(() => unnamed.destroy());
  const note = prepared<{ note: string }, readonly [id: number]>('SELECT note FROM items WHERE id = $1 AND true');
  await unnamed.executeQuery(insert(301, 'second'));
  await unnamed.connection().execute(async (connection) => {
    t.deepEqual((await note(connection, 301)).rows, [{ note: 'second' }]);
    t.deepEqual(await preparedNames(connection), [], 'the server holds no prepared statement for this session');
  });
});

test.serial('transactions one after another on one pooled client each start clean', async (t) => {
  const single = createDatabase<Tables>({ url, maxConnections: 1 });
  t.teardown(() => single.destroy());
  for (let round = 0; round < 3; round += 1) {
    const kept = await single.startTransaction().execute();
    await kept.executeQuery(deferred(insert(400 + round)));
    await kept.commit().execute();
    const dropped = await single.startTransaction().execute();
    await dropped.executeQuery(deferred(insert(410 + round)));
    await dropped.rollback().execute(); // its deferred statement was never sent: nothing to undo
  }
  const rows = await query<{ id: number }>(url, 'SELECT id FROM items WHERE id BETWEEN 400 AND 499 ORDER BY id');
  t.deepEqual(
    rows.map((row) => row.id),
    [400, 401, 402],
    'no deferred statement of a rolled-back transaction carried over into the next one',
  );
});
