/**
 * The outbox relay: publishes whatever committed outbox rows are still unconfirmed (after a crash, a
 * broker outage, a returned or timed-out publish). It sweeps on a timer and when kicked (on reconnect, on
 * a duplicate delivery), keeps sweeping while batches come back full, and backs off when a sweep fails.
 *
 * While its sweeps claim nothing, the timer slows down: the wait after the n-th sweep in a row that claimed
 * nothing is `pollMs × 2^(n−1)`, at most `maxPollMs` (the `pollInterval` delay, made by `idlePollDelay`).
 * A sweep that claims a row, a KICK or a failed sweep brings it back to `pollMs`. An idle process then
 * spends little on sweeps, and a row that only a sweep can find (left by a crash, or deferred after a failed
 * publish) waits at most `maxPollMs` past its due time.
 *
 *   idle        ── after pollInterval, or KICK ──> sweeping
 *   sweeping    ── a full batch, or a KICK meanwhile ──> sweeping;  done ──> idle;  failed ──> backingOff
 *   backingOff  ── after backoff ──> sweeping
 */
import { assign, fromPromise, setup } from 'xstate';
import { backoffMs, restartBackoff, type BackoffPolicy } from '../policies/backoff.js';
import { machineIds } from './names.js';

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
  /** Sweeps in a row that claimed nothing (a KICK, a failure or a claimed row starts it again at 0). */
  emptySweeps: number;
  error: string | undefined;
}

export type OutboxRelayEvent = { type: 'KICK' } | { type: 'STOP' };

/** The wait between sweeps: `baseMs` (the poll interval), doubling while sweeps claim nothing, up to `maxMs`. */
export type IdlePolling = BackoffPolicy;

/** The default poll interval and its cap, as the runtime's defaults (`outbox.pollMs`, `outbox.maxPollMs`). */
export const defaultIdlePolling: IdlePolling = { baseMs: 1_000, maxMs: 5_000 };

/**
 * The `pollInterval` delay of a policy: `baseMs` after a sweep that claimed something (or the first that
 * did not), then doubling with each further sweep that claimed nothing, at most `maxMs`.
 */
export function idlePollDelay(policy: IdlePolling) {
  return ({ context }: { context: Pick<OutboxRelayContext, 'emptySweeps'> }): number =>
    backoffMs(policy, context.emptySweeps - 1);
}

type Done = { output: SweepResult };
const outputOf = (event: unknown) => (event as Done).output;
const errorOf = (event: unknown) => (event as { error: unknown }).error;

/**
 * The sweeping loop under the machine id `id`: the outbox relay's, and the durable timers' firing loop's
 * (`timer-firing.ts`), which live the same life and are told apart by their id.
 */
export function sweepingMachine<Id extends string>(id: Id) {
  return setup({
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
      moreToDo: ({ context, event }) => context.kicked || outputOf(event).more,
    },
    actions: {
      /**
       * Counts what the sweep published and whether it claimed nothing. A sweep that a KICK overtook does
       * not count as empty: the sweep the KICK asked for follows it.
       */
      countSweep: assign(({ context, event }) => {
        const { claimed, published } = outputOf(event);
        return {
          published: context.published + published,
          emptySweeps: claimed > 0 || context.kicked ? 0 : context.emptySweeps + 1,
          failures: 0,
          error: undefined,
        };
      }),
      /** Back to sweeping every `pollMs`: after a KICK, something may be waiting. */
      resetPolling: assign({ emptySweeps: 0 }),
      countFailure: assign(({ context, event }) => {
        const error = errorOf(event);
        return {
          failures: context.failures + 1,
          emptySweeps: 0,
          error: error instanceof Error ? error.message : String(error),
        };
      }),
    },
    delays: {
      pollInterval: idlePollDelay(defaultIdlePolling),
      backoff: ({ context }) => backoffMs(restartBackoff, context.failures),
    },
  }).createMachine({
    id,
    context: { kicked: false, failures: 0, published: 0, emptySweeps: 0, error: undefined },
    initial: 'idle',
    on: { STOP: { target: '.stopped' } },
    states: {
      idle: {
        after: { pollInterval: { target: 'sweeping' } },
        on: { KICK: { target: 'sweeping', actions: 'resetPolling' } },
      },
      sweeping: {
        entry: assign({ kicked: false }),
        on: { KICK: { actions: assign({ kicked: true }) } },
        invoke: {
          src: 'sweep',
          onDone: [
            { guard: 'moreToDo', target: 'sweeping', reenter: true, actions: 'countSweep' },
            { target: 'idle', actions: 'countSweep' },
          ],
          onError: { target: 'backingOff', actions: 'countFailure' },
        },
      },
      backingOff: {
        after: { backoff: { target: 'sweeping' } },
      },
      stopped: { type: 'final' },
    },
  });
}

export const outboxRelayMachine = sweepingMachine(machineIds.outboxRelay);
