/**
 * The outbox relay: publishes whatever committed outbox rows are still unconfirmed (after a crash, a
 * broker outage, a returned or timed-out publish). It sweeps on a timer and when kicked (on reconnect, on
 * a duplicate delivery), keeps sweeping while batches come back full, and backs off when a sweep fails.
 */
import { assign, fromPromise, setup } from 'xstate';
import { backoffMs, restartBackoff } from '../policies/backoff.js';

export interface SweepResult {
  readonly claimed: number;
  readonly published: number;
  /** True when the batch was full: there may be more rows waiting. */
  readonly more: boolean;
}

export interface OutboxRelayContext {
  kicked: boolean;
  failures: number;
  published: number;
  error: string | undefined;
}

export type OutboxRelayEvent = { type: 'KICK' } | { type: 'STOP' };

export const outboxRelayMachine = setup({
  types: {
    context: {} as OutboxRelayContext,
    events: {} as OutboxRelayEvent,
  },
  actors: {
    sweep: fromPromise<SweepResult>(() => {
      throw new Error('outbox relay machine: "sweep" was not provided');
    }),
  },
  guards: {
    moreToDo: ({ context, event }) => context.kicked || (event as unknown as { output: SweepResult }).output.more,
  },
  delays: {
    pollInterval: 1_000,
    backoff: ({ context }) => backoffMs(restartBackoff, context.failures),
  },
}).createMachine({
  id: 'outboxRelay',
  context: { kicked: false, failures: 0, published: 0, error: undefined },
  initial: 'idle',
  on: { STOP: { target: '.stopped' } },
  states: {
    idle: {
      after: { pollInterval: { target: 'sweeping' } },
      on: { KICK: { target: 'sweeping' } },
    },
    sweeping: {
      entry: assign({ kicked: false }),
      on: { KICK: { actions: assign({ kicked: true }) } },
      invoke: {
        src: 'sweep',
        onDone: [
          {
            guard: 'moreToDo',
            target: 'sweeping',
            reenter: true,
            actions: assign({
              published: ({ context, event }) => context.published + event.output.published,
              failures: 0,
              error: undefined,
            }),
          },
          {
            target: 'idle',
            actions: assign({
              published: ({ context, event }) => context.published + event.output.published,
              failures: 0,
              error: undefined,
            }),
          },
        ],
        onError: {
          target: 'backingOff',
          actions: assign({
            failures: ({ context }) => context.failures + 1,
            error: ({ event }) => (event.error instanceof Error ? event.error.message : String(event.error)),
          }),
        },
      },
    },
    backingOff: {
      after: { backoff: { target: 'sweeping' } },
    },
    stopped: { type: 'final' },
  },
});
