/**
 * Outbox rows in the caller's transaction, published on a confirm channel after the commit and marked
 * sent once confirmed; a periodic sweep republishes whatever stayed unsent (crash, outage, nack).
 */
import type pg from 'pg';
import { claimDueRows, type OutboxRow } from '../shared/outbox-rows.js';
import type { Publisher } from '../shared/publisher.js';

export class ReferenceOutbox {
  constructor(
    private readonly pool: pg.Pool,
    private readonly publisher: Publisher,
    private readonly leaseMs: number,
  ) {}

  async insert(client: pg.PoolClient, row: OutboxRow): Promise<void> {
    await client.query(
      `INSERT INTO outbox (id, queue, body, next_attempt_at) VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond')`,
      [row.id, row.queue, row.body, this.leaseMs],
    );
  }

  /** Publishes one committed row and marks it sent; a failure leaves it for the sweep. */
  async publish(row: OutboxRow): Promise<void> {
    try {
      await this.publisher.publish(row.queue, row.id, row.body);
    } catch {
      await this.pool
        .query(
          `UPDATE outbox SET next_attempt_at = now() + interval '500 milliseconds' WHERE id = $1 AND sent_at IS NULL`,
          [row.id],
        )
        .catch(() => {});
      return;
    }
    await this.pool.query('UPDATE outbox SET sent_at = now() WHERE id = $1', [row.id]).catch(() => {});
  }

  async sweep(): Promise<void> {
    if (!this.publisher.connected) return;
    const rows = await claimDueRows(this.pool, this.leaseMs);
    await Promise.all(rows.map((row) => this.publish(row)));
  }
}
