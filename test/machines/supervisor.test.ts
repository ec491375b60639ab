import test from 'ava';
import { createActor, fromPromise, setup, toPromise, waitFor, type AnyActorRef } from 'xstate';
import { restartDelayMs, supervisorMachine, type ChildSpec } from '../../src/machines/supervisor.js';
import { deferred, never, patience, stateTrace } from './support.js';

/** A stand-in for a consumer or relay: works until STOP, then finishes; records what it was given. */
function workerLogic(log: { started: unknown[]; stopped: number }) {
  return setup({
    types: {
      context: {} as { input: unknown },
      input: {} as unknown,
      events: {} as { type: 'STOP' },
    },
    actions: {
      started: ({ context }) => {
        log.started.push(context.input);
      },
      stopped: () => {
        log.stopped += 1;
      },
    },
  }).createMachine({
    id: 'worker',
    context: ({ input }) => ({ input }),
    entry: 'started',
    initial: 'working',
    states: {
      working: { on: { STOP: { target: 'stopped' } } },
      stopped: { type: 'final', entry: 'stopped' },
    },
  });
}

function supervisorActor(
  children: readonly ChildSpec[],
  stubs: { prepare?: () => Promise<void>; shutdown?: (system: AnyActorRef['system']) => Promise<void> } = {},
) {
  const calls = { prepare: 0, shutdown: 0 };
  const logic = supervisorMachine.provide({
    actors: {
      prepare: fromPromise<void>(async () => {
        calls.prepare += 1;
        if (stubs.prepare) await stubs.prepare();
      }),
      shutdown: fromPromise<void>(async ({ system }) => {
        calls.shutdown += 1;
        if (stubs.shutdown) await stubs.shutdown(system);
      }),
    },
  });
  const trace = stateTrace();
  const actor = createActor(logic, { input: { children }, inspect: trace.inspect });
  return { actor, calls, states: trace.states };
}

const isActive = (ref: AnyActorRef | undefined) => ref?.getSnapshot().status === 'active';

test('prepare succeeds: running, with every child spawned under its system id and given its input', async (t) => {
  const log = { started: [] as unknown[], stopped: 0 };
  const { actor, calls, states } = supervisorActor([
    { id: 'consumer:user', logic: workerLogic(log), input: { queue: 'user.registered' } },
    { id: 'outbox:user', logic: workerLogic(log) },
  ]);
  t.teardown(() => actor.stop());
  actor.start();

  const running = await waitFor(actor, (s) => s.matches('running'), patience);

  t.deepEqual(states, ['starting', 'running']);
  t.is(calls.prepare, 1);
  const consumer = actor.system.get('consumer:user') as AnyActorRef | undefined;
  const relay = actor.system.get('outbox:user') as AnyActorRef | undefined;
  t.true(isActive(consumer));
  t.true(isActive(relay));
  t.is(consumer?.getSnapshot().value, 'working');
  t.is(running.children['consumer:user'], consumer, 'the child id and the system id name the same actor');
  t.deepEqual(log.started, [{ queue: 'user.registered' }, undefined]);
  t.deepEqual(running.context.restarts, {});
  t.is(running.context.error, undefined);
});

test('no child is spawned before prepare has finished', async (t) => {
  const prepared = deferred();
  const log = { started: [] as unknown[], stopped: 0 };
  const { actor } = supervisorActor([{ id: 'worker', logic: workerLogic(log) }], { prepare: () => prepared.promise });
  t.teardown(() => actor.stop());
  actor.start();

  t.true(actor.getSnapshot().matches('starting'));
  t.is(actor.system.get('worker'), undefined);
  t.is(log.started.length, 0);

  prepared.resolve();
  await waitFor(actor, (s) => s.matches('running'), patience);
  t.is(log.started.length, 1);
});

