/**
 * The transaction of one batch of deliveries, BEGIN to COMMIT: the inbox rows (one statement for the
 * batch), the handler for the messages the inbox had not seen (`handleMany` in one go when the service has
 * it), the outbox rows (one statement). Any failure, its commit included, is a PersistFailure carrying the
 * transaction, for the delivery machine's `rollingBack`.
 */
import type { ControlledTransaction } from 'kysely';
import {
  clearAttempts,
  insertOutbox,
  recordInboxKeys,
  type MessagingDb,
  type OutgoingMessage,
} from '../../db/messaging-queries.js';
import type { MessagingTables } from '../../db/schema.js';
import type { Failpoints } from '../../failpoints.js';
import { PersistFailure, type Decoded, type Delivery, type Persisted } from '../../machines/delivery.js';
import { attemptsKeyOf } from '../../policies/dead-letter.js';
import type { ConsumerSpec, HandlerResult } from '../../service.js';

export interface BatchTransactionOptions {
  readonly db: MessagingDb;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly spec: ConsumerSpec<any, any>;
  readonly failpoints: Failpoints;
  readonly service: string;
  readonly leaseMs: number;
}

type Transaction = ControlledTransaction<MessagingTables>;

async function handleAll({ spec }: BatchTransactionOptions, transaction: Transaction, messages: readonly unknown[]) {
  if (messages.length > 1 && spec.handleMany) {
    const results = await spec.handleMany(transaction, messages);
    if (results.length !== messages.length) {
      throw new Error(`handleMany returned ${results.length} results for ${messages.length} messages`);
    }
    return results;
  }
  const results: HandlerResult[] = [];
  for (const message of messages) results.push(await spec.handle(transaction, message));
  return results;
}

export async function persistBatch(
  options: BatchTransactionOptions,
  deliveries: readonly Delivery[],
  decoded: readonly Decoded[],
): Promise<Persisted> {
  const { db, spec, failpoints, service, leaseMs } = options;
  const consumer = spec.queue;
  let transaction: Transaction | undefined;
  try {
    transaction = await db.startTransaction().execute();
    failpoints.hit(`${service}.persist`);
    const fresh = await recordInboxKeys(
      transaction,
      consumer,
      decoded.map(({ key }) => key),
    );
    const duplicates: boolean[] = [];
    const newMessages: unknown[] = [];
    for (const [index, { key, message }] of decoded.entries()) {
      // Taken from the set, so that a second delivery of the same message in this batch is a duplicate.
      const isNew = fresh.delete(key);
      duplicates.push(!isNew);
      if (!isNew) continue;
      newMessages.push(message);
      // Counted failures of this message (and of this replay of it) end with its commit.
      const { headers, redelivered } = deliveries[index]!;
      const attemptsKey = attemptsKeyOf(key, headers);
      if (redelivered || attemptsKey !== key) {
        await clearAttempts(transaction, consumer, key);
        if (attemptsKey !== key) await clearAttempts(transaction, consumer, attemptsKey);
      }
    }
    const handled = await handleAll(options, transaction, newMessages);
    const results: unknown[] = [];
    const outgoing: OutgoingMessage[] = [];
    let next = 0;
    for (const duplicate of duplicates) {
      const result = duplicate ? undefined : handled[next++];
      results.push(result?.result);
      if (result) outgoing.push(...result.outgoing);
    }
    await insertOutbox(transaction, outgoing, leaseMs);
    await transaction.commit().execute();
    return { duplicates, outgoing, results };
  } catch (error) {
    throw new PersistFailure(error, transaction);
  }
}
