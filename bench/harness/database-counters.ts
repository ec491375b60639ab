/**
 * The benchmark's own database counters: transactions committed and rolled back in the run's two
 * databases (pg_stat_database), so a pipeline making extra round trips or transactions shows it.
 * PostgreSQL flushes these counters about once a second, so they are read after the run has settled.
 */
import pg from 'pg';
import { postgresServer } from './environment.js';

export interface TransactionCounts {
  readonly commits: number;
  readonly rollbacks: number;
}

export async function transactionCounts(databaseUrls: readonly string[]): Promise<TransactionCounts> {
  const names = databaseUrls.map((url) => decodeURIComponent(new URL(url).pathname.slice(1)));
  const client = new pg.Client({ connectionString: `${postgresServer}/postgres` });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ commits: string; rollbacks: string }>(
      'SELECT coalesce(sum(xact_commit), 0) AS commits, coalesce(sum(xact_rollback), 0) AS rollbacks FROM pg_stat_database WHERE datname = ANY($1)',
      [names],
    );
    return { commits: Number(rows[0]?.commits ?? 0), rollbacks: Number(rows[0]?.rollbacks ?? 0) };
  } finally {
    await client.end().catch(() => {});
  }
}
