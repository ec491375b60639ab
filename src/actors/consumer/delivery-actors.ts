/**
 * The delivery machine (`machines/delivery.ts`) provided with a consumer's I/O: the batch's transaction,
 * the attempt records, the delayed-retry and dead-letter publishes, the outbox publish, and the hand-back
 * to its subscription for acks, nacks and the batches a split or a set-aside starts.
 */
import { assign, fromPromise } from 'xstate';
import { recordAttempt, type AttemptRecord, type OutgoingMessage } from '../../db/messaging-queries.js';
import type { MessagingTables } from '../../db/schema.js';
import type { OpenTransaction } from '../../db/transactions.js';
import {
  deliveryMachine,
  failedByItsHandler,
  persistStep,
  publishStep,
  type Delivery,
  type FailedInBatch,
  type HandOnInput,
} from '../../machines/delivery.js';
import { retryDelayMs } from '../../policies/backoff.js';
import type { ClassifiedFailure } from '../../policies/classify-error.js';
import { attemptsKeyOf } from '../../policies/dead-letter.js';
import { attemptReasonsOf, boundedReason, maxAttemptReasons, withReason } from '../../policies/delayed-retry.js';
import { persistBatch } from './batch-transaction.js';
import type { ConsumerOptions } from './consumer-options.js';
import { decodeBatch } from './decode.js';
import { deadLetterOf, delayedRetryOf } from './failure-messages.js';
import type { Settlement } from './settlement.js';

/** What the delivery machines of one subscription are given by it. */
export interface DeliveryHost {
  readonly settlement: Settlement;
  /** Starts a delivery machine; `failedInBatch`: one delivery set aside from its batch, and why. */
  run(deliveries: readonly Delivery[], failedInBatch?: FailedInBatch): void;
  /** Hands a delivery, still unacked, back to the batches for its next attempt (after its handler threw). */
  retry(delivery: Delivery): void;
  /** The same after `delayMs`: for a delivery set aside from its batch, which has no machine of its own to wait. */
  retryAfter(delivery: Delivery, delayMs: number): void;
  /** Gives back the batch's place once its transaction has ended. */
  release(deliveries: readonly Delivery[]): void;
  readonly stopping: boolean;
  /** True while the consumer's outage breaker is closed. */
  breakerClosed(): boolean;
}

type RecordInput = { key: string; failure: ClassifiedFailure; delivery: Delivery };
type DelayInput = { delivery: Delivery; failure: ClassifiedFailure; attempts: number; delayMs: number };
type DeadLetterInput = { delivery: Delivery; failure: ClassifiedFailure; attempts: number };

/** The reasons of each delivery's counted attempts, as recorded with its latest one, for its next hop. */
class AttemptBook {
  readonly #reasons = new WeakMap<Delivery, readonly string[]>();

  recorded(delivery: Delivery, record: AttemptRecord): number {
    this.#reasons.set(delivery, record.reasons);
    return record.attempts;
  }

  /** Every counted attempt's reason: as recorded, or (when recording failed) as carried, with this one. */
  reasonsOf(delivery: Delivery, failure: ClassifiedFailure): string[] {
    const recorded = this.#reasons.get(delivery);
    return recorded ? [...recorded] : withReason(attemptReasonsOf(delivery.headers), failure.reason);
  }
}

