import test from 'ava';
import { createActor, fromCallback, toPromise, waitFor } from 'xstate';
import { connectionMachine, type ConnectionEvent } from '../../src/machines/connection.js';
import { patience, stateTrace } from './support.js';

const url = 'amqp://rabbitmq:5672';

/**
 * A connection whose `watch` stub hands its `sendBack` to the test (so the test plays the broker) and
 * records when it is cleaned up. `onStart` events are sent as soon as the watch starts.
 */
function connectionActor(onStart: ConnectionEvent[] = []) {
  const watch: { starts: number; cleanups: number; send: (event: ConnectionEvent) => void } = {
    starts: 0,
    cleanups: 0,
    send: () => {},
  };
  const logic = connectionMachine.provide({
    actors: {
      watch: fromCallback<ConnectionEvent>(({ sendBack }) => {
        watch.starts += 1;
        watch.send = sendBack;
        for (const event of onStart) sendBack(event);
        return () => {
          watch.cleanups += 1;
        };
      }),
    },
  });
  const trace = stateTrace();
  const actor = createActor(logic, { inspect: trace.inspect });
  return { actor, watch, states: trace.states };
}

test('connected, blocked, unblocked, lost and regained: one reconnect', async (t) => {
  const { actor, watch, states } = connectionActor([
    { type: 'CONNECTED', url },
    { type: 'BLOCKED', reason: 'low on memory' },
    { type: 'UNBLOCKED' },
    { type: 'DISCONNECTED', reason: 'CONNECTION_FORCED - broker forced connection closure' },
    { type: 'CONNECTED', url },
  ]);
  t.teardown(() => actor.stop());
  actor.start();

  const snapshot = await waitFor(actor, (s) => s.matches('connected') && s.context.reconnects === 1, patience);

  t.deepEqual(states, ['connecting', 'connected', 'blocked', 'connected', 'reconnecting', 'connected']);
  t.deepEqual(snapshot.context, { url, reconnects: 1, error: undefined });
  t.is(watch.starts, 1, 'one watch for the life of the machine');
});

test('each transition records why, and clears it when the connection is healthy again', (t) => {
  const { actor, watch } = connectionActor();
  t.teardown(() => actor.stop());
  actor.start();
  t.true(actor.getSnapshot().matches('connecting'));

  // The watch's sendBack reaches the machine synchronously: each step can be checked as it happens.
  watch.send({ type: 'CONNECTED', url });
  t.like(actor.getSnapshot().context, { url, error: undefined, reconnects: 0 });
  watch.send({ type: 'BLOCKED', reason: 'low on memory' });
  t.true(actor.getSnapshot().matches('blocked'));
  t.is(actor.getSnapshot().context.error, 'low on memory');
  watch.send({ type: 'DISCONNECTED', reason: 'socket closed' });
  t.true(actor.getSnapshot().matches('reconnecting'), 'a blocked connection can be lost');
  t.is(actor.getSnapshot().context.error, 'socket closed');
  watch.send({ type: 'DISCONNECTED', reason: 'ECONNREFUSED' });
  t.true(actor.getSnapshot().matches('reconnecting'));
  t.is(actor.getSnapshot().context.error, 'ECONNREFUSED', 'a failed attempt updates the reason');
  watch.send({ type: 'CONNECTED', url: 'amqp://rabbitmq-2:5672' });
  t.like(actor.getSnapshot().context, { url: 'amqp://rabbitmq-2:5672', error: undefined, reconnects: 1 });
});

test('events that do not apply to the current state are ignored', (t) => {
  const { actor, watch, states } = connectionActor();
  t.teardown(() => actor.stop());
  actor.start();

  watch.send({ type: 'UNBLOCKED' });
  watch.send({ type: 'BLOCKED', reason: 'low on memory' });
  t.true(actor.getSnapshot().matches('connecting'), 'not blocked before being connected');
  watch.send({ type: 'CONNECTED', url });
  watch.send({ type: 'CONNECTED', url });
  watch.send({ type: 'UNBLOCKED' });

  t.deepEqual(states, ['connecting', 'connected']);
  t.is(actor.getSnapshot().context.reconnects, 0);
});

test('a first connection that fails is retried from reconnecting', (t) => {
  const { actor, watch, states } = connectionActor();
  t.teardown(() => actor.stop());
  actor.start();

  watch.send({ type: 'DISCONNECTED', reason: 'ECONNREFUSED' });
  watch.send({ type: 'CONNECTED', url });

  t.deepEqual(states, ['connecting', 'reconnecting', 'connected']);
  // A failed first attempt is counted as a reconnect, although the connection was never up before.
  t.is(actor.getSnapshot().context.reconnects, 1);
});

test('STOP closes the machine and stops the watch', async (t) => {
  const { actor, watch, states } = connectionActor([{ type: 'CONNECTED', url }]);
  const done = toPromise(actor);
  actor.start();
  await waitFor(actor, (s) => s.matches('connected'), patience);

  actor.send({ type: 'STOP' });
  await done;

  t.deepEqual(states, ['connecting', 'connected', 'closed']);
  t.is(actor.getSnapshot().status, 'done');
  t.is(watch.cleanups, 1, 'the watch is cleaned up when the machine closes');

  watch.send({ type: 'CONNECTED', url });
  t.true(actor.getSnapshot().matches('closed'), 'events after closing change nothing');
});

for (const from of ['connecting', 'blocked', 'reconnecting'] as const) {
  test(`STOP while ${from} closes`, async (t) => {
    const lead: Record<typeof from, ConnectionEvent[]> = {
      connecting: [],
      blocked: [
        { type: 'CONNECTED', url },
        { type: 'BLOCKED', reason: 'low on memory' },
      ],
      reconnecting: [
        { type: 'CONNECTED', url },
        { type: 'DISCONNECTED', reason: 'socket closed' },
      ],
    };
    const { actor, watch } = connectionActor(lead[from]);
    const done = toPromise(actor);
    actor.start();
    t.true(actor.getSnapshot().matches(from));

    actor.send({ type: 'STOP' });
    await done;

    t.true(actor.getSnapshot().matches('closed'));
    t.is(watch.cleanups, 1);
  });
}
