/**
 * Moves committed outbox rows to the broker. Right after a commit the rows are published at once
 * (`publishNow`); the relay sweeps up whatever that did not confirm: after a crash, an outage, a returned
 * or timed-out publish. A row is marked sent only after its confirm, so a publish may repeat (at least
 * once); the receiver's inbox absorbs the repeat.
 */
import { fromPromise } from 'xstate';
import {
  claimDueOutbox,
  deferOutbox,
  markOutboxSent,
  type MessagingDb,
  type OutgoingMessage,
} from '../../db/messaging-queries.js';
import { idlePollDelay, outboxRelayMachine, type SweepResult } from '../../machines/outbox-relay.js';
import { describeError } from '../../policies/describe-error.js';
import { retryDelayMs } from '../../policies/backoff.js';
import type { ConfirmPublisher } from '../broker/publisher.js';
import type { Tracing } from '../../observability/tracing/tracing.js';

export interface OutboxOptions {
  readonly leaseMs: number;
  readonly batchSize?: number;
  /** Set when tracing is on: each publish is a span in the trace its row's headers carry. */
  readonly tracing?: Tracing;
  /**
   * Told when a publish right after a commit failed and its rows were deferred: only a sweep finds them
   * again, so the relay should be sweeping at its base rate, not at its idle back-off.
   */
  readonly whenDeferred?: () => void;
}

type Row = OutgoingMessage & { attempts?: number };

const relayRetry = { baseMs: 500, maxMs: 30_000 };
/** How long confirmed rows wait for others to share their UPDATE. */
const markSentWindowMs = 25;

export class Outbox {
  readonly #db: MessagingDb;
  readonly #publisher: ConfirmPublisher;
  readonly #leaseMs: number;
  readonly #batchSize: number;
  readonly #tracing: Tracing | undefined;
  readonly #whenDeferred: (() => void) | undefined;
  /** Confirmed ids waiting for this turn's one UPDATE, and that UPDATE's outcome. */
  #marking: { readonly ids: string[]; readonly done: Promise<void> } | undefined;

  constructor(
    db: MessagingDb,
    publisher: ConfirmPublisher,
    { leaseMs, batchSize = 200, tracing, whenDeferred }: OutboxOptions,
  ) {
    this.#db = db;
    this.#publisher = publisher;
    this.#leaseMs = leaseMs;
    this.#batchSize = batchSize;
    this.#tracing = tracing;
    this.#whenDeferred = whenDeferred;
  }

  get leaseMs(): number {
    return this.#leaseMs;
  }

  /** Publishes rows (`relayed`: claimed by the relay's sweep) and marks the confirmed ones sent; returns how many were confirmed. */
  async publish(rows: readonly Row[], relayed = false): Promise<number> {
    if (rows.length === 0) return 0;
    const outcomes = await Promise.allSettled(rows.map((row) => this.#publishRow(row, relayed)));
    const sent = rows.filter((_, index) => outcomes[index]!.status === 'fulfilled').map((row) => row.id);
    await this.#markSent(sent);
    const failed = rows.flatMap((row, index) => {
      const outcome = outcomes[index]!;
      return outcome.status === 'rejected' ? [{ row, reason: describeError(outcome.reason) }] : [];
    });
    if (failed.length > 0) {
      await Promise.all(
        failed.map(({ row, reason }) =>
          deferOutbox(this.#db, row.id, reason, retryDelayMs(relayRetry, row.attempts ?? 1)),
        ),
      );
      if (!relayed) this.#whenDeferred?.();
      if (sent.length === 0) throw new Error(`publish failed: ${failed[0]!.reason}`);
    }
    return sent.length;
  }

  #publishRow(row: Row, relayed: boolean): Promise<void> {
    const traced = this.#tracing?.publishing(row, relayed);
    const published = this.#publisher.publish({
      exchange: row.exchange,
      routingKey: row.routingKey,
      messageId: row.id,
      body: Buffer.from(row.body),
      ...(row.headers !== null && { headers: row.headers }),
    });
    if (traced === undefined) return published;
    return published.then(
      () => traced(),
      (error: unknown) => {
        traced(error);
        throw error;
      },
    );
  }

  /**
   * Marks confirmed rows sent. Every publish confirmed within `markSentWindowMs` of the first shares one
   * UPDATE instead of one each: one message at a time, confirms come one by one. The rows are leased for far
   * longer than that, so no relay takes them meanwhile; a crash before the UPDATE publishes them again (the
   * receiver's inbox absorbs it), as it always could between a confirm and its UPDATE.
   */
  #markSent(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    if (!this.#marking) {
      const batch: string[] = [];
      const done = new Promise<void>((resolve, reject) => {
        setTimeout(() => {
          this.#marking = undefined;
          markOutboxSent(this.#db, batch).then(resolve, reject);
        }, markSentWindowMs);
      });
      this.#marking = { ids: batch, done };
    }
    this.#marking.ids.push(...ids);
    return this.#marking.done;
  }

  /** Publishes rows just committed, without waiting; whatever fails stays for the relay. */
  publishNow(rows: readonly OutgoingMessage[]): void {
    this.publish(rows).catch(() => {});
  }

  async sweep(): Promise<SweepResult> {
    if (!this.#publisher.connected) return { claimed: 0, published: 0, more: false };
    const rows = await claimDueOutbox(this.#db, this.#batchSize, this.#leaseMs);
    const published = await this.publish(rows, true);
    return { claimed: rows.length, published, more: rows.length === this.#batchSize };
  }
}

/**
 * The relay of an outbox: it sweeps every `pollMs`, and while its sweeps claim nothing the wait doubles, up
 * to `maxPollMs` (see src/machines/outbox-relay.ts).
 */
export function outboxRelayLogic(outbox: Outbox, { pollMs, maxPollMs }: { pollMs: number; maxPollMs: number }) {
  return outboxRelayMachine.provide({
    actors: { sweep: fromPromise<SweepResult>(() => outbox.sweep()) },
    delays: { pollInterval: idlePollDelay({ baseMs: pollMs, maxMs: maxPollMs }) },
  });
}
