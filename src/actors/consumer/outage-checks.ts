/**
 * The outage breaker's I/O for one consumer: the write probe (`db/write-probe.ts`, on a connection of its
 * own), the wait for the dependencies while paused, and the attempts given back before consuming again.
 * What the results mean is decided by `policies/outage-breaker.ts`.
 */
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import { renewConnections } from '../../db/database.js';
import { giveBackAttempts, type MessagingDb } from '../../db/messaging-queries.js';
import { probeWrite } from '../../db/write-probe.js';
import { backoffMs } from '../../policies/backoff.js';
import { firstProbeDelayMs } from '../../policies/circuit-breaker.js';
import type { OutageBreaker } from '../../policies/outage-breaker.js';
import { setTimeout as delay } from 'node:timers/promises';

/** A paused consumer probes its dependencies again less and less often, at least every 5 s. */
const probeBackoff = { baseMs: 100, maxMs: 5_000 };
/** The write probe's statement timeout: a lock or a stalled disk fails the probe instead of hanging it. */
const probeTimeoutMs = 2_000;

export class OutageChecks {
  constructor(
    readonly breaker: OutageBreaker,
    private readonly db: MessagingDb,
    private readonly connection: AmqpConnectionManager,
    private readonly queue: string,
  ) {}

  /**
   * Whether the failures that tripped the window are an outage: the write probe, once. It passes: they are
   * the messages' own. It fails: the window's attempts are owed back, and the error opens the breaker.
   */
  async verify(): Promise<void> {
    try {
      await probeWrite(this.db, this.queue, probeTimeoutMs);
    } catch (error) {
      this.breaker.probeFailed();
      throw error;
    }
    this.breaker.probePassed(Date.now());
  }

  /**
   * Waits until the broker is connected and the database takes a write, then renews the pool: its sessions
   * opened during the outage may keep what it left them (read-only, say) for their whole life. Probes with a
   * growing delay, the first one later after every failed trial.
   */
  async waitForDependencies(signal: AbortSignal, openings: number): Promise<void> {
    for (let attempt = 1; !signal.aborted; attempt += 1) {
      const wait = attempt === 1 ? firstProbeDelayMs(openings) : backoffMs(probeBackoff, attempt);
      await delay(wait, undefined, { signal }).catch(() => {}); // aborted: the loop ends
      if (signal.aborted) return;
      if (!this.connection.isConnected()) continue;
      try {
        await probeWrite(this.db, this.queue, probeTimeoutMs);
        renewConnections(this.db);
        return;
      } catch {
        // still down: probe again
      }
    }
  }

  /** Gives back the attempts the outage counted; on failure they stay owed (the machine probes again). */
  async giveBackAttempts(): Promise<void> {
    const owed = this.breaker.takeOwed();
    if (owed.size === 0) return;
    try {
      await giveBackAttempts(this.db, this.queue, owed);
    } catch (error) {
      this.breaker.oweAgain(owed);
      throw error;
    }
  }
}
