/**
 * The half-open breaker's trial: after a pause whose probe passed, a few deliveries (`trialMessages`)
 * decide whether the outage is over. The trial is not decided by one message that failed before, such as
 * the queue's head, just nacked back, failing for a reason of its own:
 *
 * - a success, or a failure that is neither an outage nor a timeout (the database answered; the message
 *   failed by itself), passes it: the breaker closes and the message is counted as usual afterwards;
 * - a known outage error (or an attempt that could not be recorded) fails it at once, whichever message;
 * - timeouts fail it once `trialMessages` different messages timed out, or once one message times out
 *   again while no other is left to try: what a lock on the service's tables looks like.
 */

/** How many deliveries a trial takes at once: the prefetch while half-open. */
export const trialMessages = 2;

/** One trial delivery's result. */
export type TrialResult =
  | { readonly failed: false }
  | { readonly failed: true; readonly key: string; readonly cause: 'outage' | 'timeout' | 'other' };

export type TrialVerdict = 'passed' | 'failed' | 'undecided';

/** The results of one trial (one half-open period). */
export class HalfOpenTrial {
  readonly #timedOut = new Set<string>();

  /** Adds a result; the trial's verdict so far. */
  record(result: TrialResult): TrialVerdict {
    if (!result.failed || result.cause === 'other') return 'passed';
    if (result.cause === 'outage') return 'failed';
    if (this.#timedOut.has(result.key)) return 'failed';
    this.#timedOut.add(result.key);
    return this.#timedOut.size >= trialMessages ? 'failed' : 'undecided';
  }
}
