import test from 'ava';
import { createActor, fromPromise, waitFor } from 'xstate';
import { retentionMachine, type BatchRemoved, type RetentionTable } from '../../src/machines/retention.js';
import { deferred, never, patience, stateTrace } from './support.js';

interface Call {
  readonly table: RetentionTable;
  readonly limit: number;
}

/**
 * A retention machine whose n-th batch does what `script[n]` says; once the script is spent a batch never
 * settles, so the machine waits in `sweeping` and the number of batches is exact.
 */
function retentionActor(
  script: Array<() => Promise<BatchRemoved>>,
  { batchSize = 100, interval = 1 }: { batchSize?: number; interval?: number } = {},
) {
  const calls: Call[] = [];
  const logic = retentionMachine.provide({
    actors: {
      removeBatch: fromPromise<BatchRemoved, Call>(({ input }) => {
        const step = script[calls.length];
        calls.push(input);
        return step ? step() : never<BatchRemoved>();
      }),
    },
    delays: { interval, batchPause: 1, backoff: 1 },
  });
  const trace = stateTrace();
  const actor = createActor(logic, { input: { database: 'shop', batchSize }, inspect: trace.inspect });
  return { actor, calls, states: trace.states };
}

const removed =
  (rows: number, ms = 1) =>
  async (): Promise<BatchRemoved> => ({ removed: rows, ms });

test("a sweep goes through the runtime's tables in turn, then waits for the next interval", async (t) => {
  const { actor, calls, states } = retentionActor([removed(3), removed(0), removed(2), removed(1), removed(5)]);
  t.teardown(() => actor.stop());
  actor.start();
  t.true(actor.getSnapshot().matches('waiting'), 'nothing is removed before the first interval');

  const snapshot = await waitFor(actor, () => calls.length === 6, patience);

  t.deepEqual(
    calls.map((call) => call.table),
    ['inbox', 'outbox', 'delivery_attempts', 'actor_instances', 'actor_history', 'inbox'],
  );
  t.deepEqual(states.slice(0, 7), ['waiting', 'sweeping', 'sweeping', 'sweeping', 'sweeping', 'sweeping', 'waiting']);
  t.like(snapshot.context, {
    sweeps: 1,
    removed: { inbox: 3, outbox: 0, delivery_attempts: 2, actor_instances: 1, actor_history: 5 },
    database: 'shop',
  });
});

test('a full batch rests and moves on to the next table; rounds go on while one of their batches was full', async (t) => {
  const { actor, calls, states } = retentionActor(
    [removed(100), removed(7), removed(100), removed(0), removed(0), removed(100), removed(0)],
    { batchSize: 100 },
  );
  t.teardown(() => actor.stop());
  actor.start();

  const snapshot = await waitFor(actor, () => calls.length === 8, patience);

  t.deepEqual(
    calls.map((call) => `${call.table}:${call.limit}`),
    [
      'inbox:100',
      'outbox:100',
      'delivery_attempts:100',
      'actor_instances:100',
      'actor_history:100',
      'inbox:100',
      'outbox:100',
      'delivery_attempts:100',
    ],
  );
  t.deepEqual(states, [
    'waiting',
    'sweeping',
    'resting',
    'sweeping',
    'sweeping',
    'resting',
    'sweeping',
    'sweeping',
    'sweeping',
    'resting',
    'sweeping',
    'sweeping',
  ]);
  t.like(snapshot.context, { sweeps: 0, removed: { inbox: 200, outbox: 7, delivery_attempts: 100 } });
});

test('a slow batch halves the next one; a fast full one doubles it again, up to the configured size', async (t) => {
  const { actor, calls } = retentionActor(
    [removed(100, 1_000), removed(50, 1_000), removed(25, 1), removed(50, 1), removed(3, 1)],
    { batchSize: 100 },
  );
  t.teardown(() => actor.stop());
  actor.start();

  await waitFor(actor, () => calls.length === 6, patience);

  t.deepEqual(
    calls.map((call) => `${call.table}:${call.limit}`),
    ['inbox:100', 'outbox:50', 'delivery_attempts:25', 'actor_instances:50', 'actor_history:100', 'inbox:100'],
  );
});

test('a failed batch backs off and is tried again on the same table; success clears the error', async (t) => {
  const { actor, calls, states } = retentionActor([
    removed(0),
    async () => {
      throw new Error('canceling statement due to statement timeout');
    },
    removed(4),
  ]);
  t.teardown(() => actor.stop());
  actor.start();

  const failed = await waitFor(actor, (s) => s.matches('backingOff') || calls.length > 2, patience);
  t.like(failed.context, { failures: 1, error: 'canceling statement due to statement timeout' });
  const snapshot = await waitFor(actor, () => calls.length === 4, patience);

  t.deepEqual(
    calls.map((call) => call.table),
    ['inbox', 'outbox', 'outbox', 'delivery_attempts'],
  );
  t.true(states.includes('backingOff'));
  t.like(snapshot.context, { failures: 0, error: undefined, removed: { inbox: 0, outbox: 4, delivery_attempts: 0 } });
});

test('STOP ends the machine from any state, a batch in flight included', async (t) => {
  const held = deferred<BatchRemoved>();
  const { actor, calls } = retentionActor([() => held.promise]);
  actor.start();
  await waitFor(actor, () => calls.length === 1, patience);
  t.true(actor.getSnapshot().matches('sweeping'));

  actor.send({ type: 'STOP' });

  t.is(actor.getSnapshot().status, 'done');
  t.true(actor.getSnapshot().matches('stopped'));
  held.resolve({ removed: 1, ms: 1 });
});

test('the machine waits for the interval before its first sweep', (t) => {
  const { actor, calls } = retentionActor([], { interval: 3_600_000 });
  t.teardown(() => actor.stop());
  actor.start();
  t.true(actor.getSnapshot().matches('waiting'));
  t.is(calls.length, 0);
});
