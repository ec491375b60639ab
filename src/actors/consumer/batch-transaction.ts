/**
 * The transaction of one batch of deliveries, BEGIN to COMMIT: the inbox rows (one statement for the
 * batch), the handler for the messages the inbox had not seen (`handleMany` in one go when the service has
 * it), the outbox rows (one statement). Any failure, its commit included, is a PersistFailure carrying the
 * transaction, for the delivery machine's `rollingBack`; but a message whose handler throws a failure of
 * its own is set aside (`failed-in-batch.ts`) and the others commit without it.
 */
import { sql, type Transaction } from 'kysely';
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
import { openTransaction, type OpenTransaction, type TransactionLease } from '../../db/transactions.js';
import type { Failpoints } from '../../failpoints.js';
import { PersistFailure, type Decoded, type Delivery, type Persisted } from '../../machines/delivery.js';
import { attemptsKeyOf } from '../../policies/dead-letter.js';
import { OutgoingMessages, type DeclaredDestinations } from '../outbox/outgoing.js';
import type { TransactionTrace, Tracing } from '../../observability/tracing/tracing.js';
import { FailedInBatch, isMessagesOwn, type SetAsideDelivery } from './failed-in-batch.js';

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
  readonly key: string;
}

/** What `persistBatch` commits: a delivery set aside carries the attempt counted for it in the commit. */
export interface BatchPersisted extends Persisted {
  readonly setAside: readonly SetAsideDelivery[];
}

/** A handler of one message threw after running statements: the batch's transaction fails with it. */
class HandlerFailure {
  constructor(
    readonly error: unknown,
    readonly index: number,
  ) {}
}

/** Counted failures of this message (and of this replay of it) end with its commit. */
async function clearCountedAttempts(transaction: MessagingDb, consumer: string, fresh: FreshMessage) {
  const { key, delivery } = fresh;
  const { headers, redelivered } = delivery;
  const attemptsKey = attemptsKeyOf(key, headers);
  if (redelivered || returnedFromDelay(headers) || attemptsKey !== key) {
    await clearAttempts(transaction, consumer, key);
    if (attemptsKey !== key) await clearAttempts(transaction, consumer, attemptsKey);
  }
}

/** A handler that failed and was left out of its batch, and its share of the transaction. */
interface LeftOut {
  readonly lease: TransactionLease<MessagingTables>;
  readonly failure: HandlerFailure;
}

/** One batch's transaction and what its handlers have done in it so far. */
interface Pass {
  readonly options: BatchTransactionOptions;
  readonly open: BatchTransaction;
  readonly deliveries: readonly Delivery[];
  readonly out: OutgoingMessages;
  readonly failed: FailedInBatch;
  readonly trace: TransactionTrace | undefined;
  readonly leftOut: LeftOut[];
}

function handleOne({ options, out }: Pass, fresh: FreshMessage, trx: Transaction<MessagingTables>): Promise<unknown> {
  // The service's code knows its own tables: the transaction is handed over with its type erased.
  const erased = trx as unknown as Transaction<unknown>;
  return options.consumer.handle(erased, fresh.message, out, infoOf(fresh.delivery));
}

/**
 * Runs the handlers one by one, each on a lease of the transaction that counts its statements as they
 * start. A handler that throws a failure of its own message without having started a statement is left out
 * and the others go on; any other throw fails the pass.
 */
async function handleInTurn(pass: Pass, fresh: readonly FreshMessage[]): Promise<unknown[]> {
  const { open, out, failed } = pass;
  const results: unknown[] = [];
  for (const each of fresh) {
    const lease = open.lease();
    const mark = out.mark();
    try {
      results.push(await handleOne(pass, each, lease.trx));
      await clearCountedAttempts(lease.trx, pass.options.consumer.queue, each);
    } catch (error) {
      if (pass.deliveries.length === 1) throw error;
      if (!isMessagesOwn(error) || lease.statements > 0) throw new HandlerFailure(error, each.index);
      lease.disown();
      pass.leftOut.push({ lease, failure: new HandlerFailure(error, each.index) });
      out.discardSince(mark);
      failed.add(each.key, error);
      results.push(undefined);
    }
  }
  return results;
}

