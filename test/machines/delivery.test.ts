import test from 'ava';
import { assign, createActor, fromPromise, toPromise, waitFor } from 'xstate';
import {
  deliveryMachine,
  failedByItsHandler,
  persistStep,
  publishStep,
  outcomeAt,
  PersistFailure,
  type Decoded,
  type DecodeResult,
  type Delivery,
  type DeliveryContext,
  type DeliveryOutput,
  type FailedInBatch,
  type Persisted,
  type SetAside,
} from '../../src/machines/delivery.js';
import type { ClassifiedFailure } from '../../src/policies/classify-error.js';
import type { RetryLevels } from '../../src/policies/delayed-retry.js';
import { patience, stateTrace, withCode } from './support.js';

const delivery: Delivery = {
  queue: 'user.registered',
  deliveryTag: 7,
  redelivered: false,
  messageId: 'm-1',
  contentType: 'application/json',
  headers: {},
  content: new TextEncoder().encode('{"userId":"u-1"}'),
};

const decoded: Decoded = { key: 'id:m-1', message: { userId: 'u-1' } };
const transaction = { name: 'tx-1' };
const persisted: Persisted = { duplicates: [false], outgoing: [{ row: 1 }], results: [{ card: 'c-1' }] };
const poison = (reason: string): DecodeResult => ({ failure: { kind: 'poison', reason }, error: reason, attempts: 1 });

type PersistInput = { deliveries: readonly Delivery[]; decoded: readonly Decoded[] };
type TransactionInput = { transaction: unknown };
type PublishInput = { outgoing: readonly unknown[] };
type RecordInput = { key: string; failure: ClassifiedFailure; delivery: Delivery };
type DeadLetterInput = { delivery: Delivery; failure: ClassifiedFailure; attempts: number };
type DelayInput = DeadLetterInput & { delayMs: number };
type HandOnInput = { deliveries: readonly Delivery[]; setAside: readonly SetAside[] };

/** What each stub does; anything left out succeeds (the happy path). */
interface Stubs {
  decode?: (input: readonly Delivery[]) => DecodeResult;
  persist?: (input: PersistInput) => Promise<Persisted>;
  rollback?: (input: TransactionInput) => Promise<void>;
  publish?: (input: PublishInput) => Promise<void>;
  recordFailure?: (input: RecordInput) => Promise<number>;
  deadLetter?: (input: DeadLetterInput) => Promise<void>;
  delay?: (input: DelayInput) => Promise<void>;
  /** Resolves with the indexes handed on; by default all of them. */
  handOn?: (input: HandOnInput) => Promise<readonly number[]>;
}

interface Calls {
  decode: (readonly Delivery[])[];
  persist: PersistInput[];
  rollback: TransactionInput[];
  publish: PublishInput[];
  recordFailure: RecordInput[];
  deadLetter: DeadLetterInput[];
  delay: DelayInput[];
  handOn: HandOnInput[];
  /** The indexes acked and run alone by settleHandedOn. */
  settled: { acked: number[]; ranAlone: number[] }[];
  ack: number;
  nack: number;
  retry: number;
  split: number;
  setAside: (readonly number[])[];
}

interface Options {
  maxAttempts?: number;
  retryDelay?: number;
  deliveries?: readonly Delivery[];
  retryLevels?: RetryLevels;
  /** The consumer's breaker is open or half-open. */
  outageSuspected?: boolean;
  failedInBatch?: FailedInBatch;
  /** The consumer's answer to `retriesInProcess` (none: every retry is a nack). */
  retriesInProcess?: (context: DeliveryContext) => boolean;
}

