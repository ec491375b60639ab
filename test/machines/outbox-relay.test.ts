import test from 'ava';
import { createActor, fromPromise, toPromise, waitFor } from 'xstate';
import { outboxRelayMachine, type SweepResult } from '../../src/machines/outbox-relay.js';
import { deferred, never, patience, stateTrace, type Deferred } from './support.js';

const batch = (published: number, more = false): SweepResult => ({ claimed: published, published, more });

/**
 * A relay whose n-th sweep does what `script[n]` says; once the script is spent a sweep never settles, so
 * the relay waits in `sweeping` and the number of sweeps is exact.
 */
function relayActor(
  script: Array<() => Promise<SweepResult>>,
  delays: { pollInterval?: number; backoff?: number } = {},
) {
  const sweeps: AbortSignal[] = [];
  const logic = outboxRelayMachine.provide({
    actors: {
      sweep: fromPromise<SweepResult>(({ signal }) => {
        const step = script[sweeps.length];
        sweeps.push(signal);
        return step ? step() : never<SweepResult>();
      }),
    },
    delays: { pollInterval: delays.pollInterval ?? 5, backoff: delays.backoff ?? 1 },
  });
  const trace = stateTrace();
  const actor = createActor(logic, { inspect: trace.inspect });
  return { actor, sweeps, states: trace.states };
}

test('idle sweeps on the poll interval and goes back to idle', async (t) => {
  const { actor, sweeps, states } = relayActor([async () => batch(2)]);
  t.teardown(() => actor.stop());
  actor.start();
  t.true(actor.getSnapshot().matches('idle'));

  // The second sweep starts after the relay has been idle for another poll interval.
  const snapshot = await waitFor(actor, () => sweeps.length === 2, patience);

  t.deepEqual(states, ['idle', 'sweeping', 'idle', 'sweeping']);
  t.like(snapshot.context, { published: 2, failures: 0, error: undefined, kicked: false });
});

test('a full batch (more: true) is followed by another sweep at once', async (t) => {
  const { actor, sweeps, states } = relayActor([async () => batch(10, true), async () => batch(3)], {
    pollInterval: 3_600_000,
  });
  t.teardown(() => actor.stop());
  actor.start();
  actor.send({ type: 'KICK' });

  const snapshot = await waitFor(actor, (s) => s.matches('idle') && sweeps.length === 2, patience);

  t.deepEqual(states, ['idle', 'sweeping', 'sweeping', 'idle']);
  t.is(snapshot.context.published, 13);
});

test('KICK while sweeping causes another sweep right after, without waiting for the poll interval', async (t) => {
  const first: Deferred<SweepResult> = deferred<SweepResult>();
  const { actor, sweeps, states } = relayActor([() => first.promise, async () => batch(1)], {
    pollInterval: 3_600_000,
  });
  t.teardown(() => actor.stop());
  actor.start();

  actor.send({ type: 'KICK' });
  t.true(actor.getSnapshot().matches('sweeping'), 'KICK in idle sweeps at once');
  actor.send({ type: 'KICK' });
  t.true(actor.getSnapshot().context.kicked);
  t.is(sweeps.length, 1, 'KICK while sweeping does not interrupt the sweep in progress');

  first.resolve(batch(4));
  const snapshot = await waitFor(actor, (s) => s.matches('idle') && sweeps.length === 2, patience);

  t.deepEqual(states, ['idle', 'sweeping', 'sweeping', 'idle']);
  t.like(snapshot.context, { published: 5, kicked: false });
  t.false(sweeps[0]?.aborted, 'the first sweep ran to its end');
});

