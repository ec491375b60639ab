// Retention of the actors' tables: closed instances past the window go with their history and timers, in
// bounded batches; active instances and recently closed ones stay; old history goes whatever its instance.
import test from 'ava';
import { sql } from 'kysely';
import {
  appendHistory,
  insertInstances,
  lockInstances,
  readHistory,
  removeClosedInstancesBatch,
  removeOldHistoryBatch,
  setTimers,
  type ActorDb,
  type ActorInstanceWrite,
} from '../src/db/actor-queries.js';
import { actorDatabase, begin } from './support/actor-database.js';

const actor = 'subscription';
const day = 86_400_000;
const batch = (limit: number) => ({ olderThanMs: day, limit, statementTimeoutMs: 10_000 });
const write = (instanceId: string, status: ActorInstanceWrite['status']): ActorInstanceWrite => ({
  instanceId,
  state: status === 'done' ? 'cancelled' : 'renewing',
  snapshot: { value: status },
  definitionVersion: 1,
  status,
});

/** Instances with a history row each; `ago` moves their closing and history back in time. */
async function seed(db: ActorDb, ids: readonly string[], status: ActorInstanceWrite['status'], ago: string) {
  await insertInstances(
    db,
    actor,
    ids.map((id) => write(id, status)),
  );
  await appendHistory(
    db,
    actor,
    ids.map((id) => ({ instanceId: id, eventType: 'e', fromState: null, toState: 's', messageId: id, published: [] })),
  );
  const shift = sql`${ago}::interval`;
  await db
    .updateTable('actor_instances')
    .set({ closed_at: sql`closed_at - ${shift}` })
    .where('instance_id', 'in', ids)
    .execute();
  await db
    .updateTable('actor_history')
    .set({ at: sql`at - ${shift}` })
    .where('instance_id', 'in', ids)
    .execute();
}

const idsOf = async (db: ActorDb) =>
  (await db.selectFrom('actor_instances').select('instance_id').orderBy('instance_id').execute()).map(
    (row) => row.instance_id,
  );

test('closed instances past the window go with their history and timers, in bounded batches', async (t) => {
  const { db } = await actorDatabase(t, 'closed');
  const old = ['old1', 'old2', 'old3', 'old4', 'old5'];
  await seed(db, old, 'done', '10 days');
  await seed(db, ['recent'], 'done', '1 hour');
  await seed(db, ['active'], 'active', '30 days');
  await setTimers(db, actor, [{ instanceId: 'old1', timerId: 'left', event: { type: 'x' }, delayMs: 0 }]);

  const batches: number[] = [];
  let historyRows = 0;
  for (;;) {
    const removed = await removeClosedInstancesBatch(db, batch(2));
    if (removed.instances === 0) break;
    batches.push(removed.instances);
    historyRows += removed.historyRows;
  }
  t.deepEqual(batches, [2, 2, 1]);
  t.is(historyRows, 5);
  t.deepEqual(await idsOf(db), ['active', 'recent']);
  t.is((await readHistory(db, actor, 'recent')).length, 1);
  t.is((await readHistory(db, actor, 'active')).length, 1, 'an active instance keeps its history here');
  t.is((await readHistory(db, actor, 'old1')).length, 0);
  t.deepEqual(await db.selectFrom('actor_timers').selectAll().execute(), []);
});

test('a closed instance another transaction holds is skipped, without waiting', async (t) => {
  const { db } = await actorDatabase(t, 'held');
  await seed(db, ['held', 'free'], 'done', '10 days');
  const holder = await begin(t, db);
  await lockInstances(holder, actor, ['held']);
  t.like(await removeClosedInstancesBatch(db, batch(10)), { instances: 1, historyRows: 1 });
  await holder.commit().execute();
  t.deepEqual(await idsOf(db), ['held']);
  t.like(await removeClosedInstancesBatch(db, batch(10)), { instances: 1 });
});

test('history older than the window goes, in bounded batches, whatever its instance', async (t) => {
  const { db } = await actorDatabase(t, 'history');
  await seed(db, ['a', 'b', 'c'], 'active', '3 days');
  await appendHistory(db, actor, [
    { instanceId: 'a', eventType: 'recent', fromState: 's', toState: 't', messageId: null, published: [] },
  ]);
  t.is(await removeOldHistoryBatch(db, batch(2)), 2);
  t.is(await removeOldHistoryBatch(db, batch(2)), 1);
  t.is(await removeOldHistoryBatch(db, batch(2)), 0);
  t.deepEqual(
    (await readHistory(db, actor, 'a')).map((row) => row.eventType),
    ['recent'],
  );
  t.deepEqual(await idsOf(db), ['a', 'b', 'c'], 'instances stay');
});
