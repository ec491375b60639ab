/**
 * The batched outbox: a batch's rows in one multi-row INSERT inside the caller's transaction; after the
 * commit every row published at once on the confirm channel, the confirms awaited together, and the
 * confirmed rows marked sent in one UPDATE. A periodic sweep republishes, in batches, whatever stayed unsent.
 */
import type pg from 'pg';
import { claimDueRows, type OutboxRow } from '../shared/outbox-rows.js';
import type { Publisher } from '../shared/publisher.js';

export class BatchOutbox {
  constructor(
    private readonly pool: pg.Pool,
    private readonly publisher: Publisher,
    private readonly leaseMs: number,
  ) {}

  async insertMany(client: pg.PoolClient, rows: readonly OutboxRow[]): Promise<void> {
    if (rows.length === 0) return;
    await client.query(
      `INSERT INTO outbox (id, queue, body, next_attempt_at)
       SELECT id, queue, body, now() + $4 * interval '1 millisecond' FROM unnest($1::uuid[], $2::text[], $3::text[]) AS r(id, queue, body)`,
      [rows.map((row) => row.id), rows.map((row) => row.queue), rows.map((row) => row.body), this.leaseMs],
    );
  }

  /** Publishes committed rows together; marks the confirmed ones sent and leaves the rest for the sweep. */
  async publishMany(rows: readonly OutboxRow[]): Promise<void> {
    if (rows.length === 0) return;
    const outcomes = await Promise.allSettled(rows.map((row) => this.publisher.publish(row.queue, row.id, row.body)));
    const sent = rows.filter((_, index) => outcomes[index]!.status === 'fulfilled').map((row) => row.id);
    const unsent = rows.filter((_, index) => outcomes[index]!.status === 'rejected').map((row) => row.id);
    if (sent.length > 0) {
      await this.pool.query('UPDATE outbox SET sent_at = now() WHERE id = ANY($1::uuid[])', [sent]).catch(() => {});
    }
    if (unsent.length > 0) {
      await this.pool
        .query(
          `UPDATE outbox SET next_attempt_at = now() + interval '500 milliseconds' WHERE id = ANY($1::uuid[]) AND sent_at IS NULL`,
          [unsent],
        )
        .catch(() => {});
    }
  }

  async sweep(): Promise<void> {
    if (!this.publisher.connected) return;
    const rows = await claimDueRows(this.pool, this.leaseMs);
    await this.publishMany(rows);
  }
}
