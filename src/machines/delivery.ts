/**
 * The life of a batch of deliveries (one or more messages of one queue, taken together), as data. Every
 * I/O step is an actor or action supplied by `src/actors/` through `provide()`, so this file imports
 * nothing that touches the world and can be drawn as it is.
 *
 *   receiving ─> persisting ─> acking ─> publishing ─> handingOn ─> done   (each only when it has work)
 *       │             └─ failure ─> rollingBack ─> recordingFailure ─> backingOff ─> retrying | nacking ─> done
 *       └─ poison ─> deadLettering ─> acking              ├─ poison / attempts spent ─> deadLettering
 *                                                         └─ past the immediate retries ─> delaying ─> acking
 *
 * After `backingOff`, a message whose handler threw (its own failure, while the breaker is closed) is
 * retried in process (`retrying`: handed back, unacked, to its consumer's next batch); any other is nacked
 * for the broker to redeliver (`nacking`).
 * `delaying` hands the message to the broker for a delayed retry (published, confirmed, to a delay queue
 * whose TTL returns it to the queue), then acks it; if that publish fails it backs off and nacks instead.
 *
 *   batch of several: poison, or a failure other than an outage ─> splitting ─> done
 *
 * `receiving` decodes synchronously (an `assign` supplied as the `decode` action: decoding touches nothing
 * outside the process), and `persisting` is one transaction from BEGIN to COMMIT for the whole batch. A
 * batch whose handler threw for some of its messages commits the others and sets those aside (`setAside`,
 * their attempts counted in the commit): `acking` acks the rest, and each of those goes where its count
 * sends it without running its handler again: back to the consumer for its immediate retry (outcome
 * `retried` in this batch), or, in `handingOn`, to its delay queue or its dead-letter queue (published,
 * confirmed, then acked: outcome `delayed` or `dead-lettered`). One whose publish fails is taken on by a
 * delivery of its own (`failedInBatch`), which backs off and nacks it as any failed publish would. A
 * batch that fails for any other reason but an outage is split: each of its deliveries runs again as a
 * batch of its own, or, when the failure is known to be one message's, that one alone and the rest
 * together. Either way a failure, its attempt count and its dead letter always belong to one message.
 * The two steps every message takes, `persist` and `publish`, are entry actions made with `answeredBy()`
 * (`delivery-steps.ts`): they start the work and the machine waits for the event that answers it
 * (`PERSISTED`, `PERSIST_FAILED`, `PUBLISHED`, `PUBLISH_FAILED`). An invoked actor would cost an actor, an
 * AbortController and its own inspection events per step: about 60 µs of CPU per bare delivery with the
 * two invoked, 37 without (`npm run bench -- --per-delivery`).
 * The failure path's steps, taken rarely, are invoked promise actors.
 */
import { and, assign, fromPromise, not, setup } from 'xstate';
import type { ClassifiedFailure } from '../policies/classify-error.js';
import { classifyError } from '../policies/classify-error.js';
import { delayedRetryMs } from '../policies/delayed-retry.js';
import {
  PersistFailure,
  initialDeliveryContext,
  leavesThroughAQueue,
  type Delivery,
  type DeliveryContext,
  type DeliveryEvent,
  type DeliveryInput,
  type DeliveryOutput,
  type HandOnInput,
  type SetAside,
  type SetAsideNext,
} from './delivery-types.js';

export {
  PersistFailure,
  failedByItsHandler,
  initialDeliveryContext,
  outcomeAt,
  type Decoded,
  type DecodeResult,
  type Delivery,
  type DeliveryContext,
  type DeliveryEvent,
  type DeliveryInput,
  type DeliveryOutcome,
  type DeliveryOutput,
  type FailedInBatch,
  type HandOnInput,
  type PersistInput,
  type Persisted,
  type PublishInput,
  type SetAside,
  type SetAsideNext,
} from './delivery-types.js';
import { machineIds } from './names.js';
export { persistStep, publishStep } from './delivery-steps.js';

/** The count recordFailure produced, read before it is assigned to the context. */
const attemptsIn = (context: DeliveryContext, event: unknown) =>
  ((event as { output?: unknown }).output as number | undefined) ?? context.attempts;

const notProvided = (name: string) => () => {
  throw new Error(`delivery machine: "${name}" was not provided`);
};

function failureOf(error: unknown): ClassifiedFailure {
  return classifyError(error instanceof PersistFailure ? error.cause : error);
}

