/**
 * The messages of a batch whose handler failed while the others went on: their effects are undone (they
 * touched nothing, or their savepoint was rolled back), and before the commit their inbox rows are taken
 * back and an attempt of each is counted, so that each is set aside with its failure already recorded.
 */
import { setAsideMessages, type AttemptRecord, type MessagingDb } from '../../db/messaging-queries.js';
import type { Decoded, Delivery } from '../../machines/delivery.js';
import { classifyError } from '../../policies/classify-error.js';
import { attemptsKeyOf } from '../../policies/dead-letter.js';
import { boundedReason, maxAttemptReasons } from '../../policies/delayed-retry.js';

/** A delivery left out of its batch's commit: why, and the attempt counted for it in that commit. */
export interface SetAsideDelivery {
  readonly index: number;
  readonly error: unknown;
  readonly attempts: number;
  readonly recorded: AttemptRecord;
}

/**
 * A failure that belongs to the message its handler ran for: a bug, or a message the service cannot take.
 * An outage's error (unavailable, or a timeout) is the whole batch's.
 */
export function isMessagesOwn(error: unknown): boolean {
  const failure = classifyError(error);
  return failure.kind !== 'unavailable' && failure.timedOut !== true;
}

export class FailedInBatch {
  /** The first error of each failed message, by its key. */
  readonly #errors = new Map<string, unknown>();

  get size(): number {
    return this.#errors.size;
  }

  add(key: string, error: unknown): void {
    if (!this.#errors.has(key)) this.#errors.set(key, error);
  }

  has(key: string): boolean {
    return this.#errors.has(key);
  }

  /**
   * In the batch's transaction: takes back the failed messages' inbox rows and counts an attempt of each.
   * Returns every delivery of a failed message (a repeat of one in the batch too), in the batch's order.
   */
  async record(
    transaction: MessagingDb,
    consumer: string,
    deliveries: readonly Delivery[],
    decoded: readonly Decoded[],
  ): Promise<SetAsideDelivery[]> {
    if (this.#errors.size === 0) return [];
    const attemptsKeys = new Map<string, string>();
    const reasons = new Map<string, string>();
    for (const [key, error] of this.#errors) {
      const index = decoded.findIndex((each) => each.key === key);
      const attemptsKey = attemptsKeyOf(key, deliveries[index]!.headers);
      attemptsKeys.set(key, attemptsKey);
      if (!reasons.has(attemptsKey)) reasons.set(attemptsKey, boundedReason(classifyError(error).reason));
    }
    const inboxKeys = [...this.#errors.keys()];
    const counted = await setAsideMessages(transaction, consumer, inboxKeys, reasons, maxAttemptReasons);
    const recorded = new Map([...attemptsKeys].map(([key, attemptsKey]) => [key, counted.get(attemptsKey)]));
    return decoded.flatMap(({ key }, index) => {
      const record = recorded.get(key);
      if (record === undefined) return [];
      return [{ index, error: this.#errors.get(key), attempts: record.attempts, recorded: record }];
    });
  }
}