export function provideDeliveryActors(options: ConsumerOptions, host: DeliveryHost) {
  const { consumer: definition, db, publisher, outbox, failpoints, service, destinations, tracing } = options;
  const { messageMaxBytes, retry } = options.settings;
  const consumer = definition.queue;
  const batchTransaction = {
    db,
    consumer: definition,
    destinations,
    failpoints,
    service,
    leaseMs: outbox.leaseMs,
    tracing,
  };
  const book = new AttemptBook();
  const owner = { service, consumer: definition.name };
  // Started after the step that hands them on, as roots of their own; when stopping, the closing channel returns them.
  const later = (start: () => void) =>
    queueMicrotask(() => {
      if (!host.stopping) start();
    });
  return deliveryMachine.provide({
    actors: {
      rollback: fromPromise<void, { transaction: unknown }>(async ({ input }) => {
        await (input.transaction as OpenTransaction<MessagingTables> | undefined)?.rollback();
      }),
      recordFailure: fromPromise<number, RecordInput>(async ({ input: { key, failure, delivery } }) => {
        const attemptsKey = attemptsKeyOf(key, delivery.headers);
        const reason = boundedReason(failure.reason);
        return book.recorded(delivery, await recordAttempt(db, consumer, attemptsKey, reason, maxAttemptReasons));
      }),
      handOn: fromPromise<readonly number[], HandOnInput>(async ({ input: { deliveries, setAside } }) => {
        const publishes = setAside.map(({ index, failure, attempts, delayMs }) => {
          const delivery = deliveries[index]!;
          const reasons = book.reasonsOf(delivery, failure);
          return publisher.publish(
            delayMs === undefined
              ? deadLetterOf(delivery, owner, failure, attempts, reasons)
              : delayedRetryOf(delivery, delayMs, reasons),
          );
        });
        const settled = await Promise.allSettled(publishes);
        return setAside.filter((_, at) => settled[at]!.status === 'fulfilled').map(({ index }) => index);
      }),
      delay: fromPromise<void, DelayInput>(async ({ input: { delivery, failure, delayMs } }) => {
        await publisher.publish(delayedRetryOf(delivery, delayMs, book.reasonsOf(delivery, failure)));
      }),
      deadLetter: fromPromise<void, DeadLetterInput>(async ({ input: { delivery, failure, attempts } }) => {
        await publisher.publish(deadLetterOf(delivery, owner, failure, attempts, book.reasonsOf(delivery, failure)));
      }),
    },
    actions: {
      // A delivery set aside from its batch comes decoded.
      decode: assign(({ context }) =>
        context.failedInBatch
          ? { decoded: context.decoded }
          : decodeBatch(context.deliveries, definition, messageMaxBytes),
      ),
      persist: persistStep(async ({ deliveries, decoded }) => {
        try {
          const persisted = await persistBatch(batchTransaction, deliveries, decoded);
          for (const { index, recorded } of persisted.setAside) book.recorded(deliveries[index]!, recorded);
          return persisted;
        } finally {
          host.release(deliveries);
        }
      }),
      publish: publishStep(async ({ outgoing }) => {
        await outbox.publish(outgoing as readonly OutgoingMessage[]);
      }),
      ack: ({ context: { deliveries, setAside } }) => {
        const setAsideAt = (index: number) => setAside.some((each) => each.index === index);
        host.settlement.ack(setAside.length === 0 ? deliveries : deliveries.filter((_, index) => !setAsideAt(index)));
      },
      setAside: ({ context: { deliveries, setAside } }) => {
        if (setAside.length === 0) return;
        later(() => {
          for (const { index, attempts, next } of setAside) {
            if (next === 'retry') host.retryAfter(deliveries[index]!, retryDelayMs(retry, attempts));
          }
        });
      },
      settleHandedOn: ({ context: { deliveries, decoded, setAside } }) => {
        const handedOn = setAside.filter((each) => each.handedOn === true);
        if (handedOn.length > 0) host.settlement.ack(handedOn.map(({ index }) => deliveries[index]!));
        const notHanded = setAside.filter((each) => each.handedOn === false);
        if (notHanded.length === 0) return;
        later(() => {
          for (const { index, failure, attempts } of notHanded) {
            host.run([deliveries[index]!], { failure, attempts, decoded: decoded[index]! });
          }
        });
      },
      nack: ({ context }) => host.settlement.nack(context.deliveries, failedByItsHandler(context)),
      retry: ({ context }) => {
        for (const delivery of context.deliveries) host.retry(delivery);
      },
      split: ({ context: { deliveries, culprit } }) =>
        later(() => {
          if (culprit === undefined) {
            for (const delivery of deliveries) host.run([delivery]);
            return;
          }
          host.run([deliveries[culprit]!]);
          host.run(deliveries.filter((_, index) => index !== culprit));
        }),
    },
    guards: {
      outageSuspected: () => !host.breakerClosed(),
      retriesInProcess: ({ context }) => failedByItsHandler(context) && host.breakerClosed() && !host.stopping,
    },
    delays: {
      retryDelay: ({ context }) => retryDelayMs(retry, Math.max(1, context.attempts)),
    },
  });
}
