// The actors' instance, history and view queries on a real database: rows read back exactly as written,
// versions and closing times kept by the updates, the optimistic check against a concurrent change.
import test from 'ava';
import { Migrator, sql, type Kysely } from 'kysely';
import {
  appendHistory,
  countInstancesByState,
  countInstancesByVersion,
  insertInstances,
  listInstances,
  lockInstances,
  readHistory,
  readInstance,
  readInstances,
  updateInstances,
  updateInstancesIfUnchanged,
  type ActorInstanceWrite,
} from '../src/db/actor-queries.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { actorMigrations } from '../src/db/migrations/actors.js';
import { messagingMigrations, messagingMigrationTable } from '../src/db/migrations/messaging.js';
import { actorDatabase, begin, waitForLockWaiters } from './support/actor-database.js';

const actor = 'card-activation';
const write = (instanceId: string, state = 'waiting', extra: Partial<ActorInstanceWrite> = {}): ActorInstanceWrite => ({
  instanceId,
  state,
  snapshot: { status: 'active', value: state, context: { id: instanceId } },
  definitionVersion: 1,
  status: 'active',
  ...extra,
});

test('instances are created once and read back exactly, whoever starts them again', async (t) => {
  const { db } = await actorDatabase(t, 'insert');
  const tricky = { value: { payment: 'pending' }, context: { name: 'say "hi" \\ {a,b} ünïcødé ✓', list: [1, null] } };
  const created = await insertInstances(db, actor, [
    write('b', 'payment.pending', { snapshot: tricky }),
    write('a', 'done', { status: 'done', definitionVersion: 2 }),
  ]);
  t.deepEqual([...created].sort(), ['a', 'b']);

  const again = await insertInstances(db, actor, [write('a', 'other'), write('c')]);
  t.deepEqual([...again], ['c']);
  const rows = await readInstances(db, actor, ['c', 'a', 'b', 'missing']);
  t.deepEqual([...rows.keys()], ['a', 'b', 'c']);
  t.like(rows.get('a'), { actor, state: 'done', rowVersion: 1, definitionVersion: 2, status: 'done' });
  t.true(rows.get('a')!.closedAt instanceof Date);
  t.deepEqual(rows.get('b')!.snapshot, tricky);
  t.like(rows.get('b'), { state: 'payment.pending', status: 'active', closedAt: null });
  t.is(await readInstance(db, 'another-actor', 'a'), undefined);

  await t.throwsAsync(insertInstances(db, actor, [write('d'), write('d')]), { message: /all be different/ });
});

test('updates bump the row version, close an instance once and keep when it closed', async (t) => {
  const { db } = await actorDatabase(t, 'update');
  await insertInstances(db, actor, [write('a'), write('b')]);
  const first = await updateInstances(db, actor, [write('a', 'finished', { status: 'done' }), write('missing')]);
  t.deepEqual([...first], [['a', 2]]);
  const closed = (await readInstance(db, actor, 'a'))!;
  t.like(closed, { state: 'finished', status: 'done', rowVersion: 2 });
  t.truthy(closed.closedAt);

  await db
    .updateTable('actor_instances')
    .set({ closed_at: sql`closed_at - interval '1 day'` })
    .where('instance_id', '=', 'a')
    .execute();
  await updateInstances(db, actor, [write('a', 'finished', { status: 'done', definitionVersion: 3 })]);
  const again = (await readInstance(db, actor, 'a'))!;
  t.is(again.rowVersion, 3);
  t.is(again.definitionVersion, 3);
  t.is(again.closedAt!.getTime(), closed.closedAt!.getTime() - 86_400_000, 'closed_at is not moved');

  await updateInstances(db, actor, [write('a', 'reopened')]);
  t.like(await readInstance(db, actor, 'a'), { status: 'active', closedAt: null, rowVersion: 4 });
  t.like(await readInstance(db, actor, 'b'), { rowVersion: 1, state: 'waiting' });
});

