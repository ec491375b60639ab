/**
 * A consumer's pause as the outside sees it (`/readyz`, `ackstate_consumer_paused_seconds`): which of the
 * consumer machine's states count as paused, since when its breaker has been open and why. Read from the
 * machine's snapshot (its state and context); this is not a machine of its own.
 */
import { redact } from '../redact.js';
import { breakerOpen, consumerMachine, type BreakerTrip, type ConsumerContext } from './consumer.js';

/** The consumer states in which its outage breaker is open or half-open (tagged `breakerOpen`): it is paused. */
export const pausedStates: ReadonlySet<string> = new Set(
  Object.entries(consumerMachine.config.states ?? {})
    .filter(([, state]) => [state.tags ?? []].flat().includes(breakerOpen))
    .map(([name]) => name),
);

/** What each breaker trip means, in the words `/readyz` uses. */
const tripMeanings: Readonly<Record<BreakerTrip, string>> = {
  unavailable: 'an error known as an outage',
  'failure-rate': 'most recent deliveries of several messages failed',
  unrecordable: 'an attempt could not be recorded',
  'trial-failed': 'the half-open trial failed',
};

/** The parts of a consumer's context a pause is read from. */
export type PauseContext = Partial<Pick<ConsumerContext, 'pausedSince' | 'trippedBy' | 'error'>>;

/** A paused consumer: the state it is in, since when its breaker has been open (epoch ms), and why. */
export interface ConsumerPause {
  readonly state: string;
  readonly since: number | undefined;
  readonly trippedBy: BreakerTrip | undefined;
  readonly error: string | undefined;
}

/** The consumer's pause, or undefined when `state` is not one of `pausedStates`. */
export function pauseOf(state: string, context: PauseContext): ConsumerPause | undefined {
  if (!pausedStates.has(state)) return undefined;
  const { pausedSince, trippedBy, error } = context;
  return {
    state,
    since: typeof pausedSince === 'number' ? pausedSince : undefined,
    trippedBy,
    error: typeof error === 'string' ? error : undefined,
  };
}

/** Seconds the consumer has been paused at `now` (epoch ms); 0 when it is not paused. */
export function pausedSeconds(state: string, context: PauseContext, now: number): number {
  const since = pauseOf(state, context)?.since;
  return since === undefined ? 0 : Math.max(0, (now - since) / 1_000);
}

/** Why the breaker opened, as text: `failure-rate: most recent deliveries failed; <the error>`. */
function reasonOf({ trippedBy, error }: ConsumerPause): string {
  const trip = trippedBy === undefined ? undefined : `${trippedBy}: ${tripMeanings[trippedBy]}`;
  return [trip, error === undefined ? undefined : redact(error)].filter((part) => part !== undefined).join('; ');
}

/**
 * A paused consumer's readiness check, led by its state: `paused since 2026-12-07T12:00:00.000Z
 * (failure-rate: most recent deliveries failed; <the error>)`, or `halfOpen, paused since …` in the other
 * paused states.
 */
export function describePause(pause: ConsumerPause): string {
  const since = pause.since === undefined ? 'paused' : `paused since ${new Date(pause.since).toISOString()}`;
  const reason = reasonOf(pause);
  const head = pause.state === 'paused' ? since : `${pause.state}, ${since}`;
  return reason === '' ? head : `${head} (${reason})`;
}
