/**
 * What the user database says about a run. Both generators put the request's send time (scheduled time,
 * in the open loop) into the email, so latency comes from the database once the run is over:
 * end to end = the card row's `stored_at` (the start of the user service's storing transaction, to the
 * microsecond; an under-estimate by that transaction's own duration) minus that send time. Done-ness is
 * a poll of the row counts every `pollMs`.
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { summarize, type LatencySummary } from './stats.js';
import { sleep } from '../../test/support/wait.js';

export interface RowCounts {
  readonly users: number;
  readonly cards: number;
}

export interface MeasuredUsers {
  readonly users: number;
  readonly usersWithoutCard: number;
  readonly latencyMs: LatencySummary;
  /** From the first request sent to the last card stored. */
  readonly seconds: number;
}

const stallMs = 20_000;

export class UserDatabase {
  /** Queries made so far: each is a transaction the bench, not the pipeline, committed. */
  queries = 0;

  private constructor(private readonly client: pg.Client) {}

  static async open(url: string): Promise<UserDatabase> {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => {});
    await client.connect();
    return new UserDatabase(client);
  }

  /** The pid of this session's backend: the bench's, not the pipeline's, in the accounting. */
  async backendPid(): Promise<number> {
    this.queries += 1;
    const { rows } = await this.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    return rows[0]!.pid;
  }

  async counts(): Promise<RowCounts> {
    this.queries += 1;
    const { rows } = await this.client.query<{ users: string; cards: string }>(
      'SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM cards) AS cards',
    );
    return { users: Number(rows[0]!.users), cards: Number(rows[0]!.cards) };
  }

  /**
   * Polls until at least `users` users exist and every user has its card; then, after `onUsers` (which
   * stops the generator), until the counts have stayed equal over one more poll. Rejects after `timeoutMs`, or when the counts stop moving for 20 s.
   */
  async waitForCards(
    users: number,
    pollMs: number,
    timeoutMs: number,
    onUsers: () => Promise<void>,
  ): Promise<RowCounts> {
    const deadline = performance.now() + timeoutMs;
    let generatorStopped = false;
    let previous: RowCounts | undefined;
    let lastChange = { users: -1, cards: -1, at: performance.now() };
    for (;;) {
      const counts = await this.counts();
      if (!generatorStopped && counts.users >= users) {
        await onUsers();
        generatorStopped = true;
        previous = undefined;
        continue;
      }
      const settled = counts.cards === counts.users && counts.users >= users;
      if (generatorStopped && settled && previous?.users === counts.users) return counts;
      previous = settled ? counts : undefined;
      if (counts.users !== lastChange.users || counts.cards !== lastChange.cards)
        lastChange = { ...counts, at: performance.now() };
      const stalled = performance.now() - lastChange.at > stallMs;
      if (performance.now() > deadline || stalled)
        throw new Error(
          `${counts.users} of ${users} users, ${counts.users - counts.cards} without a card, ${stalled ? `nothing changed for ${stallMs} ms` : `after ${timeoutMs} ms`}`,
        );
      await sleep(pollMs);
    }
  }

  /** The users whose email starts with `label`: their latencies and the run's span. */
  async measured(label: string): Promise<MeasuredUsers> {
    this.queries += 1;
    const { rows } = await this.client.query<{ email: string; stored_us: string | null }>(
      `SELECT u.email, (extract(epoch FROM c.stored_at) * 1000000)::bigint::text AS stored_us
       FROM users u LEFT JOIN cards c ON c.user_id = u.id WHERE u.email LIKE $1`,
      [`${label}%`],
    );
    const latencies: number[] = [];
    let firstSent = Infinity;
    let lastStored = -Infinity;
    let withoutCard = 0;
    for (const row of rows) {
      const sentMicros = Number(/-(\d+)@/.exec(row.email)?.[1]);
      firstSent = Math.min(firstSent, sentMicros);
      if (row.stored_us === null) {
        withoutCard += 1;
        continue;
      }
      const storedMicros = Number(row.stored_us);
      lastStored = Math.max(lastStored, storedMicros);
      latencies.push((storedMicros - sentMicros) / 1000);
    }
    return {
      users: rows.length,
      usersWithoutCard: withoutCard,
      latencyMs: summarize(latencies),
      seconds: (lastStored - firstSent) / 1e6,
    };
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}
