/**
 * Outbox rows in the caller's transaction, published on a confirm channel after the commit and marked
 * sent once confirmed; a periodic sweep republishes whatever stayed unsent (crash, outage, nack).
 */
import type pg from 'pg';
import type { Publisher } from '../shared/publisher.js';

export interface OutboxRow {
  readonly id: string;
  readonly queue: string;
  readonly body: string;
}

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
    const { rows } = await this.pool.query<OutboxRow>(
      `UPDATE outbox SET next_attempt_at = now() + $1 * interval '1 millisecond', attempts = attempts + 1
       WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= now()
                    ORDER BY next_attempt_at LIMIT 200 FOR UPDATE SKIP LOCKED)
       RETURNING id, queue, body`,
      [this.leaseMs],
    );
    await Promise.all(rows.map((row) => this.publish(row)));
  }
}
