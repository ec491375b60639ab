/**
 * One queue's consumer: subscribes, consumes, pauses while a dependency is down, and restarts its
 * subscription with a growing delay when the channel is lost. Repeated restarts are marked `escalated`,
 * which the log shows at error level, so a consumer never stops silently.
 *
 * The outage breaker is the consumer's own states. `consuming` is the breaker closed; `DEPENDENCY_DOWN`
 * opens it, for an error known as an outage, for a failure rate (`policies/circuit-breaker.ts`), or for
 * an attempt that could not be recorded. Open, it pauses and probes (`paused`: the database takes a
 * write, the broker is connected), gives back the attempts the outage counted (`restoring`), and lets a
 * single trial delivery through (`halfOpen`, prefetch 1). The trial's success closes it (`closing`
 * widens the prefetch again); its failure opens it again, and each opening after a failed trial waits
 * longer before its first probe. While the breaker is not closed, no failure but poison is counted.
 *
 *   subscribing ─> consuming ─> pausing ─> paused ─> restoring ─> resuming ─> halfOpen ─> closing ─> consuming
 *        ▲             │ channel lost                   ▲                        │ trial failed
 *        └─ restarting ◄┘                               └────── pausing ◄────────┘
 *                                                STOP (from any state) ─> draining ─> stopped
 */
import { assign, fromPromise, setup } from 'xstate';
import { describeError as describe } from '../policies/describe-error.js';
import { backoffMs, restartBackoff } from '../policies/backoff.js';

/** Why the breaker opens: a known outage error, the failure rate, an unrecordable attempt, a failed trial. */
export const breakerTrips = ['unavailable', 'failure-rate', 'unrecordable', 'trial-failed'] as const;

/** Why the breaker opened: one of `breakerTrips`. */
export type BreakerTrip = (typeof breakerTrips)[number];

export interface ConsumerContext {
  readonly queue: string;
  readonly escalateAfter: number;
  restarts: number;
  escalated: boolean;
  error: string | undefined;
  /** Why the breaker last opened; undefined while it is closed. */
  trippedBy: BreakerTrip | undefined;
  /** Openings since the consumer last consumed stably: each one after a failed trial waits longer. */
  openings: number;
  /** Epoch ms at which the current opening of the breaker began (kept through reopenings); undefined while closed. */
  pausedSince: number | undefined;
}

export interface ConsumerInput {
  readonly queue: string;
  readonly escalateAfter?: number;
}

export type ConsumerEvent =
  | { type: 'CHANNEL_LOST'; reason: string }
  | { type: 'DEPENDENCY_DOWN'; reason: string; cause?: BreakerTrip }
  | { type: 'TRIAL_PASSED' }
  | { type: 'STOP' };

const notProvided = (name: string) => () => {
  throw new Error(`consumer machine: "${name}" was not provided`);
};

