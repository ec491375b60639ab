/**
 * Gauges read at scrape time: the broker link, each service's outbox backlog and table sizes, and the depth of the queues
 * (a passive checkQueue on a channel of its own, which never declares or alters a queue). Each probe is
 * bounded by a short timeout so that a scrape never hangs on a dependency that is down; a probe that
 * fails leaves its gauges NaN for that scrape and counts an error, and the scrape still answers.
 */
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Channel, ChannelModel, Replies } from 'amqplib';
import { sql } from 'kysely';
import { Gauge } from 'prom-client';
import type { MessagingDb } from '../db/messaging-queries.js';
import { readTableSizes } from '../db/retention-queries.js';
import { retentionTables } from '../machines/retention.js';
import { watchDurableInstances } from './durable-actor-probes.js';
import type { RuntimeMetrics } from './metrics.js';
import { withTimeout } from '../with-timeout.js';

export interface ScrapeProbeOptions {
  readonly connection: AmqpConnectionManager;
  /** The queues whose depth to report (this process's queues and their dead-letter queues). */
  readonly queues: readonly string[];
  readonly outboxes: readonly { readonly service: string; readonly db: MessagingDb }[];
  /** Bound on each probe; the database's statement timeout is half of it. */
  readonly timeoutMs?: number;
}

export interface OutboxBacklog {
  readonly unsent: number;
  /** 0 when nothing is unsent. */
  readonly oldestSeconds: number;
}

/** One read of the unsent rows (the partial index `outbox_unsent` covers them), bounded on the server too. */
export async function readOutboxBacklog(db: MessagingDb, statementTimeoutMs: number): Promise<OutboxBacklog> {
  return db.transaction().execute(async (transaction) => {
    await sql`SELECT set_config('statement_timeout', ${String(statementTimeoutMs)}, true)`.execute(transaction);
    const { rows } = await sql<{ unsent: number; oldest: number | null }>`
      SELECT count(*)::int AS unsent, extract(epoch FROM now() - min(created_at))::float8 AS oldest
      FROM outbox WHERE sent_at IS NULL`.execute(transaction);
    return { unsent: rows[0]?.unsent ?? 0, oldestSeconds: Math.max(0, rows[0]?.oldest ?? 0) };
  });
}

function closeQuietly(channel: Channel): void {
  try {
    channel.close().catch(() => {});
  } catch {
    // already closed
  }
}

async function openChannel(model: ChannelModel): Promise<Channel> {
  const channel = await model.createChannel();
  channel.on('error', () => {}); // a missing queue closes the channel with an error: that check fails, no more
  return channel;
}

/** Checks each queue passively, writing the answers into `seen` as they come. */
async function checkQueues(
  connection: AmqpConnectionManager,
  queues: readonly string[],
  seen: Map<string, Replies.AssertQueue>,
): Promise<void> {
  const model = connection.connection;
  if (!model || !connection.isConnected()) throw new Error('not connected to the broker');
  let channel: Channel | undefined;
  try {
    for (const queue of queues) {
      channel ??= await openChannel(model);
      try {
        seen.set(queue, await channel.checkQueue(queue));
      } catch {
        closeQuietly(channel);
        channel = undefined;
      }
    }
  } finally {
    if (channel) closeQuietly(channel);
  }
}

export function watchScrapeTimeValues(
  metrics: RuntimeMetrics,
  { connection, queues, outboxes, timeoutMs = 2_000 }: ScrapeProbeOptions,
): void {
  const registers = [metrics.registry];
  watchDurableInstances(metrics, outboxes, timeoutMs);
  new Gauge({
    name: 'ackstate_broker_connected',
    help: 'Whether the broker connection is up (1) or not (0).',
    registers,
    collect() {
      this.set(connection.isConnected() ? 1 : 0);
    },
  });

  const unsent = new Gauge({
    name: 'ackstate_outbox_backlog',
    help: 'Outbox messages committed but not yet confirmed by the broker, per service (NaN when the database did not answer).',
    labelNames: ['service'],
    registers,
  });
  const oldest = new Gauge({
    name: 'ackstate_outbox_oldest_unsent_age_seconds',
    help: 'Age of the oldest unsent outbox message, per service; 0 when none (NaN when the database did not answer).',
    labelNames: ['service'],
    registers,
  });
  for (const { service, db } of outboxes) {
    const probe = `outbox:${service}`;
    metrics.scrapeErrors.labels(probe).inc(0);
    metrics.addProbe(async () => {
      try {
        const backlog = await withTimeout(readOutboxBacklog(db, Math.ceil(timeoutMs / 2)), timeoutMs, 'outbox backlog');
        unsent.labels(service).set(backlog.unsent);
        oldest.labels(service).set(backlog.oldestSeconds);
      } catch {
        unsent.labels(service).set(Number.NaN);
        oldest.labels(service).set(Number.NaN);
        metrics.scrapeErrors.labels(probe).inc();
      }
    });
  }

  const tableRows = new Gauge({
    name: 'ackstate_table_rows',
    help: "Rows in the runtime's tables (inbox, outbox, delivery_attempts) per service, as PostgreSQL estimates them (pg_class.reltuples; a bounded count before the first analyze); NaN when the database did not answer.",
    labelNames: ['table', 'service'],
    registers,
  });
  const tableBytes = new Gauge({
    name: 'ackstate_table_bytes',
    help: "Size on disk of the runtime's tables with their indexes, per service (NaN when the database did not answer).",
    labelNames: ['table', 'service'],
    registers,
  });
  for (const { service, db } of outboxes) {
    const probe = `tables:${service}`;
    metrics.scrapeErrors.labels(probe).inc(0);
    metrics.addProbe(async () => {
      try {
        const sizes = await withTimeout(readTableSizes(db, Math.ceil(timeoutMs / 2)), timeoutMs, 'table sizes');
        for (const size of sizes) {
          tableRows.labels(size.table, service).set(size.rows);
          tableBytes.labels(size.table, service).set(size.bytes);
        }
      } catch {
        for (const table of retentionTables) {
          tableRows.labels(table, service).set(Number.NaN);
          tableBytes.labels(table, service).set(Number.NaN);
        }
        metrics.scrapeErrors.labels(probe).inc();
      }
    });
  }

  const messages = new Gauge({
    name: 'ackstate_queue_messages',
    help: 'Messages ready in the queue at scrape time, by a passive check (NaN when the broker did not answer).',
    labelNames: ['queue'],
    registers,
  });
  const consumers = new Gauge({
    name: 'ackstate_queue_consumers',
    help: 'Consumers of the queue at scrape time, all processes together (NaN when the broker did not answer).',
    labelNames: ['queue'],
    registers,
  });
  metrics.scrapeErrors.labels('queues').inc(0);
  metrics.addProbe(async () => {
    const seen = new Map<string, Replies.AssertQueue>();
    let failed = false;
    await withTimeout(checkQueues(connection, queues, seen), timeoutMs, 'queue check').catch(() => {
      failed = true;
    });
    for (const queue of queues) {
      const reply = seen.get(queue);
      messages.labels(queue).set(reply ? reply.messageCount : Number.NaN);
      consumers.labels(queue).set(reply ? reply.consumerCount : Number.NaN);
    }
    if (failed || seen.size < queues.length) metrics.scrapeErrors.labels('queues').inc();
  });
}
