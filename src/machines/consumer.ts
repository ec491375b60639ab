/**
 * One queue's consumer: subscribes, consumes, pauses while a dependency is down, and restarts its
 * subscription with a growing delay when the channel is lost. Repeated restarts are marked `escalated`,
 * which the log shows at error level, so a consumer never stops silently.
 *
 *   subscribing ─> consuming ─> pausing ─> paused ─> resuming ─> consuming
 *        ▲             │ channel lost
 *        └─ restarting ◄┘                       STOP (from any state) ─> draining ─> stopped
 */
import { assign, fromPromise, setup } from 'xstate';
import { describeError as describe } from '../policies/describe-error.js';
import { backoffMs, restartBackoff } from '../policies/backoff.js';

export interface ConsumerContext {
  readonly queue: string;
  readonly escalateAfter: number;
  restarts: number;
  escalated: boolean;
  error: string | undefined;
}

export interface ConsumerInput {
  readonly queue: string;
  readonly escalateAfter?: number;
}

export type ConsumerEvent =
  { type: 'CHANNEL_LOST'; reason: string } | { type: 'DEPENDENCY_DOWN'; reason: string } | { type: 'STOP' };

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
    waitForDependency: fromPromise<void, { queue: string }>(notProvided('waitForDependency')),
    resume: fromPromise<void, { queue: string }>(notProvided('resume')),
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
      on: {
        CHANNEL_LOST: { target: 'restarting', actions: assign({ error: ({ event }) => event.reason }) },
        DEPENDENCY_DOWN: { target: 'pausing', actions: assign({ error: ({ event }) => event.reason }) },
      },
      after: { stableAfter: { actions: assign({ restarts: 0, escalated: false }) } },
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
        input: ({ context }) => ({ queue: context.queue }),
        onDone: { target: 'resuming', actions: assign({ error: undefined }) },
        onError: { target: 'restarting', actions: assign({ error: ({ event }) => describe(event.error) }) },
      },
      on: { CHANNEL_LOST: { target: 'restarting', actions: assign({ error: ({ event }) => event.reason }) } },
    },
    resuming: {
      invoke: {
        src: 'resume',
        input: ({ context }) => ({ queue: context.queue }),
        onDone: { target: 'consuming' },
        onError: { target: 'restarting', actions: assign({ error: ({ event }) => describe(event.error) }) },
      },
      on: { CHANNEL_LOST: { target: 'restarting', actions: assign({ error: ({ event }) => event.reason }) } },
    },
    restarting: {
      entry: assign({
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
