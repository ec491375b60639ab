// Durable timers on a real database: set with fresh tokens, cancelled, claimed once by concurrent firing
// loops (SKIP LOCKED), given back after a lease, and taken only with the token they were claimed with.
import test from 'ava';
import { sql } from 'kysely';
import {
  cancelAllTimers,
  cancelTimers,
  claimDueTimers,
  readTimers,
  setTimers,
  takeFiredTimer,
  takeFiredTimers,
  type ClaimedTimer,
  type TimerToSet,
} from '../src/db/actor-queries.js';
import { actorDatabase, begin } from './support/actor-database.js';

const actor = 'card-activation';
const due = (instanceId: string, timerId = 'remind', delayMs = -1_000): TimerToSet => ({
  instanceId,
  timerId,
  event: { type: timerId, for: instanceId },
  delayMs,
});
const later = (instanceId: string, timerId = 'remind') => due(instanceId, timerId, 3_600_000);

test('timers are set with fresh tokens, re-set in place, and cancelled one by one or all of an instance', async (t) => {
  const { db } = await actorDatabase(t, 'settimers');
  const [first] = await setTimers(db, actor, [later('a')]);
  const inAnHour = first!.dueAt.getTime() - Date.now();
  t.true(inAnHour > 3_000_000 && inAnHour < 4_200_000, `due in ${inAnHour} ms`);

  const set = await setTimers(db, actor, [
    { ...later('a'), event: { type: 'remind', n: 1 } },
    { ...later('a'), event: { type: 'remind', n: 2 } },
    later('a', 'expire'),
    later('b'),
  ]);
  t.is(set.length, 3, 'one row per timer: the last set of one timer counts');
  const again = set.find((timer) => timer.instanceId === 'a' && timer.timerId === 'remind')!;
  t.not(again.token, first!.token);
  const stored = await readTimers(db, actor, 'a');
  t.deepEqual(
    stored.map(({ timerId, event, sentAt }) => [timerId, event, sentAt]),
    [
      ['expire', { type: 'expire', for: 'a' }, null],
      ['remind', { type: 'remind', n: 2 }, null],
    ],
    'due at the same time: by timer id',
  );

  t.is(
    await cancelTimers(db, actor, [
      { instanceId: 'a', timerId: 'remind' },
      { instanceId: 'b', timerId: 'nope' },
    ]),
    1,
  );
  t.deepEqual(
    (await readTimers(db, actor, 'a')).map((timer) => timer.timerId),
    ['expire'],
  );
  await setTimers(db, 'another-actor', [later('a')]);
  t.is(await cancelAllTimers(db, actor, ['a', 'b']), 2);
  t.is((await readTimers(db, actor, 'a')).length + (await readTimers(db, actor, 'b')).length, 0);
  t.is((await readTimers(db, 'another-actor', 'a')).length, 1, "another actor's timers stay");
});

test('only due timers are claimed, earliest first, once, and of the actors asked for', async (t) => {
  const { db } = await actorDatabase(t, 'claim');
  await setTimers(db, actor, [due('a', 'remind', -5_000), due('b', 'remind', -60_000), later('c'), due('d', 'x', 0)]);
  await setTimers(db, 'other', [due('z', 'remind', -120_000)]);

  const mine = await claimDueTimers(db, 10, [actor]);
  t.deepEqual(
    mine.map((timer) => timer.instanceId),
    ['b', 'a', 'd'],
  );
  const [b] = mine;
  t.like(b, { actor, timerId: 'remind', event: { type: 'remind', for: 'b' } });
  t.true(b!.lateByMs >= 60_000 && b!.lateByMs < 120_000, `late by ${b!.lateByMs} ms`);
  t.truthy((await readTimers(db, actor, 'b'))[0]!.sentAt, 'marked as claimed');

  t.deepEqual(await claimDueTimers(db, 10, [actor]), [], 'claimed once');
  t.deepEqual(
    (await claimDueTimers(db, 10)).map((timer) => [timer.actor, timer.instanceId]),
    [['other', 'z']],
  );
});