test('a sweep that fails backs off, then sweeps again, and a success clears the failure', async (t) => {
  const { actor, sweeps, states } = relayActor(
    [() => Promise.reject(new Error('outbox query failed')), async () => batch(3)],
    { pollInterval: 3_600_000 },
  );
  t.teardown(() => actor.stop());
  const failures: Array<{ failures: number; error: string | undefined }> = [];
  actor.subscribe((snapshot) => {
    if (snapshot.matches('backingOff'))
      failures.push({ failures: snapshot.context.failures, error: snapshot.context.error });
  });
  actor.start();
  actor.send({ type: 'KICK' });

  const snapshot = await waitFor(actor, (s) => s.matches('idle') && sweeps.length === 2, patience);

  t.deepEqual(states, ['idle', 'sweeping', 'backingOff', 'sweeping', 'idle']);
  t.deepEqual(failures, [{ failures: 1, error: 'outbox query failed' }]);
  t.like(snapshot.context, { failures: 0, error: undefined, published: 3 });
});

test('repeated failures are counted until a sweep succeeds', async (t) => {
  const fail = () => Promise.reject(new Error('broker unreachable'));
  const { actor, sweeps } = relayActor([fail, fail, fail, async () => batch(1)], { pollInterval: 3_600_000 });
  t.teardown(() => actor.stop());
  const counted: number[] = [];
  actor.subscribe((snapshot) => {
    if (snapshot.matches('backingOff')) counted.push(snapshot.context.failures);
  });
  actor.start();
  actor.send({ type: 'KICK' });

  const snapshot = await waitFor(actor, (s) => s.matches('idle') && sweeps.length === 4, patience);

  t.deepEqual(counted, [1, 2, 3]);
  t.is(snapshot.context.failures, 0);
});

test('the default backoff grows with the failures counted', (t) => {
  // Read the delay the machine was set up with, as the runtime uses it (it does not override backoff).
  const backoff = outboxRelayMachine.implementations.delays['backoff'];
  t.is(typeof backoff, 'function');
  if (typeof backoff !== 'function') return;
  const delayFor = (failures: number) =>
    backoff(
      { context: { kicked: false, failures, published: 0, error: undefined } } as unknown as Parameters<
        typeof backoff
      >[0],
      undefined,
    );
  // The count is incremented before the delay is read, so the first backoff is 500 ms, not 250 ms.
  t.deepEqual([1, 2, 3, 7, 20].map(delayFor), [500, 1_000, 2_000, 30_000, 30_000]);
});

test('STOP while idle stops the relay', async (t) => {
  const { actor, sweeps, states } = relayActor([], { pollInterval: 3_600_000 });
  const done = toPromise(actor);
  actor.start();

  actor.send({ type: 'STOP' });
  await done;

  t.deepEqual(states, ['idle', 'stopped']);
  t.is(actor.getSnapshot().status, 'done');
  t.is(sweeps.length, 0);
});

test('STOP while sweeping cancels the sweep and stops', async (t) => {
  const { actor, sweeps, states } = relayActor([]);
  const done = toPromise(actor);
  actor.start();
  await waitFor(actor, (s) => s.matches('sweeping'), patience);

  actor.send({ type: 'STOP' });
  await done;

  t.deepEqual(states, ['idle', 'sweeping', 'stopped']);
  t.is(sweeps.length, 1);
  t.true(sweeps[0]?.aborted);
});

test('STOP while backing off stops without sweeping again', async (t) => {
  const { actor, sweeps, states } = relayActor([() => Promise.reject(new Error('down'))], { backoff: 3_600_000 });
  const done = toPromise(actor);
  actor.start();
  await waitFor(actor, (s) => s.matches('backingOff'), patience);

  actor.send({ type: 'STOP' });
  await done;

  t.deepEqual(states, ['idle', 'sweeping', 'backingOff', 'stopped']);
  t.is(sweeps.length, 1);
});

test('published accumulates across sweeps', async (t) => {
  const { actor, sweeps } = relayActor([
    async () => batch(2),
    async () => batch(0),
    async () => batch(5, true),
    async () => batch(4),
  ]);
  t.teardown(() => actor.stop());
  actor.start();

  // The fifth sweep starting means the first four have been counted.
  const snapshot = await waitFor(actor, () => sweeps.length === 5, patience);

  t.is(snapshot.context.published, 11);
});