test('the optimistic update writes only rows still at the version read, and reports the others', async (t) => {
  const { db } = await actorDatabase(t, 'optimistic');
  await insertInstances(db, actor, [write('a'), write('b'), write('c')]);
  const read = await readInstances(db, actor, ['a', 'b', 'c']);
  await updateInstances(db, actor, [write('b', 'changed elsewhere')]);

  const result = await updateInstancesIfUnchanged(
    db,
    actor,
    ['a', 'b', 'c'].map((id) => ({ ...write(id, 'mine'), expectedRowVersion: read.get(id)!.rowVersion })),
  );
  t.deepEqual(result.conflicts, ['b']);
  t.deepEqual([...result.updated].sort(), [
    ['a', 2],
    ['c', 2],
  ]);
  t.like(await readInstance(db, actor, 'b'), { state: 'changed elsewhere', rowVersion: 2 });
  const missing = await updateInstancesIfUnchanged(db, actor, [{ ...write('nobody'), expectedRowVersion: 1 }]);
  t.deepEqual(missing.conflicts, ['nobody']);
});

test('an optimistic update waiting on a concurrent one that commits sees its change and writes nothing', async (t) => {
  const { db, url, name } = await actorDatabase(t, 'optimisticwait');
  await insertInstances(db, actor, [write('a'), write('b')]);
  const first = await begin(t, db);
  t.deepEqual([...(await updateInstances(first, actor, [write('a', 'first')]))], [['a', 2]]);

  // Each commits as soon as its statement returns: which of the two waiting gets the row first is not known.
  const second = await begin(t, db);
  const checked = updateInstancesIfUnchanged(second, actor, [
    { ...write('b', 'second'), expectedRowVersion: 1 },
    { ...write('a', 'second'), expectedRowVersion: 1 },
  ]).then(async (result) => (await second.commit().execute(), result));
  const third = await begin(t, db);
  const blind = updateInstances(third, actor, [write('a', 'third')]).then(
    async (result) => (await third.commit().execute(), result),
  );
  await waitForLockWaiters(url, name, 2);
  await first.commit().execute();

  const [{ conflicts, updated }, blindly] = await Promise.all([checked, blind]);
  t.deepEqual(conflicts, ['a']);
  t.deepEqual([...updated], [['b', 2]]);
  t.deepEqual([...blindly], [['a', 3]], 'the unconditional update builds on the committed version');
  t.like(await readInstance(db, actor, 'a'), { state: 'third', rowVersion: 3 });
});

test('history is appended in order with the transaction, read in order and by pages', async (t) => {
  const { db } = await actorDatabase(t, 'history');
  const trx = await db.startTransaction().execute();
  await lockInstances(trx, actor, ['a']);
  await appendHistory(trx, actor, [
    { instanceId: 'a', eventType: 'card.issued', fromState: null, toState: 'waiting', messageId: 'm1', published: [] },
    { instanceId: 'b', eventType: 'card.issued', fromState: null, toState: 'waiting', messageId: 'm2', published: [] },
    {
      instanceId: 'a',
      eventType: 'xstate.after.2d',
      fromState: 'waiting',
      toState: 'reminded',
      messageId: null,
      published: ['p-1', 'p "2", {x}'],
    },
    {
      instanceId: 'a',
      eventType: 'card.activated',
      fromState: 'reminded',
      toState: 'active',
      messageId: 'm3',
      published: ['p-3'],
    },
  ]);
  await trx.commit().execute();

  const rolledBack = await db.startTransaction().execute();
  await appendHistory(rolledBack, actor, [
    { instanceId: 'a', eventType: 'lost', fromState: 'active', toState: 'active', messageId: 'm4', published: [] },
  ]);
  await rolledBack.rollback().execute();

  const history = await readHistory(db, actor, 'a');
  t.deepEqual(
    history.map(({ eventType, fromState, toState, messageId, published }) => [
      eventType,
      fromState,
      toState,
      messageId,
      published,
    ]),
    [
      ['card.issued', null, 'waiting', 'm1', []],
      ['xstate.after.2d', 'waiting', 'reminded', null, ['p-1', 'p "2", {x}']],
      ['card.activated', 'reminded', 'active', 'm3', ['p-3']],
    ],
  );
  t.true(history.every((row) => row.actor === actor && row.instanceId === 'a' && row.at instanceof Date));
  const page = await readHistory(db, actor, 'a', { afterId: history[0]!.id, limit: 1 });
  t.deepEqual(
    page.map((row) => row.eventType),
    ['xstate.after.2d'],
  );
  t.is((await readHistory(db, actor, 'b')).length, 1);
});

