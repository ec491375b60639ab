/** The outbox rows both references keep, and the relay's claim of the ones left unsent. */
import type pg from 'pg';

export interface OutboxRow {
  readonly id: string;
  readonly queue: string;
  readonly body: string;
}

/** Claims up to 200 unsent rows that are due, leasing them for `leaseMs` so that no other sweep takes them. */
export async function claimDueRows(pool: pg.Pool, leaseMs: number): Promise<OutboxRow[]> {
  const { rows } = await pool.query<OutboxRow>(
    `UPDATE outbox SET next_attempt_at = now() + $1 * interval '1 millisecond', attempts = attempts + 1
     WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= now()
                  ORDER BY next_attempt_at LIMIT 200 FOR UPDATE SKIP LOCKED)
     RETURNING id, queue, body`,
    [leaseMs],
  );
  return rows;
}