/**
 * A handler left out of the batch that started a statement after all (one it did not await): it changed the
 * transaction, so the batch must not commit as it is.
 */
function failIfLeftOutWrote(pass: Pass): void {
  const wrote = pass.leftOut.find(({ lease }) => lease.late);
  if (wrote !== undefined) throw wrote.failure;
}

async function handleAll(pass: Pass, fresh: readonly FreshMessage[]): Promise<readonly unknown[]> {
  const { consumer } = pass.options;
  if (fresh.length <= 1 || !consumer.handleMany) return handleInTurn(pass, fresh);
  for (const each of fresh) await clearCountedAttempts(pass.open.trx, consumer.queue, each);
  const results = await consumer.handleMany(
    pass.open.trx as unknown as Transaction<unknown>,
    fresh.map((each) => each.message),
    pass.out,
    fresh.map((each) => infoOf(each.delivery)),
  );
  if (!Array.isArray(results) || results.length !== fresh.length) {
    throw new Error(
      `handleMany returned ${Array.isArray(results) ? results.length : 'no'} results for ${fresh.length} messages`,
    );
  }
  return results;
}

/**
 * The messages the inbox had not seen, in the batch's order, and which deliveries are duplicates; the
 * inbox rows of the new ones are written (one statement).
 */
async function recordFresh(
  transaction: MessagingDb,
  consumer: string,
  deliveries: readonly Delivery[],
  decoded: readonly Decoded[],
) {
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
    if (isNew) newMessages.push({ message, index, key, delivery: deliveries[index]! });
  }
  return { duplicates, newMessages };
}

/**
 * Ends a pass that handled every message it kept: the failed ones set aside with their attempts counted,
 * the outbox rows written, COMMIT.
 */
async function commitPass(
  pass: Pass,
  decoded: readonly Decoded[],
  duplicates: readonly boolean[],
  handled: readonly unknown[],
): Promise<BatchPersisted> {
  const { options, open, deliveries, out, failed } = pass;
  const setAside = await failed.record(open.trx, options.consumer.queue, deliveries, decoded);
  const outgoing: readonly OutgoingMessage[] = out.messages;
  await insertOutbox(open.trx, outgoing, options.leaseMs);
  failIfLeftOutWrote(pass);
  await open.commit();
  const results: unknown[] = [];
  let next = 0;
  for (const duplicate of duplicates) results.push(duplicate ? undefined : handled[next++]);
  if (failed.size === 0) return { duplicates, outgoing, results, setAside };
  for (const { index } of setAside) results[index] = undefined;
  return {
    // A repeat, in this batch, of a message that failed here is set aside with it, not taken for a duplicate.
    duplicates: duplicates.map((duplicate, index) => duplicate && !failed.has(decoded[index]!.key)),
    outgoing,
    results,
    setAside,
  };
}

async function beginPass(options: BatchTransactionOptions, deliveries: readonly Delivery[]): Promise<Pass> {
  const open = await openTransaction(options.db);
  const trace = options.tracing?.deliveryTransaction(deliveries);
  const out = new OutgoingMessages(options.destinations, trace);
  return { options, open, deliveries, out, failed: new FailedInBatch(), trace, leftOut: [] };
}