function deliveryActor(stubs: Stubs = {}, options: Options = {}) {
  const calls: Calls = {
    decode: [],
    persist: [],
    rollback: [],
    publish: [],
    recordFailure: [],
    deadLetter: [],
    delay: [],
    handOn: [],
    settled: [],
    ack: 0,
    nack: 0,
    retry: 0,
    split: 0,
    setAside: [],
  };
  const logic = deliveryMachine.provide({
    actors: {
      rollback: fromPromise<void, TransactionInput>(async ({ input }) => {
        calls.rollback.push(input);
        if (stubs.rollback) await stubs.rollback(input);
      }),
      recordFailure: fromPromise<number, RecordInput>(async ({ input }) => {
        calls.recordFailure.push(input);
        return stubs.recordFailure ? stubs.recordFailure(input) : calls.recordFailure.length;
      }),
      deadLetter: fromPromise<void, DeadLetterInput>(async ({ input }) => {
        calls.deadLetter.push(input);
        if (stubs.deadLetter) await stubs.deadLetter(input);
      }),
      delay: fromPromise<void, DelayInput>(async ({ input }) => {
        calls.delay.push(input);
        if (stubs.delay) await stubs.delay(input);
      }),
      handOn: fromPromise<readonly number[], HandOnInput>(async ({ input }) => {
        calls.handOn.push(input);
        return stubs.handOn ? stubs.handOn(input) : input.setAside.map(({ index }) => index);
      }),
    },
    actions: {
      publish: publishStep(async (input) => {
        calls.publish.push(input);
        if (stubs.publish) await stubs.publish(input);
      }),
      persist: persistStep(async (input) => {
        calls.persist.push(input);
        return stubs.persist ? stubs.persist(input) : persisted;
      }),
      decode: assign(({ context }) => {
        calls.decode.push(context.deliveries);
        return stubs.decode ? stubs.decode(context.deliveries) : { decoded: context.deliveries.map(() => decoded) };
      }),
      ack: () => {
        calls.ack += 1;
      },
      nack: () => {
        calls.nack += 1;
      },
      retry: () => {
        calls.retry += 1;
      },
      split: () => {
        calls.split += 1;
      },
      setAside: ({ context }) => {
        if (context.setAside.length > 0) calls.setAside.push(context.setAside.map((each) => each.index));
      },
      settleHandedOn: ({ context }) => {
        const indexes = (handedOn: boolean) =>
          context.setAside.filter((each) => each.handedOn === handedOn).map(({ index }) => index);
        calls.settled.push({ acked: indexes(true), ranAlone: indexes(false) });
      },
    },
    guards: {
      outageSuspected: () => options.outageSuspected ?? false,
      retriesInProcess: ({ context }) => options.retriesInProcess?.(context) ?? false,
    },
    delays: { retryDelay: options.retryDelay ?? 1 },
  });
  const trace = stateTrace();
  const actor = createActor(logic, {
    input: {
      deliveries: options.deliveries ?? [delivery],
      maxAttempts: options.maxAttempts ?? 5,
      ...(options.retryLevels && { retryLevels: options.retryLevels }),
      ...(options.failedInBatch && { failedInBatch: options.failedInBatch }),
    },
    inspect: trace.inspect,
  });
  return { actor, calls, states: trace.states };
}

async function runDelivery(stubs: Stubs = {}, options: Options = {}) {
  const { actor, calls, states } = deliveryActor(stubs, options);
  const done = toPromise(actor);
  actor.start();
  const output: DeliveryOutput = await done;
  return { output, calls, states, context: actor.getSnapshot().context };
}

const rejectWith = (error: unknown) => () => Promise.reject(error);

test('happy path: decoded, persisted (committed), published, acked once', async (t) => {
  const { output, calls, states } = await runDelivery();

  t.deepEqual(states, ['receiving', 'persisting', 'acking', 'publishing', 'done']);
  t.deepEqual(output, { outcome: 'acked', failure: undefined, attempts: 0, duplicates: 0, unrecorded: false });
  t.is(calls.ack, 1);
  t.is(calls.nack, 0);
  t.deepEqual(calls.decode[0], [delivery]);
  t.deepEqual(calls.persist, [{ deliveries: [delivery], decoded: [decoded] }]);
  t.deepEqual(calls.publish, [{ outgoing: [{ row: 1 }] }]);
  t.is(calls.rollback.length, 0);
  t.is(calls.recordFailure.length, 0);
  t.is(calls.deadLetter.length, 0);
});

test('a message that cannot be decoded is dead-lettered and acked, never persisted', async (t) => {
  const { output, calls, states } = await runDelivery({
    decode: () => poison('body is not JSON'),
  });

  t.deepEqual(states, ['receiving', 'deadLettering', 'acking', 'done']);
  t.is(output.outcome, 'dead-lettered');
  t.deepEqual(output.failure, { kind: 'poison', reason: 'body is not JSON' });
  t.is(output.attempts, 1);
  t.is(calls.persist.length, 0);
  t.is(calls.recordFailure.length, 0);
  t.deepEqual(calls.deadLetter, [{ delivery, failure: { kind: 'poison', reason: 'body is not JSON' }, attempts: 1 }]);
  t.is(calls.ack, 1);
  t.is(calls.nack, 0);
});

