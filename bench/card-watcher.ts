/**
 * Notices when each user's card is stored by the user service: every `intervalMs` one batched query over
 * the pending ids, `SELECT user_id, stored_at FROM cards WHERE user_id = ANY($1)`. Two latencies per user:
 * - observed: from the request's start to the poll that saw the committed card (resolution: the poll
 *   interval plus the query's own time; an over-estimate by at most that);
 * - stored: from the request's start to the card row's `stored_at` (the user service transaction's start,
 *   PostgreSQL's clock on this same machine; an under-estimate by the time that transaction took).
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';

export interface Completion {
  readonly observedMs: number;
  readonly storedMs: number;
}

interface Pending {
  readonly startedAt: number; // performance.now()
  readonly startedWallMs: number;
}

export class CardWatcher {
  readonly #client: pg.Client;
  readonly #intervalMs: number;
  readonly #pending = new Map<string, Pending>();
  readonly completions: Completion[] = [];
  #lastCompletionAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #waiters: (() => void)[] = [];
  polls = 0;
  pollMs = 0;
  pollErrors = 0;

  private constructor(client: pg.Client, intervalMs: number) {
    this.#client = client;
    this.#intervalMs = intervalMs;
  }

  static async open(userDbUrl: string, intervalMs: number): Promise<CardWatcher> {
    const client = new pg.Client({ connectionString: userDbUrl });
    client.on('error', () => {});
    await client.connect();
    const watcher = new CardWatcher(client, intervalMs);
    watcher.#running = true;
    watcher.#schedule(0);
    return watcher;
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** performance.now() of the poll that saw the last card. */
  get lastCompletionAt(): number {
    return this.#lastCompletionAt;
  }

  /** Starts watching a user whose request started at `startedAt` (performance.now()). */
  watch(userId: string, startedAt: number): void {
    this.#pending.set(userId, { startedAt, startedWallMs: performance.timeOrigin + startedAt });
  }

  /** Forgets what was measured so far (after a warm-up). */
  reset(): void {
    this.completions.length = 0;
    this.polls = 0;
    this.pollMs = 0;
  }

  /** Resolves when no watched user is pending; rejects after `timeoutMs`. */
  async drained(timeoutMs: number): Promise<void> {
    if (this.#pending.size === 0) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.#pending.size} users still without a stored card after ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    await this.#client.end().catch(() => {});
  }

  #schedule(delayMs: number): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => void this.#poll(), delayMs);
  }

  async #poll(): Promise<void> {
    const began = performance.now();
    if (this.#pending.size > 0) {
      try {
        const { rows } = await this.#client.query<{ user_id: string; stored_at: Date }>(
          'SELECT user_id, stored_at FROM cards WHERE user_id = ANY($1::uuid[])',
          [[...this.#pending.keys()]],
        );
        const seenAt = performance.now();
        for (const row of rows) {
          const pending = this.#pending.get(row.user_id);
          if (!pending) continue;
          this.#pending.delete(row.user_id);
          this.completions.push({
            observedMs: seenAt - pending.startedAt,
            storedMs: row.stored_at.getTime() - pending.startedWallMs,
          });
          this.#lastCompletionAt = seenAt;
        }
      } catch {
        // PostgreSQL restarting under us: a pg.Client does not reconnect, so the run fails at its
        // deadline and main.ts runs it again.
        this.pollErrors += 1;
      }
      this.polls += 1;
      this.pollMs += performance.now() - began;
      if (this.#pending.size === 0) this.#waiters.splice(0).forEach((wake) => wake());
    }
    this.#schedule(Math.max(0, this.#intervalMs - (performance.now() - began)));
  }
}
