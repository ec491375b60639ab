/**
 * The transaction of one batch of deliveries, BEGIN to COMMIT: the inbox rows (one statement for the
 * batch), the handler for the messages the inbox had not seen (`handleMany` in one go when the service has
 * it), the outbox rows (one statement). Any failure, its commit included, is a PersistFailure carrying the
 * transaction, for the delivery machine's `rollingBack`.
 */
import type { Transaction } from 'kysely';
import type { Consumer, DeliveryInfo } from '../../api/consumer.js';
import { returnedFromDelay } from '../../policies/delayed-retry.js';
import {
  clearAttempts,
  insertOutbox,
  recordInboxKeys,
  type MessagingDb,
  type OutgoingMessage,
} from '../../db/messaging-queries.js';
import type { MessagingTables } from '../../db/schema.js';
import { openTransaction, type OpenTransaction } from '../../db/transactions.js';
import type { Failpoints } from '../../failpoints.js';
import { PersistFailure, type Decoded, type Delivery, type Persisted } from '../../machines/delivery.js';
import { attemptsKeyOf } from '../../policies/dead-letter.js';
import { OutgoingMessages, type DeclaredDestinations } from '../outbox/outgoing.js';
import type { Tracing } from '../../observability/tracing/tracing.js';

export interface BatchTransactionOptions {
  readonly db: MessagingDb;
  readonly consumer: Consumer<unknown>;
  readonly destinations: DeclaredDestinations;
  readonly failpoints: Failpoints;
  readonly service: string;
  readonly leaseMs: number;
  /** Traced: the messages the handler publishes continue the delivery's trace, and its spans are children of it. */
  readonly tracing?: Tracing;
}

type BatchTransaction = OpenTransaction<MessagingTables>;

function infoOf(delivery: Delivery): DeliveryInfo {
  return {
    messageId: delivery.messageId,
    exchange: delivery.exchange ?? '',
    routingKey: delivery.routingKey ?? delivery.queue,
    headers: delivery.headers,
    redelivered: delivery.redelivered,
  };
}

interface FreshMessage {
  readonly message: unknown;
  readonly delivery: Delivery;
  /** Its index in the batch. */
  readonly index: number;
}

/** A handler of one message threw: the batch's failure is that message's. */
class HandlerFailure {
  constructor(
    readonly error: unknown,
    readonly index: number,
  ) {}
}

async function handleAll(
  { consumer }: BatchTransactionOptions,
  transaction: Transaction<unknown>,
  fresh: readonly FreshMessage[],
  out: OutgoingMessages,
): Promise<readonly unknown[]> {
  const messages = fresh.map((each) => each.message);
  if (messages.length > 1 && consumer.handleMany) {
    const results = await consumer.handleMany(
      transaction,
      messages,
      out,
      fresh.map((each) => infoOf(each.delivery)),
    );
    if (!Array.isArray(results) || results.length !== messages.length) {
      throw new Error(
        `handleMany returned ${Array.isArray(results) ? results.length : 'no'} results for ${messages.length} messages`,
      );
    }
    return results;
  }
  const results: unknown[] = [];
  for (const { message, delivery, index } of fresh) {
    try {
      results.push(await consumer.handle(transaction, message, out, infoOf(delivery)));
    } catch (error) {
      throw fresh.length > 1 ? new HandlerFailure(error, index) : error;
    }
  }
  return results;
}

export async function persistBatch(
  options: BatchTransactionOptions,
  deliveries: readonly Delivery[],
  decoded: readonly Decoded[],
): Promise<Persisted> {
  const { db, failpoints, service, leaseMs } = options;
  const consumer = options.consumer.queue;
  let open: BatchTransaction | undefined;
  try {
    open = await openTransaction(db);
    const transaction = open.trx;
    failpoints.hit(`${service}.persist`);
    const fresh = await recordInboxKeys(
      transaction,
      consumer,
      decoded.map(({ key }) => key),
    );
    const duplicates: boolean[] = [];
    const newMessages: FreshMessage[] = [];
    for (const [index, { key, message }] of decoded.entries()) {
      // Taken from the set, so that a second delivery of the same message in this batch is a duplicate.
      const isNew = fresh.delete(key);
      duplicates.push(!isNew);
      if (!isNew) continue;
      // Counted failures of this message (and of this replay of it) end with its commit.
      const delivery = deliveries[index]!;
      newMessages.push({ message, delivery, index });
      const { headers, redelivered } = delivery;
      const attemptsKey = attemptsKeyOf(key, headers);
      if (redelivered || returnedFromDelay(headers) || attemptsKey !== key) {
        await clearAttempts(transaction, consumer, key);
        if (attemptsKey !== key) await clearAttempts(transaction, consumer, attemptsKey);
      }
    }
    const trace = options.tracing?.deliveryTransaction(deliveries);
    const out = new OutgoingMessages(options.destinations, trace);
    // The service's code knows its own tables: the transaction is handed over with its type erased.
    const handle = () => handleAll(options, transaction as unknown as Transaction<unknown>, newMessages, out);
    const handled = await (trace ? trace.run(handle) : handle());
    const results: unknown[] = [];
    let next = 0;
    for (const duplicate of duplicates) results.push(duplicate ? undefined : handled[next++]);
    const outgoing: readonly OutgoingMessage[] = out.messages;
    await insertOutbox(transaction, outgoing, leaseMs);
    await open.commit();
    return { duplicates, outgoing, results };
  } catch (error) {
    if (error instanceof HandlerFailure) throw new PersistFailure(error.error, open, error.index);
    throw new PersistFailure(error, open);
  }
}