test('a decoded message that has nothing to publish skips publishing', async (t) => {
  const { output, calls, states } = await runDelivery({
    persist: async () => ({ duplicates: [false], outgoing: [], results: [undefined] }),
  });

  t.deepEqual(states, ['receiving', 'persisting', 'acking', 'done']);
  t.is(output.outcome, 'acked');
  t.is(calls.publish.length, 0);
  t.is(calls.ack, 1);
});

test('a transient persist failure rolls back the transaction it carries, records the attempt, backs off and nacks', async (t) => {
  const failingTransaction = { name: 'tx-failed' };
  const { output, calls, states, context } = await runDelivery({
    persist: rejectWith(new PersistFailure(withCode('could not serialize access', '40001'), failingTransaction)),
  });

  t.deepEqual(states, ['receiving', 'persisting', 'rollingBack', 'recordingFailure', 'backingOff', 'nacking', 'done']);
  t.is(calls.rollback.length, 1);
  t.is(calls.rollback[0]?.transaction, failingTransaction, 'rollback receives the transaction of the PersistFailure');
  t.deepEqual(calls.recordFailure, [
    { key: 'id:m-1', failure: { kind: 'transient', reason: 'could not serialize access (40001)' }, delivery },
  ]);
  t.deepEqual(output, {
    outcome: 'retried',
    failure: { kind: 'transient', reason: 'could not serialize access (40001)' },
    attempts: 1,
    duplicates: 0,
    unrecorded: false,
  });
  t.is(calls.nack, 1);
  t.is(calls.ack, 0);
  t.is(calls.publish.length, 0);
  t.is(calls.deadLetter.length, 0);
  t.is(context.transaction, undefined, 'the transaction is forgotten once rolled back');
});

test('a persist error that is not a PersistFailure rolls back with no transaction', async (t) => {
  const { output, calls } = await runDelivery({ persist: rejectWith(new Error('bug in handler')) });

  t.deepEqual(calls.rollback, [{ transaction: undefined }]);
  t.is(output.outcome, 'retried');
  t.is(output.failure?.kind, 'transient');
});

test('one attempt short of maxAttempts still backs off and nacks', async (t) => {
  const { output, calls, states } = await runDelivery(
    {
      persist: rejectWith(new PersistFailure(new Error('deadlock detected'), transaction)),
      recordFailure: async () => 4,
    },
    { maxAttempts: 5 },
  );

  t.true(states.includes('backingOff'));
  t.false(states.includes('deadLettering'));
  t.is(output.outcome, 'retried');
  t.is(output.attempts, 4);
  t.is(calls.nack, 1);
  t.is(calls.ack, 0);
});

test('a transient failure whose attempts reach maxAttempts is dead-lettered and acked', async (t) => {
  const { output, calls, states } = await runDelivery(
    {
      persist: rejectWith(new PersistFailure(new Error('deadlock detected'), transaction)),
      recordFailure: async () => 5,
    },
    { maxAttempts: 5 },
  );

  t.deepEqual(states, [
    'receiving',
    'persisting',
    'rollingBack',
    'recordingFailure',
    'deadLettering',
    'acking',
    'done',
  ]);
  t.deepEqual(calls.deadLetter, [
    { delivery, failure: { kind: 'transient', reason: 'deadlock detected' }, attempts: 5 },
  ]);
  t.deepEqual(output, {
    outcome: 'dead-lettered',
    failure: { kind: 'transient', reason: 'deadlock detected' },
    attempts: 5,
    duplicates: 0,
    unrecorded: false,
  });
  t.is(calls.ack, 1);
  t.is(calls.nack, 0);
});

test('an unavailable dependency skips recordFailure, backs off and nacks', async (t) => {
  const refused = withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED');
  const { output, calls, states } = await runDelivery({ persist: rejectWith(new PersistFailure(refused, undefined)) });

  t.deepEqual(states, ['receiving', 'persisting', 'rollingBack', 'backingOff', 'nacking', 'done']);
  t.is(calls.rollback.length, 1);
  t.is(calls.recordFailure.length, 0);
  t.is(output.outcome, 'retried');
  t.is(output.failure?.kind, 'unavailable');
  t.is(output.attempts, 0, 'an unavailable dependency is not counted as an attempt');
  t.is(calls.nack, 1);
  t.is(calls.ack, 0);
});