/** Where a set-aside failure goes next: the same decision `receiving` makes for a delivery set aside alone. */
function nextAfterSetAside(context: DeliveryContext, failure: ClassifiedFailure, attempts: number): SetAsideNext {
  if (failure.kind === 'poison' || attempts >= context.maxAttempts) return 'dead-letter';
  return delayedRetryMs(context.retryLevels, attempts) === undefined ? 'retry' : 'delay';
}

function setAsideOf(context: DeliveryContext, set: { index: number; error: unknown; attempts: number }): SetAside {
  const failure = failureOf(set.error);
  const next = nextAfterSetAside(context, failure, set.attempts);
  const delayMs = next === 'delay' ? delayedRetryMs(context.retryLevels, set.attempts) : undefined;
  return { index: set.index, failure, attempts: set.attempts, next, delayMs, handedOn: undefined };
}

/** `handingOn`'s result: which of the set-aside deliveries it handed on (by index in the batch). */
const handedOnAt = (context: DeliveryContext, handed: ReadonlySet<number>): SetAside[] =>
  context.setAside.map((each) => (leavesThroughAQueue(each) ? { ...each, handedOn: handed.has(each.index) } : each));

/** While the consumer's breaker is open or half-open, any failure but poison is taken for the outage's. */
function outageFailureOf(error: unknown): ClassifiedFailure {
  const failure = failureOf(error);
  return failure.kind === 'poison' ? failure : { ...failure, reason: `${failure.reason} (outage suspected)` };
}

/** Where a rolled-back delivery goes, whether its rollback succeeded or its connection was already gone. */
const afterRollback = [
  { guard: 'dependencyUnavailable', target: 'backingOff', actions: 'forgetTransaction' },
  { guard: 'batch', target: 'splitting', actions: 'forgetTransaction' },
  { target: 'recordingFailure', actions: 'forgetTransaction' },
] as const;

