/**
 * One queue's consumer: subscribes, consumes, pauses while a dependency is down, and restarts its
 * subscription with a growing delay when the channel is lost. Repeated restarts are marked `escalated`,
 * which the log shows at error level, so a consumer never stops silently.
 *
 * The outage breaker is the consumer's own states. `consuming` is the breaker closed; `DEPENDENCY_DOWN`
 * opens it, for an error known as an outage, for a failure rate made of timeouts, or for an attempt that
 * could not be recorded. A failure rate of other errors (`policies/circuit-breaker.ts`) is only a
 * suspicion: `verifying` runs the write probe once on a fresh connection while messages keep flowing. If
 * the probe fails it is an outage and the breaker opens; if it passes the failures are the messages' own
 * (a bug in some of them), and they go on being counted, retried and dead-lettered.
 * Open, it pauses and probes (`paused`: the database takes a write, the broker is connected), gives back
 * the attempts the outage counted (`restoring`), and lets a few trial deliveries through (`halfOpen`,
 * a small prefetch). A trial's success closes it (`closing` widens the prefetch again); the trial's
 * failure opens it again, and each opening after a failed trial waits longer before its first probe.
 * While the breaker is open, no failure but poison is counted.
 *
 *   subscribing ─> consuming ─> pausing ─> paused ─> restoring ─> resuming ─> halfOpen ─> closing ─> consuming
 *        ▲          │   ▲  │ channel lost                ▲                        │ trial failed
 *        │          │   │  └──────────────┐             └────── pausing ◄────────┘
 *        │          ▼   │ the messages'   │
 *        │        verifying ─> pausing    │
 *        └─ restarting ◄──────────────────┘
 *                                                STOP (from any state) ─> draining ─> stopped
 */
import { assign, fromPromise, setup } from 'xstate';
import { describeError as describe } from '../policies/describe-error.js';
import { backoffMs, restartBackoff } from '../policies/backoff.js';
import { breakerTrips, type BreakerTrip } from '../policies/outage-breaker.js';
import { machineIds } from './names.js';

export { breakerTrips, type BreakerTrip };

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
  /** When the breaker's current opening began (epoch ms); undefined while it is closed. */
  pausedSince: number | undefined;
}

export interface ConsumerInput {
  readonly queue: string;
  readonly escalateAfter?: number;
}

export type ConsumerEvent =
  | { type: 'CHANNEL_LOST'; reason: string }
  | { type: 'DEPENDENCY_DOWN'; reason: string; cause?: BreakerTrip }
  /** Recent deliveries of several messages failed, not by timeouts: the write probe tells an outage from a bug. */
  | { type: 'FAILURES_SUSPECTED'; reason: string }
  | { type: 'TRIAL_PASSED' }
  | { type: 'STOP' };

const notProvided = (name: string) => () => {
  throw new Error(`consumer machine: "${name}" was not provided`);
};

/**
 * The tag of the states in which the breaker is open (half-open and closing included): the consumer is
 * paused, or takes only trial deliveries, and no failure but poison is counted.
 */
export const breakerOpen = 'breakerOpen';

/** Every state but `subscribing`, `restarting` and `draining` goes on to `restarting` when its channel is lost. */
const onChannelLost = {
  CHANNEL_LOST: { target: 'restarting', actions: 'recordChannelLoss' },
} as const;

/** A known outage (or the cause the event names) opens the breaker, from `consuming` or `verifying`. */
const openForOutage = {
  target: 'pausing',
  actions: {
    type: 'open',
    params: ({ event }: { event: ConsumerEvent }) => {
      const down = event as Extract<ConsumerEvent, { type: 'DEPENDENCY_DOWN' }>;
      return { trip: down.cause ?? 'unavailable', reason: down.reason };
    },
  },
} as const;