export const consumerMachine = setup({
  types: {
    context: {} as ConsumerContext,
    input: {} as ConsumerInput,
    events: {} as ConsumerEvent,
  },
  actors: {
    subscribe: fromPromise<void, { queue: string }>(notProvided('subscribe')),
    pause: fromPromise<void, { queue: string }>(notProvided('pause')),
    waitForDependency: fromPromise<void, { queue: string; openings: number }>(notProvided('waitForDependency')),
    giveBackAttempts: fromPromise<void, { queue: string }>(notProvided('giveBackAttempts')),
    resume: fromPromise<void, { queue: string }>(notProvided('resume')),
    widen: fromPromise<void, { queue: string }>(notProvided('widen')),
    drain: fromPromise<void, { queue: string }>(notProvided('drain')),
  },
  delays: {
    restartDelay: ({ context }) => backoffMs(restartBackoff, context.restarts),
    stableAfter: 30_000,
  },
}).createMachine({
  id: 'consumer',
  context: ({ input }) => ({
    queue: input.queue,
    escalateAfter: input.escalateAfter ?? 5,
    restarts: 0,
    escalated: false,
    error: undefined,
    trippedBy: undefined,
    openings: 0,
    pausedSince: undefined,
  }),
  initial: 'subscribing',
  on: { STOP: { target: '.draining' } },
  states: {
    subscribing: {
      invoke: {
        src: 'subscribe',
        input: ({ context }) => ({ queue: context.queue }),
        onDone: { target: 'consuming', actions: assign({ error: undefined }) },
        onError: { target: 'restarting', actions: assign({ error: ({ event }) => describe(event.error) }) },
      },
    },
    consuming: {
      entry: assign({ trippedBy: undefined, pausedSince: undefined }),
      on: {
        CHANNEL_LOST: { target: 'restarting', actions: assign({ error: ({ event }) => event.reason }) },
        DEPENDENCY_DOWN: {
          target: 'pausing',
          actions: assign({
            error: ({ event }) => event.reason,
            trippedBy: ({ event }) => event.cause ?? 'unavailable',
            openings: ({ context }) => context.openings + 1,
            pausedSince: () => Date.now(),
          }),
        },
      },
      after: { stableAfter: { actions: assign({ restarts: 0, escalated: false, openings: 0 }) } },
    },
    pausing: {
      invoke: {
        src: 'pause',
        input: ({ context }) => ({ queue: context.queue }),
        onDone: { target: 'paused' },
        onError: { target: 'restarting', actions: assign({ error: ({ event }) => describe(event.error) }) },
      },
      on: { CHANNEL_LOST: { target: 'restarting', actions: assign({ error: ({ event }) => event.reason }) } },
    },
    paused: {
      invoke: {
        src: 'waitForDependency',
        input: ({ context }) => ({ queue: context.queue, openings: context.openings }),
        onDone: { target: 'restoring', actions: assign({ error: undefined }) },
        onError: { target: 'restarting', actions: assign({ error: ({ event }) => describe(event.error) }) },
      },
      on: { CHANNEL_LOST: { target: 'restarting', actions: assign({ error: ({ event }) => event.reason }) } },
    },
    // The attempts the outage counted are given back before any message is taken again.
    restoring: {
      invoke: {
        src: 'giveBackAttempts',
        input: ({ context }) => ({ queue: context.queue }),
        onDone: { target: 'resuming' },
        onError: { target: 'paused', actions: assign({ error: ({ event }) => describe(event.error) }) },
      },
      on: { CHANNEL_LOST: { target: 'restarting', actions: assign({ error: ({ event }) => event.reason }) } },
    },
    resuming: {
      invoke: {
        src: 'resume',
        input: ({ context }) => ({ queue: context.queue }),
        onDone: { target: 'halfOpen' },
        onError: { target: 'restarting', actions: assign({ error: ({ event }) => describe(event.error) }) },
      },
      on: { CHANNEL_LOST: { target: 'restarting', actions: assign({ error: ({ event }) => event.reason }) } },
    },
    halfOpen: {
      on: {
        TRIAL_PASSED: { target: 'closing' },
        DEPENDENCY_DOWN: {
          target: 'pausing',
          actions: assign({
            error: ({ event }) => event.reason,
            trippedBy: 'trial-failed',
            openings: ({ context }) => context.openings + 1,
          }),
        },
        CHANNEL_LOST: { target: 'restarting', actions: assign({ error: ({ event }) => event.reason }) },
      },
    },
    closing: {
      invoke: {
        src: 'widen',
        input: ({ context }) => ({ queue: context.queue }),
        onDone: { target: 'consuming' },
        onError: { target: 'restarting', actions: assign({ error: ({ event }) => describe(event.error) }) },
      },
      on: { CHANNEL_LOST: { target: 'restarting', actions: assign({ error: ({ event }) => event.reason }) } },
    },
    restarting: {
      entry: assign({
        pausedSince: undefined,
        restarts: ({ context }) => context.restarts + 1,
        escalated: ({ context }) => context.restarts + 1 >= context.escalateAfter,
      }),
      after: { restartDelay: { target: 'subscribing' } },
    },
    draining: {
      on: { STOP: {} },
      invoke: {
        src: 'drain',
        input: ({ context }) => ({ queue: context.queue }),
        onDone: { target: 'stopped' },
        onError: { target: 'stopped', actions: assign({ error: ({ event }) => describe(event.error) }) },
      },
    },
    stopped: { type: 'final' },
  },
});
