/**
 * The outage breaker's window: recognises an outage by its effect, whatever its error code. It keeps the
 * results of a consumer's recent deliveries and trips when enough of them failed, for reasons that are
 * not poison, across enough different messages: one message that fails on its own never trips it (it is
 * counted and dead-lettered as before). A trip made mostly of timeouts is an outage (the database did
 * not answer in time, as behind a lock the write probe cannot see); any other trip is a suspicion that the
 * write probe settles: a database that takes the probe's write leaves the failures to the messages (a bug
 * in some of them), one that refuses it is down. The models are MassTransit's kill switch and Watermill's
 * circuit breaker, which keep a bug a bug.
 *
 * The window also remembers the attempts its failures recorded, so that the consumer can give them back
 * once the outage is over: an attempt that the outage caused is not the message's fault.
 */
import type { BackoffPolicy } from './backoff.js';
import { backoffMs } from './backoff.js';

export interface BreakerThresholds {
  /** How many recent delivery results are looked at. */
  readonly window: number;
  /** Failures in the window at least. */
  readonly minFailures: number;
  /** Different messages among those failures at least: fewer is the messages' problem, not an outage. */
  readonly minDistinctMessages: number;
  /** Share of the window's results that failed, at least (0 to 1). */
  readonly failureRate: number;
}

/** At least 5 failures of at least 3 different messages: half of the last 20 results, or the latest 5 in a row. */
export const defaultBreakerThresholds: BreakerThresholds = {
  window: 20,
  minFailures: 5,
  minDistinctMessages: 3,
  failureRate: 0.5,
};

/** One delivery's result, as the breaker sees it. Poison is neither: it is the message's own fault. */
export type DeliveryResult =
  | { readonly failed: false }
  | {
      readonly failed: true;
      /** The message's attempt key. */
      readonly key: string;
      /** Whether the failure counted an attempt (recorded in `delivery_attempts`). */
      readonly attemptRecorded: boolean;
      /** A statement or lock timeout: the database did not answer in time. */
      readonly timedOut: boolean;
    };

/** What a trip of the window means: `timeouts`, an outage; `failures`, an outage or a bug, for the probe to tell. */
export type Trip = 'timeouts' | 'failures';

type Failure = Extract<DeliveryResult, { failed: true }>;

const distinctMessages = (failures: readonly Failure[]) => new Set(failures.map((failure) => failure.key)).size;

/**
 * Whether a window of results trips the breaker (pure): at least `minFailures` failures of at least
 * `minDistinctMessages` messages, which are either `failureRate` of the window or the latest results with
 * no success among them. The second way trips as soon as an outage begins, however many successes came
 * before it, so that a message retried alone meanwhile does not spend its attempts before the trip.
 */
export function shouldTrip(results: readonly DeliveryResult[], thresholds: BreakerThresholds): boolean {
  const considered = results.slice(-thresholds.window);
  const failures = considered.filter((result): result is Failure => result.failed);
  if (failures.length < thresholds.minFailures) return false;
  if (distinctMessages(failures) < thresholds.minDistinctMessages) return false;
  if (failures.length >= thresholds.failureRate * considered.length) return true;
  const lastSuccess = considered.findLastIndex((result) => !result.failed);
  const streak = considered.slice(lastSuccess + 1) as Failure[];
  return streak.length >= thresholds.minFailures && distinctMessages(streak) >= thresholds.minDistinctMessages;
}

/** The attempts a list of results recorded, by attempt key: what to give back after an outage. */
export function recordedAttempts(results: readonly DeliveryResult[]): Map<string, number> {
  const owed = new Map<string, number>();
  for (const result of results) {
    if (result.failed && result.attemptRecorded) owed.set(result.key, (owed.get(result.key) ?? 0) + 1);
  }
  return owed;
}

/** How a window that trips is read: mostly timeouts (at least half of its failures) are an outage. */
export function tripOf(results: readonly DeliveryResult[]): Trip {
  const failures = results.filter((result): result is Failure => result.failed);
  const timeouts = failures.filter((failure) => failure.timedOut).length;
  return timeouts * 2 >= failures.length ? 'timeouts' : 'failures';
}

/** A consumer's recent results, oldest first, at most `thresholds.window` of them. */
export class FailureWindow {
  readonly #thresholds: BreakerThresholds;
  #results: DeliveryResult[] = [];

  constructor(thresholds: BreakerThresholds = defaultBreakerThresholds) {
    this.#thresholds = thresholds;
  }

  /** Adds a result; what the window now trips for, if it trips. */
  record(result: DeliveryResult): Trip | undefined {
    this.#results.push(result);
    if (this.#results.length > this.#thresholds.window) this.#results.shift();
    if (!result.failed || !shouldTrip(this.#results, this.#thresholds)) return undefined;
    return tripOf(this.#results);
  }

  /** Empties the window and returns the attempts its failures recorded, by attempt key. */
  take(): Map<string, number> {
    const owed = recordedAttempts(this.#results);
    this.#results = [];
    return owed;
  }

  clear(): void {
    this.#results = [];
  }
}

/**
 * After the write probe found the database healthy, failures are taken for the messages' own for this
 * long before the probe is asked again: a bug in every message would otherwise probe every few failures.
 */
export const healthyVerdictHoldMs = 5_000;

/**
 * The wait before the first probe of an opening: short the first time, then doubling with each opening
 * that followed a failed trial (1 s, 2 s, 4 s, … up to 30 s), so that an outage the probe cannot see (a
 * lock on the service's own tables) costs one trial per wait and not a loop.
 */
export const reopenBackoff: BackoffPolicy = { baseMs: 1_000, maxMs: 30_000 };

/** `openings` counts the openings since the consumer last consumed stably; 1 for the first one. */
export function firstProbeDelayMs(openings: number): number {
  return openings <= 1 ? 200 : backoffMs(reopenBackoff, openings - 2);
}
