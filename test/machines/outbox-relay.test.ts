import test from 'ava';
import { createActor, fromPromise, SimulatedClock, toPromise, waitFor } from 'xstate';
import {
  idlePollDelay,
  outboxRelayMachine,
  type IdlePolling,
  type OutboxRelayContext,
  type SweepResult,
} from '../../src/machines/outbox-relay.js';
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

/**
 * A delay the machine was set up with, for a context with `changes`: as the runtime uses `backoff` (it does not
 * override it) and as `pollInterval` is before the runtime provides its own from outbox.pollMs and maxPollMs.
 */
function defaultDelay(name: 'backoff' | 'pollInterval', changes: Partial<OutboxRelayContext>): unknown {
  const delay = outboxRelayMachine.implementations.delays[name];
  if (typeof delay !== 'function') throw new Error(`the ${name} delay is not worked out from the context`);
  const context: OutboxRelayContext = {
    kicked: false,
    failures: 0,
    published: 0,
    emptySweeps: 0,
    error: undefined,
    ...changes,
  };
  return delay({ context } as unknown as Parameters<typeof delay>[0], undefined);
}

test('the default backoff grows with the failures counted', (t) => {
  const delayFor = (failures: number) => defaultDelay('backoff', { failures });
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

/**
 * A relay on XState's simulated clock, its poll interval as the runtime provides it (`idlePollDelay`). The
 * n-th sweep does what `script[n]` says, and claims nothing once the script is spent. `startedAt` holds the
 * simulated time at which each sweep started: the waits between sweeps are read from it, never from the
 * wall clock.
 */
function clockedRelay(
  script: Array<() => Promise<SweepResult>> = [],
  polling: IdlePolling = { baseMs: 100, maxMs: 500 },
) {
  const clock = new SimulatedClock();
  const startedAt: number[] = [];
  const logic = outboxRelayMachine.provide({
    actors: {
      sweep: fromPromise<SweepResult>(() => {
        const step = script[startedAt.length];
        startedAt.push(clock.now());
        return step ? step() : Promise.resolve(batch(0));
      }),
    },
    delays: { pollInterval: idlePollDelay(polling), backoff: 50 },
  });
  const actor = createActor(logic, { clock });
  /** Lets what was sent settle, then moves the clock on to `ms`, 10 ms at a time, letting each sweep settle. */
  const advanceTo = async (ms: number) => {
    await settled();
    while (clock.now() < ms) {
      clock.increment(10);
      await settled();
    }
  };
  return { actor, startedAt, advanceTo };
}

/** A sweep's promise and the events it leads to are handled within one turn of the event loop. */
const settled = () => new Promise((resolve) => setImmediate(resolve));
const waitsBetween = (times: readonly number[]) => times.slice(1).map((time, index) => time - times[index]!);

test('while sweeps claim nothing, the wait between them doubles from pollMs up to maxPollMs', async (t) => {
  const { actor, startedAt, advanceTo } = clockedRelay();
  t.teardown(() => actor.stop());
  actor.start();

  await advanceTo(3_000);

  t.deepEqual(startedAt, [100, 200, 400, 800, 1_300, 1_800, 2_300, 2_800]);
  t.deepEqual(waitsBetween(startedAt), [100, 200, 400, 500, 500, 500, 500]);
  t.true(actor.getSnapshot().matches('idle'));
  t.is(actor.getSnapshot().context.emptySweeps, 8);
});

test('a sweep that claims a row brings the wait back to pollMs', async (t) => {
  const empty = async () => batch(0);
  // The fourth sweep claims two rows (one sent, one deferred): claimed, not published, is what counts.
  const claimed = async (): Promise<SweepResult> => ({ claimed: 2, published: 1, more: false });
  const { actor, startedAt, advanceTo } = clockedRelay([empty, empty, empty, claimed]);
  t.teardown(() => actor.stop());
  actor.start();

  await advanceTo(1_500);

  // After the sweep that claimed (at 800) the wait is pollMs; then the empty sweeps double it again from pollMs.
  t.deepEqual(waitsBetween(startedAt), [100, 200, 400, 100, 100, 200]);
  t.is(actor.getSnapshot().context.published, 1);
});

test('a full batch resets the count too, and is followed by another sweep at once', async (t) => {
  const empty = async () => batch(0);
  const { actor, startedAt, advanceTo } = clockedRelay([empty, empty, empty, async () => batch(200, true)]);
  t.teardown(() => actor.stop());
  actor.start();

  await advanceTo(1_100);

  // 800: the full batch, and the next sweep at once (it claims nothing); then pollMs, 2 × pollMs.
  t.deepEqual(startedAt, [100, 200, 400, 800, 800, 900, 1_100]);
});

test('a KICK while idle sweeps at once and brings the wait back to pollMs', async (t) => {
  const { actor, startedAt, advanceTo } = clockedRelay();
  t.teardown(() => actor.stop());
  actor.start();
  await advanceTo(1_350);
  t.deepEqual(startedAt, [100, 200, 400, 800, 1_300], 'at the cap: the next sweep was due at 1,800');

  actor.send({ type: 'KICK' });
  await advanceTo(2_100);

  // The kicked sweep (1,350) claims nothing: pollMs, then 2 ×, 4 × pollMs; the sweep due at 1,800 never came.
  t.deepEqual(startedAt.slice(4), [1_300, 1_350, 1_450, 1_650, 2_050]);
});

test('a KICK during a sweep that claims nothing: the sweep it asks for follows, and the wait after it is pollMs', async (t) => {
  const held = deferred<SweepResult>();
  const empty = async () => batch(0);
  const { actor, startedAt, advanceTo } = clockedRelay([empty, empty, empty, empty, () => held.promise]);
  t.teardown(() => actor.stop());
  actor.start();
  await advanceTo(1_300);
  t.deepEqual(startedAt, [100, 200, 400, 800, 1_300]);
  t.true(actor.getSnapshot().matches('sweeping'));

  actor.send({ type: 'KICK' });
  held.resolve(batch(0));
  await advanceTo(1_600);

  // The held sweep ends at 1,300 and the kicked one starts at once; it claims nothing: pollMs, then 2 × pollMs.
  t.deepEqual(startedAt.slice(4), [1_300, 1_300, 1_400, 1_600]);
});

test('a failed sweep brings the wait back to pollMs once a sweep succeeds again', async (t) => {
  const empty = async () => batch(0);
  const fail = () => Promise.reject(new Error('outbox query failed'));
  const { actor, startedAt, advanceTo } = clockedRelay([empty, empty, empty, empty, fail]);
  t.teardown(() => actor.stop());
  actor.start();

  await advanceTo(1_800);

  // 1,300 fails; after the backoff (50 ms) the sweep at 1,350 claims nothing: pollMs, then 2 × pollMs.
  t.deepEqual(startedAt, [100, 200, 400, 800, 1_300, 1_350, 1_450, 1_650]);
  t.like(actor.getSnapshot().context, { failures: 0, error: undefined });
});

test('with maxPollMs equal to pollMs the relay sweeps at a constant rate', async (t) => {
  const { actor, startedAt, advanceTo } = clockedRelay([], { baseMs: 100, maxMs: 100 });
  t.teardown(() => actor.stop());
  actor.start();

  await advanceTo(1_000);

  t.deepEqual(startedAt, [100, 200, 300, 400, 500, 600, 700, 800, 900, 1_000]);
});

test('the default poll interval is 1 s, doubling while sweeps claim nothing, up to 5 s', (t) => {
  const delayFor = (emptySweeps: number) => defaultDelay('pollInterval', { emptySweeps });
  t.deepEqual([0, 1, 2, 3, 4, 5, 100].map(delayFor), [1_000, 1_000, 2_000, 4_000, 5_000, 5_000, 5_000]);
  const slow = idlePollDelay({ baseMs: 10_000, maxMs: 10_000 });
  t.deepEqual(
    [0, 1, 7].map((emptySweeps) => slow({ context: { emptySweeps } })),
    [10_000, 10_000, 10_000],
  );
});