test('a constraint violation from persist is poison: recorded, then dead-lettered at once', async (t) => {
  const violation = withCode('insert violates foreign key constraint', '23503');
  const { output, calls, states } = await runDelivery(
    { persist: rejectWith(new PersistFailure(violation, transaction)) },
    { maxAttempts: 5 },
  );

  t.deepEqual(states, [
    'receiving',
    'persisting',
    'rollingBack',
    'recordingFailure',
    'deadLettering',
    'acking',
    'done',
  ]);
  t.is(calls.rollback[0]?.transaction, transaction);
  t.is(calls.recordFailure.length, 1);
  t.is(calls.deadLetter.length, 1);
  t.is(calls.deadLetter[0]?.failure.kind, 'poison');
  t.is(calls.deadLetter[0]?.attempts, 1, 'dead-lettered on the first attempt, far below maxAttempts');
  t.is(output.outcome, 'dead-lettered');
  t.is(calls.ack, 1);
  t.is(calls.nack, 0);
});

test('the ack does not wait for the publish: a delivery is acked once its transaction has committed', async (t) => {
  let acksWhenPublishing: number | undefined;
  const { actor, calls } = deliveryActor({
    publish: async () => {
      acksWhenPublishing = calls.ack;
    },
  });
  const done = toPromise(actor);
  actor.start();
  await done;

  t.is(acksWhenPublishing, 1);
});

test('a failed publish still acks: the committed outbox rows are left to the relay', async (t) => {
  const { output, calls, states, context } = await runDelivery({
    publish: rejectWith(new Error('publish timed out')),
  });

  t.deepEqual(states, ['receiving', 'persisting', 'acking', 'publishing', 'done']);
  t.is(output.outcome, 'acked');
  t.is(output.failure, undefined);
  t.is(calls.ack, 1);
  t.is(calls.nack, 0);
  t.is(calls.rollback.length, 0);
  t.is(context.error, 'publish deferred to the outbox relay: publish timed out');
});

test('a duplicate delivery is committed with no effect and acked with outcome duplicate', async (t) => {
  const { output, calls, states } = await runDelivery({
    persist: async () => ({ duplicates: [true], outgoing: [], results: [undefined] }),
  });

  t.deepEqual(states, ['receiving', 'persisting', 'acking', 'done']);
  t.is(output.outcome, 'duplicate');
  t.is(calls.publish.length, 0);
  t.is(calls.ack, 1);
  t.is(calls.nack, 0);
});

test('a failed commit (a PersistFailure from persisting) rolls back the transaction and retries', async (t) => {
  const { output, calls, states } = await runDelivery({
    persist: rejectWith(new PersistFailure(new Error('commit lost'), transaction)),
  });

  t.deepEqual(states, ['receiving', 'persisting', 'rollingBack', 'recordingFailure', 'backingOff', 'nacking', 'done']);
  t.is(calls.rollback[0]?.transaction, transaction, 'the transaction that failed to commit is rolled back');
  t.is(calls.publish.length, 0);
  t.is(output.outcome, 'retried');
  t.deepEqual(output.failure, { kind: 'transient', reason: 'commit lost' });
  t.is(calls.nack, 1);
  t.is(calls.ack, 0);
});

test('a failed rollback still records the failure and nacks', async (t) => {
  const { output, calls, states } = await runDelivery({
    persist: rejectWith(new PersistFailure(new Error('deadlock detected'), transaction)),
    rollback: rejectWith(new Error('Connection terminated unexpectedly')),
  });

  t.deepEqual(states.slice(2, 5), ['rollingBack', 'recordingFailure', 'backingOff']);
  t.is(output.outcome, 'retried');
  t.is(output.failure?.kind, 'transient', 'the failure is the original one, not the rollback error');
  t.is(calls.nack, 1);
});