export const consumerMachine = setup({
  types: {
    context: {} as ConsumerContext,
    input: {} as ConsumerInput,
    events: {} as ConsumerEvent,
    tags: {} as typeof breakerOpen,
  },
  actors: {
    subscribe: fromPromise<void, { queue: string }>(notProvided('subscribe')),
    /** Resolves when the dependencies are healthy (the failures were the messages' own), rejects otherwise. */
    verifyDependencies: fromPromise<void, { queue: string }>(notProvided('verifyDependencies')),
    pause: fromPromise<void, { queue: string }>(notProvided('pause')),
    waitForDependency: fromPromise<void, { queue: string; openings: number }>(notProvided('waitForDependency')),
    giveBackAttempts: fromPromise<void, { queue: string }>(notProvided('giveBackAttempts')),
    resume: fromPromise<void, { queue: string }>(notProvided('resume')),
    widen: fromPromise<void, { queue: string }>(notProvided('widen')),
    drain: fromPromise<void, { queue: string }>(notProvided('drain')),
  },
  actions: {
    recordChannelLoss: assign({
      error: ({ event }) => (event as Extract<ConsumerEvent, { type: 'CHANNEL_LOST' }>).reason,
    }),
    recordError: assign({ error: (_, params: { error: unknown }) => describe(params.error) }),
    /** The breaker opens: why, and since when (an opening after a failed trial keeps the first one's time). */
    open: assign({
      trippedBy: (_, params: { trip: BreakerTrip; reason: string }) => params.trip,
      error: (_, params: { trip: BreakerTrip; reason: string }) => params.reason,
      openings: ({ context }) => context.openings + 1,
      pausedSince: ({ context }) => context.pausedSince ?? Date.now(),
    }),
  },
  delays: {
    restartDelay: ({ context }) => backoffMs(restartBackoff, context.restarts),
    stableAfter: 30_000,
  },
}).createMachine({
  id: machineIds.consumer,
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
        onError: { target: 'restarting', actions: { type: 'recordError', params: ({ event }) => event } },
      },
    },
    consuming: {
      entry: assign({ trippedBy: undefined, pausedSince: undefined }),
      on: {
        ...onChannelLost,
        DEPENDENCY_DOWN: openForOutage,
        FAILURES_SUSPECTED: { target: 'verifying', actions: assign({ error: ({ event }) => event.reason }) },
      },
      after: { stableAfter: { actions: assign({ restarts: 0, escalated: false, openings: 0 }) } },
    },
    // Messages keep flowing while the write probe runs once, on a fresh connection.
    verifying: {
      invoke: {
        src: 'verifyDependencies',
        input: ({ context }) => ({ queue: context.queue }),
        onDone: {
          target: 'consuming',
          actions: assign({
            error: ({ context }) => `the write probe passed: failures are the messages' own (${context.error})`,
          }),
        },
        onError: {
          target: 'pausing',
          actions: {
            type: 'open',
            params: ({ context, event }) => ({
              trip: 'failure-rate' as const,
              reason: `${context.error}; the write probe failed: ${describe(event.error)}`,
            }),
          },
        },
      },
      on: {
        ...onChannelLost,
        DEPENDENCY_DOWN: openForOutage,
      },
    },
    pausing: {
      tags: [breakerOpen],
      invoke: {
        src: 'pause',
        input: ({ context }) => ({ queue: context.queue }),
        onDone: { target: 'paused' },
        onError: { target: 'restarting', actions: { type: 'recordError', params: ({ event }) => event } },
      },
      on: onChannelLost,
    },
    paused: {
      tags: [breakerOpen],
      invoke: {
        src: 'waitForDependency',
        input: ({ context }) => ({ queue: context.queue, openings: context.openings }),
        onDone: { target: 'restoring', actions: assign({ error: undefined }) },
        onError: { target: 'restarting', actions: { type: 'recordError', params: ({ event }) => event } },
      },
      on: onChannelLost,
    },
    // The attempts the outage counted are given back before any message is taken again.
    restoring: {
      tags: [breakerOpen],
      invoke: {
        src: 'giveBackAttempts',
        input: ({ context }) => ({ queue: context.queue }),
        onDone: { target: 'resuming' },
        onError: { target: 'paused', actions: { type: 'recordError', params: ({ event }) => event } },
      },
      on: onChannelLost,
    },
    resuming: {
      tags: [breakerOpen],
      invoke: {
        src: 'resume',
        input: ({ context }) => ({ queue: context.queue }),
        onDone: { target: 'halfOpen' },
        onError: { target: 'restarting', actions: { type: 'recordError', params: ({ event }) => event } },
      },
      on: onChannelLost,
    },
    halfOpen: {
      tags: [breakerOpen],
      on: {
        ...onChannelLost,
        TRIAL_PASSED: { target: 'closing', actions: assign({ error: undefined }) },
        DEPENDENCY_DOWN: {
          target: 'pausing',
          actions: { type: 'open', params: ({ event }) => ({ trip: 'trial-failed' as const, reason: event.reason }) },
        },
      },
    },
    closing: {
      tags: [breakerOpen],
      invoke: {
        src: 'widen',
        input: ({ context }) => ({ queue: context.queue }),
        onDone: { target: 'consuming' },
        onError: { target: 'restarting', actions: { type: 'recordError', params: ({ event }) => event } },
      },
      on: onChannelLost,
    },
    restarting: {
      entry: assign({
        restarts: ({ context }) => context.restarts + 1,
        escalated: ({ context }) => context.restarts + 1 >= context.escalateAfter,
        pausedSince: undefined,
      }),
      after: { restartDelay: { target: 'subscribing' } },
    },
    draining: {
      on: { STOP: {} },
      invoke: {
        src: 'drain',
        input: ({ context }) => ({ queue: context.queue }),
        onDone: { target: 'stopped' },
        onError: { target: 'stopped', actions: { type: 'recordError', params: ({ event }) => event } },
      },
    },
    stopped: { type: 'final' },
  },
});