test('lists and counts by state and by definition version', async (t) => {
  const { db } = await actorDatabase(t, 'views');
  for (const id of ['a', 'b', 'c', 'd']) {
    // One statement each, so that their creation times differ.
    await insertInstances(db, actor, [
      write(id, id === 'd' ? 'active' : 'waiting', id === 'c' ? { definitionVersion: 2 } : {}),
    ]);
  }
  await updateInstances(db, actor, [write('d', 'active', { status: 'done' })]);
  await insertInstances(db, 'other', [write('z')]);

  const ids = (rows: readonly { instanceId: string }[]) => rows.map((row) => row.instanceId);
  t.deepEqual(ids(await listInstances(db, actor)), ['d', 'c', 'b', 'a']);
  t.deepEqual(ids(await listInstances(db, actor, { order: 'oldest', limit: 2 })), ['a', 'b']);
  t.deepEqual(ids(await listInstances(db, actor, { state: 'waiting' })), ['c', 'b', 'a']);
  t.deepEqual(ids(await listInstances(db, actor, { state: 'waiting', order: 'oldest', limit: 1 })), ['a']);
  t.false('snapshot' in (await listInstances(db, actor))[0]!);

  t.deepEqual(await countInstancesByState(db, actor), [
    { actor, state: 'active', count: 1 },
    { actor, state: 'waiting', count: 3 },
  ]);
  t.deepEqual(await countInstancesByState(db), [
    { actor, state: 'active', count: 1 },
    { actor, state: 'waiting', count: 3 },
    { actor: 'other', state: 'waiting', count: 1 },
  ]);
  t.deepEqual(await countInstancesByVersion(db, actor), [
    { definitionVersion: 1, state: 'active', status: 'done', count: 1 },
    { definitionVersion: 1, state: 'waiting', status: 'active', count: 2 },
    { definitionVersion: 2, state: 'waiting', status: 'active', count: 1 },
  ]);
});

test("the actors' migration follows the runtime's own in its migration table, and goes down again", async (t) => {
  const { db } = await actorDatabase(t, 'migration', { migrated: false });
  const untyped = db as Kysely<unknown>;
  await migrateToLatest(untyped, messagingMigrations, messagingMigrationTable);
  t.deepEqual(await migrateToLatest(untyped, { ...messagingMigrations, ...actorMigrations }, messagingMigrationTable), [
    '0005_actor_tables',
  ]);
  t.deepEqual(await insertInstances(db, actor, [write('a')]), new Set(['a']));
  t.deepEqual(
    await migrateToLatest(untyped, { ...messagingMigrations, ...actorMigrations }, messagingMigrationTable),
    [],
  );

  const migrator = new Migrator({
    db: untyped,
    provider: { getMigrations: async () => ({ ...messagingMigrations, ...actorMigrations }) },
    migrationTableName: messagingMigrationTable,
    migrationLockTableName: `${messagingMigrationTable}_lock`,
  });
  const { error, results } = await migrator.migrateDown();
  t.is(error, undefined);
  t.like(results?.[0], { migrationName: '0005_actor_tables', direction: 'Down', status: 'Success' });
  const { rows } = await sql<{
    name: string;
  }>`SELECT tablename AS name FROM pg_tables WHERE tablename LIKE 'actor%'`.execute(db);
  t.deepEqual(rows, []);
});