export const deliveryMachine = setup({
  types: {
    context: {} as DeliveryContext,
    input: {} as DeliveryInput,
    output: {} as DeliveryOutput,
    events: {} as DeliveryEvent,
  },
  actors: {
    rollback: fromPromise<void, { transaction: unknown }>(notProvided('rollback')),
    recordFailure: fromPromise<number, { key: string; failure: ClassifiedFailure; delivery: Delivery }>(
      notProvided('recordFailure'),
    ),
    deadLetter: fromPromise<void, { delivery: Delivery; failure: ClassifiedFailure; attempts: number }>(
      notProvided('deadLetter'),
    ),
    /**
     * Publishes the copies of the set-aside deliveries that leave through a queue (with confirms, each to its
     * delay or dead-letter queue); resolves with the indexes of those confirmed.
     */
    handOn: fromPromise<readonly number[], HandOnInput>(notProvided('handOn')),
    /** Publishes the message, with confirms, to the delay queue of `delayMs`. */
    delay: fromPromise<void, { delivery: Delivery; failure: ClassifiedFailure; attempts: number; delayMs: number }>(
      notProvided('delay'),
    ),
  },
  actions: {
    /** Supplied as `assign(({ context }) => DecodeResult)`. */
    decode: notProvided('decode'),
    /** Supplied as `persistStep(run)`: answered by PERSISTED or PERSIST_FAILED. */
    persist: notProvided('persist'),
    /** Supplied as `publishStep(run)`: answered by PUBLISHED or PUBLISH_FAILED. */
    publish: notProvided('publish'),
    /** Acks the deliveries, but those set aside. */
    ack: notProvided('ack'),
    nack: notProvided('nack'),
    /** Hands the delivery, still unacked, back to its consumer for its next attempt in a batch. */
    retry: notProvided('retry'),
    /**
     * Hands each delivery set aside by the commit for an immediate retry back to the consumer, for its retry
     * after its backoff (none: nothing to do).
     */
    setAside: ({ context }) => {
      if (context.setAside.length > 0) notProvided('setAside')();
    },
    /**
     * After `handingOn`: acks the set-aside deliveries it handed on, and hands each of the others (its publish
     * failed) to a delivery of its own.
     */
    settleHandedOn: notProvided('settleHandedOn'),
    /**
     * Hands the deliveries to new batches: the `culprit` alone and the rest together when it is known, else
     * each delivery to a batch of its own.
     */
    split: notProvided('split'),
    forgetTransaction: assign({ transaction: undefined }),
    deferPublish: assign({
      error: ({ event }) =>
        `publish deferred to the outbox relay: ${failureOf((event as { error?: unknown }).error).reason}`,
    }),
  },
  guards: {
    /** Provided by the consumer: true while its outage breaker is open or half-open. */
    outageSuspected: () => false,
    /**
     * Provided by the consumer: true when the next attempt may run in this process, without a nack and a
     * redelivery (its handler threw a failure of its own while the breaker is closed). Else it is nacked.
     */
    retriesInProcess: () => false,
    undecodable: ({ context }) => context.failure !== undefined,
    failedInBatch: ({ context }) => context.failedInBatch,
    batch: ({ context }) => context.deliveries.length > 1,
    undecodableBatch: ({ context }) => context.failure !== undefined && context.deliveries.length > 1,
    somethingToPublish: ({ context }) => context.outgoing.length > 0,
    somethingToHandOn: ({ context }) => context.setAside.some(leavesThroughAQueue),
    /** An outage's failure, known by its code or suspected by the breaker: its attempt is not counted. */
    dependencyUnavailable: ({ context }) =>
      context.failure?.kind === 'unavailable' || (context.suspected && context.failure?.kind !== 'poison'),
    poisonFailure: ({ context }) => context.failure?.kind === 'poison',
    // Evaluated on recordFailure's result, before it is assigned to the context.
    mustDeadLetter: ({ context, event }) =>
      context.failure?.kind === 'poison' || attemptsIn(context, event) >= context.maxAttempts,
    mustDelay: ({ context, event }) => delayedRetryMs(context.retryLevels, attemptsIn(context, event)) !== undefined,
  },
  delays: {
    retryDelay: 1_000,
  },
}).createMachine({
  id: machineIds.delivery,
  context: ({ input }) => initialDeliveryContext(input),
  initial: 'receiving',
  states: {
    receiving: {
      entry: 'decode',
      always: [
        // Set aside from its batch, its attempt counted in that commit: where its count sends it.
        { guard: and(['failedInBatch', 'mustDeadLetter']), target: 'deadLettering' },
        {
          guard: and(['failedInBatch', 'mustDelay']),
          target: 'delaying',
          actions: assign({ delayMs: ({ context }) => delayedRetryMs(context.retryLevels, context.attempts) }),
        },
        { guard: 'failedInBatch', target: 'backingOff' },
        { guard: 'undecodableBatch', target: 'splitting' },
        { guard: 'undecodable', target: 'deadLettering' },
        { target: 'persisting' },
      ],
    },
    persisting: {
      entry: 'persist',
      on: {
        // Acked as soon as the commit is durable: the outgoing messages are in the outbox, published next.
        PERSISTED: {
          target: 'acking',
          actions: assign({
            duplicates: ({ event }) => event.output.duplicates,
            outgoing: ({ event }) => event.output.outgoing,
            results: ({ event }) => event.output.results,
            setAside: ({ context, event }) => (event.output.setAside ?? []).map((each) => setAsideOf(context, each)),
          }),
        },
        // A failed commit has an unknown outcome: retry, and let the inbox absorb it if it did commit.
        PERSIST_FAILED: [
          {
            guard: 'outageSuspected',
            target: 'rollingBack',
            actions: assign({
              suspected: true,
              transaction: ({ event }) => (event.error instanceof PersistFailure ? event.error.transaction : undefined),
              failure: ({ event }) => outageFailureOf(event.error),
              error: ({ event }) => outageFailureOf(event.error).reason,
            }),
          },
          {
            target: 'rollingBack',
            actions: assign({
              transaction: ({ event }) => (event.error instanceof PersistFailure ? event.error.transaction : undefined),
              culprit: ({ event }) => (event.error instanceof PersistFailure ? event.error.culprit : undefined),
              failure: ({ event }) => failureOf(event.error),
              error: ({ event }) => failureOf(event.error).reason,
            }),
          },
        ],
      },
    },
    publishing: {
      entry: 'publish',
      on: {
        PUBLISHED: [{ guard: 'somethingToHandOn', target: 'handingOn' }, { target: 'done' }],
        // The outgoing messages are committed in the outbox: the relay delivers them later.
        PUBLISH_FAILED: [
          { guard: 'somethingToHandOn', target: 'handingOn', actions: 'deferPublish' },
          { target: 'done', actions: 'deferPublish' },
        ],
      },
    },
    handingOn: {
      invoke: {
        src: 'handOn',
        input: ({ context }) => ({
          deliveries: context.deliveries,
          setAside: context.setAside.filter(leavesThroughAQueue),
        }),
        onDone: {
          target: 'done',
          actions: [
            assign({ setAside: ({ context, event }) => handedOnAt(context, new Set(event.output)) }),
            'settleHandedOn',
          ],
        },
        onError: {
          target: 'done',
          actions: [
            assign({
              setAside: ({ context }) => handedOnAt(context, new Set()),
              error: ({ event }) => `handing on the set-aside deliveries failed: ${failureOf(event.error).reason}`,
            }),
            'settleHandedOn',
          ],
        },
      },
    },
    acking: {
      entry: [
        'ack',
        'setAside',
        assign({
          outcome: ({ context }) =>
            context.outcome ??
            (context.failure ? 'dead-lettered' : context.duplicates.every(Boolean) ? 'duplicate' : 'acked'),
        }),
      ],
      always: [
        { guard: 'somethingToPublish', target: 'publishing' },
        { guard: 'somethingToHandOn', target: 'handingOn' },
        { target: 'done' },
      ],
    },
    rollingBack: {
      invoke: {
        src: 'rollback',
        input: ({ context }) => ({ transaction: context.transaction }),
        onDone: afterRollback,
        // The rollback itself failed: the connection is gone and the server has rolled back for us.
        onError: afterRollback,
      },
    },
    recordingFailure: {
      invoke: {
        src: 'recordFailure',
        input: ({ context }) => ({
          key: context.decoded[0]!.key,
          failure: context.failure!,
          delivery: context.deliveries[0]!,
        }),
        onDone: [
          // The breaker opened meanwhile: the attempt is the outage's (the consumer gives it back), never a dead letter.
          {
            guard: and(['outageSuspected', not('poisonFailure')]),
            target: 'backingOff',
            actions: assign({ attempts: ({ event }) => event.output }),
          },
          {
            guard: 'mustDeadLetter',
            target: 'deadLettering',
            actions: assign({ attempts: ({ event }) => event.output }),
          },
          {
            guard: 'mustDelay',
            target: 'delaying',
            actions: assign({
              attempts: ({ event }) => event.output,
              delayMs: ({ context, event }) => delayedRetryMs(context.retryLevels, event.output),
            }),
          },
          { target: 'backingOff', actions: assign({ attempts: ({ event }) => event.output }) },
        ],
        // A poison message needs no database to be dead-lettered; anything else waits for the database.
        // An attempt that cannot even be recorded is an outage, whatever the error: the consumer pauses.
        onError: [
          {
            guard: 'mustDeadLetter',
            target: 'deadLettering',
            actions: assign({ error: ({ event }) => `could not record the attempt: ${failureOf(event.error).reason}` }),
          },
          {
            target: 'backingOff',
            actions: assign({
              failure: ({ event }) => ({
                kind: 'unavailable' as const,
                reason: `could not record the attempt: ${failureOf(event.error).reason}`,
              }),
              error: ({ event }) => `could not record the attempt: ${failureOf(event.error).reason}`,
              unrecorded: true,
            }),
          },
        ],
      },
    },
    // The publish is bounded by the publish timeout: a SHUTDOWN waits for it like any other step.
    delaying: {
      invoke: {
        src: 'delay',
        input: ({ context }) => ({
          delivery: context.deliveries[0]!,
          failure: context.failure!,
          attempts: context.attempts,
          delayMs: context.delayMs!,
        }),
        onDone: { target: 'acking', actions: assign({ outcome: 'delayed' }) },
        // Not held by the broker: keep it, unacked, and retry it in process as before.
        onError: {
          target: 'backingOff',
          actions: assign({
            delayMs: undefined,
            error: ({ event }) => `delayed retry failed, retrying in process: ${failureOf(event.error).reason}`,
          }),
        },
      },
    },
    backingOff: {
      after: { retryDelay: [{ guard: 'retriesInProcess', target: 'retrying' }, { target: 'nacking' }] },
      on: { SHUTDOWN: { target: 'nacking' } },
    },
    retrying: {
      entry: ['retry', assign({ outcome: 'retried' })],
      always: { target: 'done' },
    },
    nacking: {
      entry: ['nack', assign({ outcome: 'retried' })],
      always: { target: 'done' },
    },
    splitting: {
      entry: ['split', assign({ outcome: 'split' })],
      always: { target: 'done' },
    },
    deadLettering: {
      invoke: {
        src: 'deadLetter',
        input: ({ context }) => ({
          delivery: context.deliveries[0]!,
          failure: context.failure!,
          attempts: context.attempts,
        }),
        onDone: { target: 'acking' },
        onError: {
          target: 'backingOff',
          actions: assign({ error: ({ event }) => `dead-lettering failed: ${failureOf(event.error).reason}` }),
        },
      },
    },
    done: { type: 'final' },
  },
  output: ({ context }) => ({
    outcome: context.outcome ?? 'retried',
    failure: context.failure,
    attempts: context.attempts,
    duplicates: context.duplicates.filter(Boolean).length,
    unrecorded: context.unrecorded,
  }),
});
