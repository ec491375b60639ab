/**
 * What a service's HTTP routes are given: its database, transactions whose published messages become
 * outbox rows of the same transaction (sent once it has committed), and group commit over such transactions.
 */
import type { Kysely, Transaction } from 'kysely';
import type { BatchOptions, ServiceContext } from '../api/service.js';
import type { ResolvedConsumerSettings } from '../api/settings.js';
import { GroupCommit } from '../db/group-commit.js';
import { insertOutbox, messagingTablesOf } from '../db/messaging-queries.js';
import { transact } from '../db/transactions.js';
import { classifyError } from '../policies/classify-error.js';
import type { Outbox } from '../actors/outbox/outbox-relay.js';
import { OutgoingMessages, type DeclaredDestinations } from '../actors/outbox/outgoing.js';
import type { TraceScope, Tracing } from '../observability/tracing/tracing.js';

export interface ServiceContextOptions {
  readonly db: Kysely<unknown>;
  readonly outbox: Outbox;
  readonly destinations: DeclaredDestinations;
  /** Batch sizes of group commit when the route names none: the runtime's consumer defaults. */
  readonly defaults: Pick<ResolvedConsumerSettings, 'maxBatch' | 'batchConcurrency'>;
  /** The service's name, for its transactions' spans. */
  readonly service: string;
  /** Set when tracing is on: a transaction continues the trace of the request (or requests) it commits. */
  readonly tracing?: Tracing;
}

/** An item of group commit, with the trace scope of the request that submitted it. */
interface Submitted<Item> {
  readonly item: Item;
  readonly scope: TraceScope | undefined;
}

export function createServiceContext({
  db,
  outbox,
  destinations,
  defaults,
  service,
  tracing,
}: ServiceContextOptions): ServiceContext<unknown> {
  /** Runs `work` and writes what it published to the outbox, in one transaction; publishes after the commit. */
  async function committed<T>(
    work: (trx: Transaction<unknown>, out: OutgoingMessages) => Promise<T>,
    scopes: readonly (TraceScope | undefined)[],
  ): Promise<T> {
    const trace = tracing?.routeTransaction(service, scopes);
    const out = new OutgoingMessages(destinations, trace);
    const inTransaction = () =>
      transact(db, async (trx) => {
        const value = await work(trx, out);
        await insertOutbox(messagingTablesOf(trx), out.messages, outbox.leaseMs);
        return value;
      });
    let result: T;
    try {
      result = await (trace ? trace.run(inTransaction) : inTransaction());
    } catch (error) {
      trace?.end(error);
      throw error;
    }
    trace?.end();
    outbox.publishNow(out.messages);
    return result;
  }

  return {
    db,
    transaction: (work) => committed(work, [tracing?.current()]),
    batch<Item, Result>(
      work: (trx: Transaction<unknown>, items: readonly Item[], out: OutgoingMessages) => Promise<readonly Result[]>,
      options: BatchOptions = {},
    ) {
      const commits = new GroupCommit<Submitted<Item>, Result>(
        (submitted) =>
          committed(
            (trx, out) =>
              work(
                trx,
                submitted.map((each) => each.item),
                out,
              ),
            submitted.map((each) => each.scope),
          ),
        {
          maxBatch: options.maxBatch ?? defaults.maxBatch,
          concurrency: options.concurrency ?? defaults.batchConcurrency,
          // An outage fails every item of the batch alike: no point trying each again alone.
          split: (error) => classifyError(error).kind !== 'unavailable',
        },
      );
      return (item: Item) => commits.submit({ item, scope: tracing?.current() });
    },
  };
}