/** The batch in one transaction, the common case: a handler that throws after running statements fails it. */
async function persistTogether(
  options: BatchTransactionOptions,
  deliveries: readonly Delivery[],
  decoded: readonly Decoded[],
): Promise<BatchPersisted> {
  let pass: Pass | undefined;
  try {
    pass = await beginPass(options, deliveries);
    const started = pass;
    options.failpoints.hit(`${options.service}.persist`);
    const { duplicates, newMessages } = await recordFresh(pass.open.trx, options.consumer.queue, deliveries, decoded);
    const handle = () => handleAll(started, newMessages);
    const handled = await (pass.trace ? pass.trace.run(handle) : handle());
    return await commitPass(pass, decoded, duplicates, handled);
  } catch (error) {
    if (error instanceof HandlerFailure) throw new PersistFailure(error.error, pass?.open, error.index);
    throw new PersistFailure(error, pass?.open);
  }
}

/**
 * The batch again after the handler of `culprit` threw having run statements, without it: the handlers
 * before it (which passed) run as before, each after it within a savepoint (not released: the next one
 * stacks on it). One that throws a failure of its own message is rolled back to its savepoint and set aside
 * (with any repeat of it in the batch); the others commit together. An outage's error fails the pass.
 */
async function persistIsolated(
  options: BatchTransactionOptions,
  deliveries: readonly Delivery[],
  decoded: readonly Decoded[],
  culprit: HandlerFailure,
): Promise<BatchPersisted> {
  let pass: Pass | undefined;
  try {
    pass = await beginPass(options, deliveries);
    const { open, failed } = pass;
    const { duplicates, newMessages } = await recordFresh(open.trx, options.consumer.queue, deliveries, decoded);
    failed.add(decoded[culprit.index]!.key, culprit.error);
    const started = pass;
    const handle = () => handleApart(started, newMessages, culprit.index);
    const handled = await (pass.trace ? pass.trace.run(handle) : handle());
    return await commitPass(pass, decoded, duplicates, handled);
  } catch (error) {
    throw new PersistFailure(error instanceof HandlerFailure ? error.error : error, pass?.open);
  }
}

/** `persistIsolated`'s handlers: those before the culprit as they ran, each after it within a savepoint. */
async function handleApart(pass: Pass, newMessages: readonly FreshMessage[], culprit: number): Promise<unknown[]> {
  const { open, out, failed } = pass;
  const handled: unknown[] = [];
  for (const each of newMessages) {
    if (failed.has(each.key)) {
      handled.push(undefined);
      continue;
    }
    if (each.index < culprit) {
      handled.push(await handleInTurn(pass, [each]).then(([result]) => result));
      continue;
    }
    const mark = out.mark();
    await sql`SAVEPOINT handler`.execute(open.trx);
    try {
      handled.push(await handleInTurn(pass, [each]).then(([result]) => result));
    } catch (thrown) {
      const error = thrown instanceof HandlerFailure ? thrown.error : thrown;
      if (!isMessagesOwn(error)) throw error;
      await sql`ROLLBACK TO SAVEPOINT handler`.execute(open.trx);
      out.discardSince(mark);
      failed.add(each.key, error);
      handled.push(undefined);
    }
  }
  return handled;
}

/**
 * The batch's transaction. A handler that throws a failure of its own message before running a statement
 * is set aside and the others go on in the same transaction. One that throws after running statements fails
 * the transaction; the batch then runs again at once without it (`persistIsolated`), so that the other
 * messages commit in this delivery instead of waiting for the failing ones to be found one transaction at a
 * time.
 */
export async function persistBatch(
  options: BatchTransactionOptions,
  deliveries: readonly Delivery[],
  decoded: readonly Decoded[],
): Promise<BatchPersisted> {
  try {
    return await persistTogether(options, deliveries, decoded);
  } catch (error) {
    const failure = error as PersistFailure;
    if (failure.culprit === undefined || options.consumer.handleMany || !isMessagesOwn(failure.cause)) throw error;
    const transaction = failure.transaction as BatchTransaction | undefined;
    try {
      await transaction?.rollback();
    } catch (rollbackError) {
      throw new PersistFailure(rollbackError, undefined);
    }
    return persistIsolated(options, deliveries, decoded, new HandlerFailure(failure.cause, failure.culprit));
  }
}