test('prepare fails: failed, with the error, and no child spawned', async (t) => {
  const log = { started: [] as unknown[], stopped: 0 };
  const { actor, states } = supervisorActor([{ id: 'worker', logic: workerLogic(log) }], {
    prepare: () => Promise.reject(new Error('database "users" cannot be created')),
  });
  const done = toPromise(actor);
  actor.start();
  await done;

  const snapshot = actor.getSnapshot();
  t.deepEqual(states, ['starting', 'failed']);
  t.is(snapshot.status, 'done');
  t.true(snapshot.matches('failed'));
  t.is(snapshot.context.error, 'database "users" cannot be created');
  t.is(log.started.length, 0);
  t.is(actor.system.get('worker'), undefined);
});

test('a child whose promise rejects is respawned, with a growing delay, and its restarts counted', async (t) => {
  let spawns = 0;
  const flaky = fromPromise<void>(() => {
    spawns += 1;
    return spawns <= 2 ? Promise.reject(new Error(`lost the channel (${spawns})`)) : never<void>();
  });
  const log = { started: [] as unknown[], stopped: 0 };
  const { actor } = supervisorActor([
    { id: 'flaky', logic: flaky },
    { id: 'steady', logic: workerLogic(log) },
  ]);
  t.teardown(() => actor.stop());
  actor.start();
  await waitFor(actor, (s) => s.matches('running'), patience);
  const steady = actor.system.get('steady') as AnyActorRef | undefined;

  // Respawned after restartDelayMs(0) = 250 ms, then after restartDelayMs(1) = 500 ms.
  const snapshot = await waitFor(actor, (s) => s.context.restarts['flaky'] === 2 && spawns === 3, patience);

  t.true(snapshot.matches('running'));
  t.deepEqual(snapshot.context.restarts, { flaky: 2 });
  t.is(snapshot.context.error, 'flaky failed: lost the channel (2)');
  t.true(isActive(actor.system.get('flaky') as AnyActorRef | undefined), 'the respawned child is registered again');
  t.is(actor.system.get('steady'), steady, 'a sibling is not restarted');
  t.is(log.started.length, 1);
});

test('a child machine whose entry action throws is respawned', async (t) => {
  let spawns = 0;
  const broken = setup({
    actions: {
      explode: () => {
        spawns += 1;
        if (spawns === 1) throw new Error('bad configuration');
      },
    },
  }).createMachine({ id: 'broken', entry: 'explode', initial: 'up', states: { up: {} } });
  const { actor } = supervisorActor([{ id: 'broken', logic: broken }]);
  t.teardown(() => actor.stop());
  actor.start();

  const snapshot = await waitFor(actor, (s) => s.context.restarts['broken'] === 1 && spawns === 2, patience);

  t.true(snapshot.matches('running'));
  t.is(snapshot.context.error, 'broken failed: bad configuration');
  t.true(isActive(actor.system.get('broken') as AnyActorRef | undefined));
});

test('a child that finishes normally is not respawned', async (t) => {
  let spawns = 0;
  const oneShot = fromPromise<void>(async () => {
    spawns += 1;
  });
  const { actor } = supervisorActor([{ id: 'one-shot', logic: oneShot }]);
  t.teardown(() => actor.stop());
  actor.start();
  await waitFor(actor, (s) => s.matches('running'), patience);
  const child = actor.getSnapshot().children['one-shot'] as AnyActorRef | undefined;
  await toPromise(child!);

  t.is(spawns, 1);
  t.deepEqual(actor.getSnapshot().context.restarts, {});
  t.true(actor.getSnapshot().matches('running'));
});