test('a failed recordFailure backs off and nacks, reporting the recording error', async (t) => {
  const { output, calls, states, context } = await runDelivery({
    persist: rejectWith(new PersistFailure(new Error('deadlock detected'), transaction)),
    recordFailure: rejectWith(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')),
  });

  t.deepEqual(states.slice(3), ['recordingFailure', 'backingOff', 'nacking', 'done']);
  t.is(output.outcome, 'retried');
  t.is(output.failure?.kind, 'unavailable');
  t.regex(context.error ?? '', /^could not record the attempt: /);
  t.is(calls.deadLetter.length, 0);
  t.is(calls.nack, 1);
  t.is(calls.ack, 0);
});

test('a failed dead-letter publish backs off and nacks instead of acking', async (t) => {
  const { output, calls, states, context } = await runDelivery({
    decode: () => poison('body is not JSON'),
    deadLetter: rejectWith(new Error('channel closed')),
  });

  t.deepEqual(states, ['receiving', 'deadLettering', 'backingOff', 'nacking', 'done']);
  t.is(output.outcome, 'retried');
  t.is(output.failure?.kind, 'poison');
  t.is(context.error, 'dead-lettering failed: channel closed');
  t.is(calls.deadLetter.length, 1);
  t.is(calls.nack, 1);
  t.is(calls.ack, 0);
});

test('SHUTDOWN while backing off nacks at once, without waiting for the retry delay', async (t) => {
  const { actor, calls, states } = deliveryActor(
    { persist: rejectWith(new PersistFailure(new Error('deadlock detected'), transaction)) },
    { retryDelay: 3_600_000 },
  );
  t.teardown(() => actor.stop());
  actor.start();
  await waitFor(actor, (snapshot) => snapshot.matches('backingOff'), patience);
  t.is(calls.nack, 0, 'nothing is settled while backing off');

  actor.send({ type: 'SHUTDOWN' });

  // Sending is processed synchronously: the machine is done before the hour-long delay could fire.
  const snapshot = actor.getSnapshot();
  t.is(snapshot.status, 'done');
  t.deepEqual(states.slice(-3), ['backingOff', 'nacking', 'done']);
  t.deepEqual(snapshot.output, {
    outcome: 'retried',
    failure: { kind: 'transient', reason: 'deadlock detected' },
    attempts: 1,
    duplicates: 0,
    unrecorded: false,
  });
  t.is(calls.nack, 1);
  t.is(calls.ack, 0);
});

test('a handler failure retried in process: after backing off, the delivery is handed back unacked, not nacked', async (t) => {
  const { output, calls, states } = await runDelivery(
    { persist: rejectWith(new PersistFailure(new Error('no price for product-7'), transaction)) },
    { retriesInProcess: failedByItsHandler },
  );

  t.deepEqual(states, ['receiving', 'persisting', 'rollingBack', 'recordingFailure', 'backingOff', 'retrying', 'done']);
  t.is(output.outcome, 'retried');
  t.is(output.attempts, 1);
  t.is(calls.retry, 1);
  t.is(calls.nack, 0);
  t.is(calls.ack, 0);
});

test('a delivery set aside from its batch is retried in process when its count allows an immediate retry', async (t) => {
  const failure: ClassifiedFailure = { kind: 'transient', reason: 'no price for product-7' };
  const { output, calls, states } = await runDelivery(
    {},
    { failedInBatch: { failure, attempts: 1, decoded }, retriesInProcess: failedByItsHandler },
  );

  t.deepEqual(states, ['receiving', 'backingOff', 'retrying', 'done']);
  t.is(output.outcome, 'retried');
  t.is(calls.retry, 1);
  t.is(calls.nack + calls.ack + calls.persist.length, 0, 'neither settled nor run again here');
});

test("an outage's failure is nacked, never retried in process, whatever the consumer allows", async (t) => {
  const { calls, states } = await runDelivery(
    { persist: rejectWith(new PersistFailure(withCode('terminating connection', '57P01'), transaction)) },
    { retriesInProcess: failedByItsHandler },
  );

  t.deepEqual(states.slice(-3), ['backingOff', 'nacking', 'done']);
  t.is(calls.retry, 0);
  t.is(calls.nack, 1);
});

test('SHUTDOWN while backing off nacks, even where the retry would have run in process', async (t) => {
  const { actor, calls, states } = deliveryActor(
    { persist: rejectWith(new PersistFailure(new Error('no price for product-7'), transaction)) },
    { retryDelay: 3_600_000, retriesInProcess: failedByItsHandler },
  );
  t.teardown(() => actor.stop());
  actor.start();
  await waitFor(actor, (snapshot) => snapshot.matches('backingOff'), patience);

  actor.send({ type: 'SHUTDOWN' });

  t.deepEqual(states.slice(-3), ['backingOff', 'nacking', 'done']);
  t.is(calls.nack, 1);
  t.is(calls.retry, 0);
});

test('SHUTDOWN outside backingOff is ignored: the delivery runs to its end', async (t) => {
  let releasePersist!: () => void;
  const { actor, calls } = deliveryActor({
    persist: () =>
      new Promise<Persisted>((resolve) => {
        releasePersist = () => resolve(persisted);
      }),
  });
  const done = toPromise(actor);
  actor.start();
  await waitFor(actor, (snapshot) => snapshot.matches('persisting'), patience);

  actor.send({ type: 'SHUTDOWN' });
  t.true(actor.getSnapshot().matches('persisting'));
  releasePersist();

  t.is((await done).outcome, 'acked');
  t.is(calls.ack, 1);
  t.is(calls.nack, 0);
});

const batchOf = (count: number): Delivery[] =>
  Array.from({ length: count }, (_, index) => ({ ...delivery, deliveryTag: 10 + index, messageId: `m-${10 + index}` }));

test('a batch is decoded, persisted in one transaction, published and acked once, its duplicates counted', async (t) => {
  const deliveries = batchOf(3);
  const { output, calls, states, context } = await runDelivery(
    {
      persist: async () => ({
        duplicates: [false, true, false],
        outgoing: [{ row: 1 }, { row: 3 }],
        results: ['a', undefined, 'c'],
      }),
    },
    { deliveries },
  );

  t.deepEqual(states, ['receiving', 'persisting', 'acking', 'publishing', 'done']);
  t.deepEqual(output, { outcome: 'acked', failure: undefined, attempts: 0, duplicates: 1, unrecorded: false });
  t.is(calls.persist.length, 1);
  t.is(calls.persist[0]!.deliveries, deliveries);
  t.is(calls.persist[0]!.decoded.length, 3);
  t.deepEqual(calls.publish, [{ outgoing: [{ row: 1 }, { row: 3 }] }]);
  t.is(calls.ack, 1);
  t.is(calls.split, 0);
  t.deepEqual(
    [0, 1, 2].map((index) => outcomeAt(context, index)),
    ['acked', 'duplicate', 'acked'],
  );
});

test('a batch whose commit set some deliveries aside acks the rest, retries those within their immediate retries itself and hands the others on to their queues', async (t) => {
  const deliveries = batchOf(5);
  const { output, calls, states, context } = await runDelivery(
    {
      persist: async () => ({
        duplicates: [false, false, true, false, false],
        outgoing: [{ row: 1 }],
        results: ['a', undefined, undefined, undefined, undefined],
        setAside: [
          { index: 1, error: new Error('no price'), attempts: 1 },
          { index: 3, error: new Error('no price'), attempts: 2 },
          { index: 4, error: new Error('no price'), attempts: 3 },
        ],
      }),
    },
    { deliveries, maxAttempts: 3, retryLevels: { immediateRetries: 1, delayedRetriesMs: [1_000] } },
  );

  t.deepEqual(states, ['receiving', 'persisting', 'acking', 'publishing', 'handingOn', 'done']);
  t.is(output.outcome, 'acked');
  t.is(calls.ack, 1);
  t.deepEqual(calls.setAside, [[1, 3, 4]]);
  t.deepEqual(
    context.setAside.map(({ index, next, delayMs }) => [index, next, delayMs]),
    [
      [1, 'retry', undefined],
      [3, 'delay', 1_000],
      [4, 'dead-letter', undefined],
    ],
    'the first failure is an immediate retry, the second goes to the delay queue, the last to the dead letters',
  );
  t.deepEqual(
    calls.handOn.map(({ setAside }) => setAside.map(({ index }) => index)),
    [[3, 4]],
  );
  t.deepEqual(calls.settled, [{ acked: [3, 4], ranAlone: [] }]);
  t.is(
    calls.recordFailure.length + calls.delay.length + calls.deadLetter.length,
    0,
    'nothing of a delivery machine of their own',
  );
  t.deepEqual(
    [0, 1, 2, 3, 4].map((index) => outcomeAt(context, index)),
    ['acked', 'retried', 'duplicate', 'delayed', 'dead-lettered'],
  );
});

test('a set-aside delivery whose hand-on publish fails is taken on by a delivery of its own; nothing to publish goes straight to handingOn', async (t) => {
  const deliveries = batchOf(3);
  const { calls, states, context } = await runDelivery(
    {
      persist: async () => ({
        duplicates: [false, false, false],
        outgoing: [],
        results: ['a', undefined, undefined],
        setAside: [
          { index: 1, error: new Error('no price'), attempts: 3 },
          { index: 2, error: new Error('no price'), attempts: 3 },
        ],
      }),
      handOn: async () => [2],
    },
    { deliveries, maxAttempts: 3 },
  );

  t.deepEqual(states, ['receiving', 'persisting', 'acking', 'handingOn', 'done']);
  t.deepEqual(calls.settled, [{ acked: [2], ranAlone: [1] }]);
  t.deepEqual(
    [0, 1, 2].map((index) => outcomeAt(context, index)),
    ['acked', 'split', 'dead-lettered'],
    'the one whose publish failed is its own delivery’s',
  );
});

test('a delivery set aside with its failure counted goes where its count sends it: its handler is not run, nothing recorded again', async (t) => {
  const failure: ClassifiedFailure = { kind: 'transient', reason: 'no price for p-1' };
  const retryLevels = { immediateRetries: 1, delayedRetriesMs: [1_000] };
  const setAside = (attempts: number) =>
    runDelivery({}, { failedInBatch: { failure, attempts, decoded }, maxAttempts: 3, retryLevels });

  const first = await setAside(1);
  t.deepEqual(first.states, ['receiving', 'backingOff', 'nacking', 'done']);
  t.is(first.output.outcome, 'retried');
  t.is(first.output.attempts, 1);

  const second = await setAside(2);
  t.deepEqual(second.states, ['receiving', 'delaying', 'acking', 'done']);
  t.is(second.calls.delay[0]!.delayMs, 1_000);

  const last = await setAside(3);
  t.deepEqual(last.states, ['receiving', 'deadLettering', 'acking', 'done']);
  t.is(last.calls.deadLetter[0]!.attempts, 3);

  for (const run of [first, second, last]) {
    t.is(run.calls.persist.length, 0);
    t.is(run.calls.recordFailure.length, 0);
  }
});

test('a batch holding a poison message is split at once: nothing persisted, nothing dead-lettered, acked or nacked', async (t) => {
  const { output, calls, states } = await runDelivery(
    { decode: () => poison('body is not JSON') },
    { deliveries: batchOf(4) },
  );

  t.deepEqual(states, ['receiving', 'splitting', 'done']);
  t.is(output.outcome, 'split');
  t.is(calls.split, 1);
  t.is(calls.persist.length, 0);
  t.is(calls.deadLetter.length, 0);
  t.is(calls.ack + calls.nack, 0);
});

test('a batch whose transaction fails is rolled back and split, with no attempt counted against any message', async (t) => {
  const { output, calls, states } = await runDelivery(
    { persist: rejectWith(new PersistFailure(withCode('duplicate key value', '23505'), transaction)) },
    { deliveries: batchOf(2) },
  );

  t.deepEqual(states, ['receiving', 'persisting', 'rollingBack', 'splitting', 'done']);
  t.is(output.outcome, 'split');
  t.deepEqual(calls.rollback, [{ transaction }]);
  t.is(calls.split, 1);
  t.is(calls.recordFailure.length, 0);
  t.is(calls.deadLetter.length, 0);
  t.is(calls.ack + calls.nack, 0);
});

test("a batch whose failure is known to be one message's keeps that message, for the split to set it apart", async (t) => {
  const { actor } = deliveryActor(
    { persist: rejectWith(new PersistFailure(new Error('missing price'), transaction, 2)) },
    { deliveries: batchOf(4) },
  );
  actor.start();
  const snapshot = await toPromise(actor).then(() => actor.getSnapshot());
  t.is(snapshot.output?.outcome, 'split');
  t.is(snapshot.context.culprit, 2);
});

test('a batch that meets an outage is not split: it backs off and nacks every message at once', async (t) => {
  const { output, calls, states } = await runDelivery(
    { persist: rejectWith(new PersistFailure(withCode('connection refused', 'ECONNREFUSED'), transaction)) },
    { deliveries: batchOf(3) },
  );

  t.deepEqual(states, ['receiving', 'persisting', 'rollingBack', 'backingOff', 'nacking', 'done']);
  t.is(output.outcome, 'retried');
  t.is(output.failure?.kind, 'unavailable');
  t.is(calls.split, 0);
  t.is(calls.recordFailure.length, 0);
  t.is(calls.nack, 1);
});

const twoLevels: RetryLevels = { immediateRetries: 2, delayedRetriesMs: [10_000, 60_000] };
const deadlock = () => Promise.reject(new PersistFailure(new Error('deadlock detected'), transaction));

test('a failed attempt within the immediate retries backs off and nacks, without a delay queue', async (t) => {
  const { output, calls, states } = await runDelivery(
    { persist: deadlock, recordFailure: async () => 2 },
    { retryLevels: twoLevels },
  );
  t.true(states.includes('backingOff'));
  t.false(states.includes('delaying'));
  t.is(output.outcome, 'retried');
  t.deepEqual(calls.delay, []);
});

test('a failed attempt past the immediate retries is handed to the delay queue of its level, then acked', async (t) => {
  const { output, calls, states, context } = await runDelivery(
    { persist: deadlock, recordFailure: async () => 4 },
    { retryLevels: twoLevels },
  );
  t.deepEqual(states, ['receiving', 'persisting', 'rollingBack', 'recordingFailure', 'delaying', 'acking', 'done']);
  t.is(output.outcome, 'delayed');
  t.is(output.attempts, 4);
  t.is(calls.delay.length, 1);
  t.is(calls.delay[0]?.delayMs, 60_000, 'the second delayed retry waits the second level');
  t.is(context.delayMs, 60_000);
  t.is(calls.ack, 1);
  t.is(calls.nack, 0);
  t.deepEqual(calls.deadLetter, []);
});

test('a delay queue that does not take the message falls back to backing off and a nack', async (t) => {
  const { output, calls, states, context } = await runDelivery(
    { persist: deadlock, recordFailure: async () => 3, delay: rejectWith(new Error('no confirm within 5000 ms')) },
    { retryLevels: twoLevels },
  );
  t.deepEqual(states.slice(-4), ['delaying', 'backingOff', 'nacking', 'done']);
  t.is(output.outcome, 'retried');
  t.is(calls.ack, 0);
  t.is(calls.nack, 1);
  t.regex(String(context.error), /delayed retry failed.*no confirm/);
});

test('the last attempt is dead-lettered, not delayed', async (t) => {
  const { output, calls } = await runDelivery(
    { persist: deadlock, recordFailure: async () => 5 },
    { retryLevels: twoLevels, maxAttempts: 5 },
  );
  t.is(output.outcome, 'dead-lettered');
  t.deepEqual(calls.delay, []);
  t.is(calls.deadLetter.length, 1);
});

test('an attempt that cannot be recorded, for any reason, is taken for an outage', async (t) => {
  const { output, calls, states } = await runDelivery({
    persist: rejectWith(new PersistFailure(new Error('deadlock detected'), transaction)),
    recordFailure: rejectWith(withCode('role "card" is not permitted to log in', '28000')),
  });

  t.deepEqual(states.slice(3), ['recordingFailure', 'backingOff', 'nacking', 'done']);
  t.is(output.failure?.kind, 'unavailable');
  t.true(output.unrecorded);
  t.is(calls.nack, 1);
});

test('while the breaker is open, a failure that is not poison is the outage: not recorded, not split, nacked', async (t) => {
  const { output, calls, states } = await runDelivery(
    { persist: rejectWith(new PersistFailure(new Error('canceling statement due to statement timeout'), transaction)) },
    { outageSuspected: true, deliveries: [delivery, { ...delivery, deliveryTag: 2 }] },
  );

  t.deepEqual(states, ['receiving', 'persisting', 'rollingBack', 'backingOff', 'nacking', 'done']);
  t.is(output.failure?.kind, 'transient', 'its own kind, for the half-open trial to judge');
  t.regex(output.failure?.reason ?? '', /outage suspected/);
  t.is(calls.recordFailure.length, 0);
  t.is(calls.split, 0);
  t.is(calls.nack, 1);
});

test('while the breaker is open, poison is still dead-lettered', async (t) => {
  const { output, calls } = await runDelivery(
    { persist: rejectWith(new PersistFailure(withCode('violates foreign key constraint', '23503'), transaction)) },
    { outageSuspected: true },
  );
  t.is(output.outcome, 'dead-lettered');
  t.is(calls.deadLetter.length, 1);
});
