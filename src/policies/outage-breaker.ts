/**
 * The outage breaker's bookkeeping for one consumer, as a pure object: what each finished delivery tells
 * the breaker, given the breaker's state, and what the consumer machine must be told of it. The window
 * (`circuit-breaker.ts`) decides while closed, the trial (`half-open-trial.ts`) while half-open; the
 * attempts that an outage's failures counted are owed back, to be given back before consuming again.
 * `src/actors/consumer/` runs the probe and the queries; this file decides.
 */
import type { ClassifiedFailure } from './classify-error.js';
import { FailureWindow, healthyVerdictHoldMs } from './circuit-breaker.js';
import { HalfOpenTrial, type TrialResult } from './half-open-trial.js';

/** Why the breaker opens: a known outage error, a failure rate, an unrecordable attempt, a failed trial. */
export const breakerTrips = ['unavailable', 'failure-rate', 'unrecordable', 'trial-failed'] as const;

/** Why the breaker opened (one of `breakerTrips`). */
export type BreakerTrip = (typeof breakerTrips)[number];

/** What a finished delivery (of one message, or a batch that committed) tells the breaker. */
export interface FinishedDelivery {
  /** Unset: it succeeded, for `successes` messages. */
  readonly failure: ClassifiedFailure | undefined;
  readonly successes: number;
  /** The failed message's attempt key (unset when it has none, as for a batch). */
  readonly key: string | undefined;
  /** The attempts counted for the message, this failure's included. */
  readonly attempts: number;
  /** The failure's attempt could not be recorded. */
  readonly unrecorded: boolean;
}

/** Where the breaker is: the consumer machine's state, as far as the breaker cares. */
export type BreakerPosition = 'closed' | 'halfOpen' | 'open';

/** What the consumer machine is told; nothing when the delivery changes nothing. */
export type BreakerSignal =
  | {
      readonly type: 'DEPENDENCY_DOWN';
      readonly reason: string;
      readonly cause: BreakerTrip;
    }
  | { readonly type: 'FAILURES_SUSPECTED'; readonly reason: string }
  | { readonly type: 'TRIAL_PASSED' };

export class OutageBreaker {
  readonly #window = new FailureWindow();
  /** Attempts counted by failures that the outage caused, by attempt key. */
  readonly #owed = new Map<string, number>();
  #trial = new HalfOpenTrial();
  /** Until then, a window tripped by failures other than timeouts is left to the messages (the probe passed). */
  #healthyUntil = 0;

  /**
   * A finished delivery's result. A known outage opens the breaker. Closed: the result enters the window,
   * which may trip it. Half-open: the trial closes or re-opens it. Open: an attempt it counted is owed back.
   */
  observe(delivery: FinishedDelivery, position: BreakerPosition, now: number): BreakerSignal | undefined {
    const { failure, key } = delivery;
    if (failure === undefined) return this.#succeeded(delivery.successes, position);
    if (failure.kind === 'poison') return undefined;
    const attemptRecorded = delivery.attempts > 0 && key !== undefined;
    const outage = failure.kind === 'unavailable';
    if (position !== 'closed' || outage) {
      if (attemptRecorded) this.#owe(key, 1);
      if (position === 'halfOpen' && key !== undefined) {
        const cause = outage ? 'outage' : failure.timedOut === true ? 'timeout' : 'other';
        return this.#judgeTrial({ failed: true, key, cause }, failure.reason);
      }
      if (!outage) return undefined;
      return {
        type: 'DEPENDENCY_DOWN',
        reason: failure.reason,
        cause: delivery.unrecorded ? 'unrecordable' : 'unavailable',
      };
    }
    if (key === undefined) return undefined;
    const trip = this.#window.record({ failed: true, key, attemptRecorded, timedOut: failure.timedOut === true });
    const reason = `most recent deliveries failed, of several messages, the last with: ${failure.reason}`;
    if (trip === 'timeouts') {
      this.#oweWindow();
      return { type: 'DEPENDENCY_DOWN', reason, cause: 'failure-rate' };
    }
    if (trip === 'failures' && now >= this.#healthyUntil) return { type: 'FAILURES_SUSPECTED', reason };
    return undefined;
  }

  /** The write probe passed after a suspicion: the failures are the messages' own for a while. */
  probePassed(now: number): void {
    this.#window.clear();
    this.#healthyUntil = now + healthyVerdictHoldMs;
  }

  /** The write probe failed after a suspicion: the window's attempts were the outage's. */
  probeFailed(): void {
    this.#oweWindow();
  }

  /** A half-open period begins: a new trial. */
  startTrial(): void {
    this.#trial = new HalfOpenTrial();
  }

  /** Takes the attempts owed back, by attempt key; `oweAgain` puts them back if giving back failed. */
  takeOwed(): Map<string, number> {
    const owed = new Map(this.#owed);
    this.#owed.clear();
    return owed;
  }

  oweAgain(owed: ReadonlyMap<string, number>): void {
    for (const [key, count] of owed) this.#owe(key, count);
  }

  #succeeded(successes: number, position: BreakerPosition): BreakerSignal | undefined {
    if (position === 'halfOpen') return this.#judgeTrial({ failed: false }, '');
    if (position === 'closed')
      for (let index = 0; index < successes; index += 1) this.#window.record({ failed: false });
    return undefined;
  }

  #judgeTrial(result: TrialResult, reason: string): BreakerSignal | undefined {
    const verdict = this.#trial.record(result);
    if (verdict === 'passed') {
      this.#window.clear();
      return { type: 'TRIAL_PASSED' };
    }
    return verdict === 'failed' ? { type: 'DEPENDENCY_DOWN', reason, cause: 'trial-failed' } : undefined;
  }

  #oweWindow(): void {
    for (const [key, count] of this.#window.take()) this.#owe(key, count);
  }

  #owe(key: string, count: number): void {
    this.#owed.set(key, (this.#owed.get(key) ?? 0) + count);
  }
}
