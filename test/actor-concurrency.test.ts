// Two transactions on overlapping instances: they lock in id order whatever order they are given, so they
// wait for each other instead of deadlocking, and the second sees what the first committed.
import test from 'ava';
import pg from 'pg';
import { insertInstances, lockInstances, updateInstances, type ActorInstanceWrite } from '../src/db/actor-queries.js';
import { actorDatabase, begin, waitForLockWaiters } from './support/actor-database.js';

const actor = 'order';
const write = (instanceId: string, state = 'new'): ActorInstanceWrite => ({
  instanceId,
  state,
  snapshot: { value: state },
  definitionVersion: 1,
  status: 'active',
});

/** The ids among `ids` that no transaction holds, seen from a session of its own. */
async function unlockedAmong(url: string, ids: readonly string[]): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ instance_id: string }>(
      'SELECT instance_id FROM actor_instances WHERE actor = $1 AND instance_id = ANY($2) ORDER BY instance_id FOR UPDATE SKIP LOCKED',
      [actor, ids],
    );
    await client.query('ROLLBACK');
    return rows.map((row) => row.instance_id);
  } finally {
    await client.end();
  }
}

test('a lock waits in id order: it holds the ids before the one it waits for, and none after', async (t) => {
  const { db, url, name } = await actorDatabase(t, 'lockorder');
  // Stored in the reverse of their id order, so that a lock in storage order would show.
  for (const id of ['c', 'b', 'a']) await insertInstances(db, actor, [write(id)]);
  const holder = await begin(t, db);
  await lockInstances(holder, actor, ['b']);

  const waiter = await begin(t, db);
  const locking = lockInstances(waiter, actor, ['c', 'a', 'b']);
  await waitForLockWaiters(url, name);
  t.deepEqual(await unlockedAmong(url, ['a', 'b', 'c']), ['c'], 'a locked before b, c not yet');

  await updateInstances(holder, actor, [write('b', 'by holder')]);
  await holder.commit().execute();
  const locked = await locking;
  t.deepEqual([...locked.keys()], ['a', 'b', 'c']);
  t.like(locked.get('b'), { state: 'by holder', rowVersion: 2 }, 'the waiter reads what the holder committed');
  await waiter.commit().execute();
});

test('two transactions locking overlapping sets in opposite orders serialise', async (t) => {
  const { db, url, name } = await actorDatabase(t, 'serialise');
  await insertInstances(
    db,
    actor,
    ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => write(id)),
  );
  const first = await begin(t, db);
  t.is((await lockInstances(first, actor, ['e', 'a', 'c'])).size, 3);

  const second = await begin(t, db);
  const locking = lockInstances(second, actor, ['c', 'b', 'f', 'e', 'd']);
  await waitForLockWaiters(url, name);
  await updateInstances(
    first,
    actor,
    ['a', 'c', 'e'].map((id) => write(id, 'first')),
  );
  await first.commit().execute();

  const seen = await locking;
  t.deepEqual(
    [...seen.values()].map((row) => [row.instanceId, row.state, row.rowVersion]),
    [
      ['b', 'new', 1],
      ['c', 'first', 2],
      ['d', 'new', 1],
      ['e', 'first', 2],
      ['f', 'new', 1],
    ],
  );
  await second.commit().execute();
});

/** A random subset of `ids` (at least one) in random order. */
function shuffledSubset(ids: readonly string[]): string[] {
  const chosen = ids.filter(() => Math.random() < 0.6);
  if (chosen.length === 0) chosen.push(ids[0]!);
  return chosen
    .map((id) => ({ id, key: Math.random() }))
    .sort((a, b) => a.key - b.key)
    .map(({ id }) => id);
}

test('many concurrent lock-and-update transactions on overlapping sets: no deadlock, no lost update', async (t) => {
  const { db } = await actorDatabase(t, 'nodeadlock', { maxConnections: 8 });
  const ids = Array.from({ length: 12 }, (_, i) => `i${String(i).padStart(2, '0')}`);
  await insertInstances(
    db,
    actor,
    ids.map((id) => write(id, '0')),
  );
  const expected = new Map(ids.map((id) => [id, 1]));

  for (let round = 0; round < 30; round++) {
    const sets = Array.from({ length: 4 }, () => shuffledSubset(ids));
    for (const set of sets) for (const id of set) expected.set(id, expected.get(id)! + 1);
    await Promise.all(
      sets.map((set) =>
        db.transaction().execute(async (trx) => {
          const locked = await lockInstances(trx, actor, set);
          // Read, then write what was read plus one: a lost update would show in the count.
          const next = set.map((id) => write(id, String(Number(locked.get(id)!.state) + 1)));
          await updateInstances(trx, actor, next);
        }),
      ),
    );
  }

  const rows = await db.selectFrom('actor_instances').select(['instance_id', 'state', 'row_version']).execute();
  for (const row of rows) {
    t.is(row.row_version, expected.get(row.instance_id)!, row.instance_id);
    t.is(row.state, String(expected.get(row.instance_id)! - 1), row.instance_id);
  }
});

test('concurrent starts of overlapping new instances: each created once, no deadlock', async (t) => {
  const { db, url, name } = await actorDatabase(t, 'starts', { maxConnections: 8 });
  const first = await begin(t, db);
  t.deepEqual([...(await insertInstances(first, actor, [write('x'), write('y')]))].sort(), ['x', 'y']);
  const second = await begin(t, db);
  const starting = insertInstances(second, actor, [write('z'), write('y'), write('x')]);
  await waitForLockWaiters(url, name);
  await first.commit().execute();
  t.deepEqual([...(await starting)], ['z'], 'the keys the first committed are skipped');
  await second.commit().execute();

  for (let round = 0; round < 20; round++) {
    const ids = Array.from({ length: 8 }, (_, i) => `r${round}-${i}`);
    const sets = Array.from({ length: 4 }, () => shuffledSubset(ids));
    const created = await Promise.all(
      sets.map((set) =>
        db.transaction().execute((trx) =>
          insertInstances(
            trx,
            actor,
            set.map((id) => write(id)),
          ),
        ),
      ),
    );
    const all = created.flatMap((each) => [...each]);
    t.is(new Set(all).size, all.length, `round ${round}: no id created twice`);
    t.deepEqual(all.sort(), [...new Set(sets.flat())].sort(), `round ${round}: every id created`);
  }
});