test('a fired timer is taken only with its current token: not after a re-set, a cancel or another take', async (t) => {
  const { db } = await actorDatabase(t, 'tokens');
  await setTimers(db, actor, [due('a'), due('b'), due('c')]);
  const claimed = new Map((await claimDueTimers(db, 10)).map((timer) => [timer.instanceId, timer]));
  const [a, b, c] = ['a', 'b', 'c'].map((id) => claimed.get(id)!) as [ClaimedTimer, ClaimedTimer, ClaimedTimer];

  // a's state was left and entered again after the claim: a new timer, due later, with a new token.
  const [reset] = await setTimers(db, actor, [later('a')]);
  t.false(await takeFiredTimer(db, a), 'the old firing does nothing');
  t.deepEqual(
    (await readTimers(db, actor, 'a')).map((timer) => [timer.token, timer.sentAt]),
    [[reset!.token, null]],
    'the new timer stays, unclaimed',
  );
  t.true(await takeFiredTimer(db, { ...a, token: reset!.token }), 'its own token takes it');

  // b's state was left: the timer was cancelled.
  await cancelTimers(db, actor, [b]);
  // c is applied by two transactions (a claim given back after a lease, applied twice): one wins.
  const taken = await takeFiredTimers(db, [b, c]);
  t.deepEqual([...taken], [c.token]);
  t.false(await takeFiredTimer(db, c));
  t.deepEqual(await db.selectFrom('actor_timers').selectAll().execute(), []);
});

test('two claimers never claim the same timer: the second skips the rows the first holds', async (t) => {
  const { db } = await actorDatabase(t, 'skiplocked');
  const ids = Array.from({ length: 100 }, (_, i) => `t${i}`);
  await setTimers(
    db,
    actor,
    ids.map((id, i) => due(id, 'remind', -1_000 - i)),
  );
  const first = await begin(t, db);
  const firstClaims = await claimDueTimers(first, 60);
  // While the first has not committed: it neither waits (a wait fails at the lock timeout) nor takes its rows.
  const second = await begin(t, db);
  await sql`SET LOCAL lock_timeout = '10s'`.execute(second);
  const secondClaims = await claimDueTimers(second, 60);
  await second.commit().execute();
  await first.commit().execute();

  t.is(firstClaims.length, 60);
  t.is(secondClaims.length, 40);
  const all = [...firstClaims, ...secondClaims].map((timer) => timer.instanceId);
  t.is(new Set(all).size, 100);
  t.deepEqual(await claimDueTimers(db, 60), []);
});

test('10,000 due timers claimed in batches by two concurrent loops: each exactly once', async (t) => {
  const { db } = await actorDatabase(t, 'tenthousand');
  const count = 10_000;
  const timers = Array.from({ length: count }, (_, i) => due(`i${i}`, 'expire', -1 - (i % 5_000)));
  const setStarted = performance.now();
  t.is((await setTimers(db, actor, timers)).length, count);
  const setMs = performance.now() - setStarted;

  const started = performance.now();
  const loop = async () => {
    const claimed: ClaimedTimer[] = [];
    for (;;) {
      const batch = await claimDueTimers(db, 500);
      if (batch.length === 0) return claimed;
      for (let i = 1; i < batch.length; i++) {
        if (batch[i]!.dueAt < batch[i - 1]!.dueAt) throw new Error('a batch out of due order');
      }
      claimed.push(...batch);
    }
  };
  const [one, two] = await Promise.all([loop(), loop()]);
  const claimMs = performance.now() - started;
  const all = [...one, ...two];
  t.is(all.length, count);
  t.is(new Set(all.map((timer) => timer.instanceId)).size, count, 'no timer claimed twice');
  t.true(one.length > 0 && two.length > 0);

  const takeStarted = performance.now();
  let taken = 0;
  for (let i = 0; i < all.length; i += 500) taken += (await takeFiredTimers(db, all.slice(i, i + 500))).size;
  t.is(taken, count);
  t.log(
    `set ${count} in one statement in ${Math.round(setMs)} ms; claimed in ${Math.round(claimMs)} ms (two loops, 500 a batch: ${one.length} + ${two.length}), ` +
      `taken in ${Math.round(performance.now() - takeStarted)} ms`,
  );
  t.deepEqual(await claimDueTimers(db, 500), []);
});