test('STOP sends STOP to every child, then runs shutdown and ends stopped', async (t) => {
  const log = { started: [] as unknown[], stopped: 0 };
  const shutdownStarted = deferred();
  const resourcesClosed = deferred();
  const childrenWhenShutdownStarted: unknown[] = [];
  let running: Record<string, AnyActorRef | undefined> = {};
  const { actor, calls, states } = supervisorActor(
    [
      { id: 'consumer:user', logic: workerLogic(log) },
      { id: 'outbox:user', logic: workerLogic(log) },
    ],
    {
      shutdown: async (system) => {
        // A finished child leaves the system; its ref, kept from `running`, shows how it ended.
        for (const id of ['consumer:user', 'outbox:user']) {
          childrenWhenShutdownStarted.push({
            registered: system.get(id) !== undefined,
            status: running[id]?.getSnapshot().status,
          });
        }
        shutdownStarted.resolve();
        await resourcesClosed.promise;
      },
    },
  );
  const done = toPromise(actor);
  actor.start();
  const { children } = await waitFor(actor, (s) => s.matches('running'), patience);
  running = children as Record<string, AnyActorRef | undefined>;

  actor.send({ type: 'STOP' });
  await shutdownStarted.promise;

  t.true(actor.getSnapshot().matches('stopping'));
  t.is(log.stopped, 2, 'both children received STOP');
  t.deepEqual(
    childrenWhenShutdownStarted,
    [
      { registered: false, status: 'done' },
      { registered: false, status: 'done' },
    ],
    'STOP reached the children before shutdown ran',
  );

  resourcesClosed.resolve();
  await done;

  t.deepEqual(states, ['starting', 'running', 'stopping', 'stopped']);
  t.is(calls.shutdown, 1);
  t.is(actor.getSnapshot().status, 'done');
  t.is(actor.getSnapshot().context.error, undefined);
});

test('a failing shutdown still ends stopped, keeping the error', async (t) => {
  const { actor } = supervisorActor([], { shutdown: () => Promise.reject(new Error('pool did not close')) });
  const done = toPromise(actor);
  actor.start();
  await waitFor(actor, (s) => s.matches('running'), patience);

  actor.send({ type: 'STOP' });
  await done;

  t.true(actor.getSnapshot().matches('stopped'));
  t.is(actor.getSnapshot().context.error, 'pool did not close');
});

test('STOP after a child has failed, before its respawn, still stops cleanly and does not respawn it', async (t) => {
  let spawns = 0;
  const crashing = fromPromise<void>(() => {
    spawns += 1;
    return Promise.reject(new Error('crashed'));
  });
  const log = { started: [] as unknown[], stopped: 0 };
  const shutdownDone = deferred();
  const { actor, states } = supervisorActor(
    [
      { id: 'crashing', logic: crashing },
      { id: 'worker', logic: workerLogic(log) },
    ],
    { shutdown: () => shutdownDone.promise },
  );
  const done = toPromise(actor);
  actor.start();
  await waitFor(actor, (s) => s.context.restarts['crashing'] === 1, patience);

  actor.send({ type: 'STOP' });
  t.true(actor.getSnapshot().matches('stopping'));
  t.is(log.stopped, 1);
  shutdownDone.resolve();
  await done;

  t.deepEqual(states, ['starting', 'running', 'stopping', 'stopped']);
  t.is(spawns, 1);
});

test('restartDelayMs doubles from 250 ms and is capped at 30 s', (t) => {
  t.deepEqual([0, 1, 2, 3, 6, 7, 8, 50].map(restartDelayMs), [250, 500, 1_000, 2_000, 16_000, 30_000, 30_000, 30_000]);
});

// A SIGTERM during migrations: `stopping` must not send STOP to children that were never spawned.
test('STOP while starting ends stopped and runs shutdown', async (t) => {
  const log = { started: [] as unknown[], stopped: 0 };
  const { actor, calls } = supervisorActor([{ id: 'worker', logic: workerLogic(log) }], {
    prepare: () => never<void>(),
  });
  const done = toPromise(actor);
  actor.start();

  actor.send({ type: 'STOP' });
  await done;

  t.true(actor.getSnapshot().matches('stopped'));
  t.is(calls.shutdown, 1);
});

// With no children there is nobody to send STOP to, so STOP while starting works.
test('STOP while starting with no children stops without spawning anything', async (t) => {
  const { actor, calls, states } = supervisorActor([], { prepare: () => never<void>() });
  const done = toPromise(actor);
  actor.start();

  actor.send({ type: 'STOP' });
  await done;

  t.deepEqual(states, ['starting', 'stopping', 'stopped']);
  t.is(calls.shutdown, 1);
});
