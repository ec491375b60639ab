/**
 * The outage breaker's write probe: whether the database takes a write now, as the next delivery would
 * meet it. `SELECT 1` passes on a read-only database, with writes locked or with the disk full, so the
 * probe inserts into the attempts table, in a transaction that is never committed.
 */
import type { Kysely } from 'kysely';
import { connectAlone } from './database.js';

// The session's own timeouts where they are shorter than the probe's: a statement timeout that every
// write hits must fail the probe as it fails the deliveries.
const boundTimeouts =
  "SELECT set_config(name, least(coalesce(nullif(setting::bigint, 0), $1::bigint), $1::bigint)::text, true) FROM pg_settings WHERE name IN ('statement_timeout', 'lock_timeout')";
const insertProbeRow =
  "INSERT INTO delivery_attempts (consumer, message_key, attempts, last_error) VALUES ($1, 'ackstate:probe', 0, 'probe') ON CONFLICT DO NOTHING";

/**
 * Throws unless `db`'s database takes a write within `timeoutMs`, on a connection of its own (not one of
 * the pool's, which may have been opened during the outage), under statement and lock timeouts of at
 * most `timeoutMs`. The connection is ended after, which rolls the insert back.
 *
 * @example
 * ```ts
 * await probeWrite(db, 'user_queue', 2_000); // rejects with the database's error while it refuses writes
 * ```
 */
export async function probeWrite<DB>(db: Kysely<DB>, consumer: string, timeoutMs: number): Promise<void> {
  const ms = Math.max(1, Math.round(timeoutMs));
  const client = await connectAlone(db, ms);
  try {
    await client.query('BEGIN');
    await client.query(boundTimeouts, [ms]);
    await client.query(insertProbeRow, [consumer]);
  } finally {
    await client.end().catch(() => {});
  }
}
