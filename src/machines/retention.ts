/**
 * One per database: keeps the runtime's tables bounded. Every `interval` it sweeps the runtime's tables, one
 * batch of each in turn (`removeBatch` removes at most `limit` expired rows of one table in a short
 * transaction), and goes round again as long as a batch of the round came back full: a backlog in one table
 * never holds up the others. It rests after each full batch and sizes each batch by how long the last one
 * took. A failed batch backs off and is tried again. What expires is the actor's business (the windows),
 * never the machine's.
 *
 *   waiting ─> sweeping ─┬─ full batch ─> resting ─> sweeping (the next table)
 *      ▲                 ├─ more to do ─> sweeping (the next table)
 *      └─────────────────┴─ a round with no full batch ended       failure ─> backingOff ─> sweeping
 */
import { assign, fromPromise, setup } from 'xstate';
import { backoffMs, restartBackoff } from '../policies/backoff.js';
import { describeError as describe } from '../policies/describe-error.js';
import { nextBatchSize, retentionSizing, type BatchSizing } from '../policies/retention-batch.js';
import { machineIds } from './names.js';

/**
 * The tables a sweep goes through, in this order: the messaging tables, then the durable actors' (closed
 * instances with their history, and old history of instances still running).
 */
export const retentionTables = ['inbox', 'outbox', 'delivery_attempts', 'actor_instances', 'actor_history'] as const;
export type RetentionTable = (typeof retentionTables)[number];

export interface BatchRemoved {
  readonly removed: number;
  /** How long the batch took, its transaction included. */
  readonly ms: number;
}

export interface RetentionContext {
  /** The database's label (`<service>` or `<service>+<service>`): names its metrics. */
  readonly database: string;
  readonly sizing: BatchSizing;
  /** The index in `retentionTables` of the table being swept. */
  table: number;
  /** A batch of this round came back full: there may be more to remove, so another round follows. */
  moreInRound: boolean;
  batchSize: number;
  /** Rows removed since the actor started, per table. */
  removed: Record<RetentionTable, number>;
  /** Sweeps completed (every table). */
  sweeps: number;
  failures: number;
  error: string | undefined;
}

export interface RetentionInput {
  readonly database: string;
  /** The configured batch size: the first batch's and the largest. */
  readonly batchSize: number;
}

export type RetentionEvent = { type: 'STOP' };

type Done = { output: BatchRemoved };
const outputOf = (event: unknown) => (event as Done).output;

export const retentionMachine = setup({
  types: {
    context: {} as RetentionContext,
    input: {} as RetentionInput,
    events: {} as RetentionEvent,
  },
  actors: {
    removeBatch: fromPromise<BatchRemoved, { table: RetentionTable; limit: number }>(() => {
      throw new Error('retention machine: "removeBatch" was not provided');
    }),
  },
  guards: {
    batchWasFull: ({ context, event }) => outputOf(event).removed >= context.batchSize,
    sweepDone: ({ context, event }) =>
      context.table + 1 === retentionTables.length &&
      !context.moreInRound &&
      outputOf(event).removed < context.batchSize,
  },
  actions: {
    /** Counts the batch, sizes the next one and moves on to the next table (the first, after the last). */
    countBatch: assign(({ context, event }) => {
      const { removed, ms } = outputOf(event);
      const table = retentionTables[context.table]!;
      const last = context.table + 1 === retentionTables.length;
      return {
        removed: removed > 0 ? { ...context.removed, [table]: context.removed[table] + removed } : context.removed,
        batchSize: nextBatchSize(context.sizing, context.batchSize, removed, ms),
        table: last ? 0 : context.table + 1,
        moreInRound: !last && (context.moreInRound || removed >= context.batchSize),
        failures: 0,
        error: undefined,
      };
    }),
    endSweep: assign({ sweeps: ({ context }) => context.sweeps + 1 }),
  },
  delays: {
    interval: 60_000,
    batchPause: 50,
    backoff: ({ context }) => backoffMs(restartBackoff, context.failures - 1),
  },
}).createMachine({
  id: machineIds.retention,
  context: ({ input }) => ({
    database: input.database,
    sizing: retentionSizing(input.batchSize),
    table: 0,
    moreInRound: false,
    batchSize: input.batchSize,
    removed: { inbox: 0, outbox: 0, delivery_attempts: 0, actor_instances: 0, actor_history: 0 },
    sweeps: 0,
    failures: 0,
    error: undefined,
  }),
  initial: 'waiting',
  on: { STOP: { target: '.stopped' } },
  states: {
    waiting: {
      after: { interval: { target: 'sweeping' } },
    },
    sweeping: {
      invoke: {
        src: 'removeBatch',
        input: ({ context }) => ({ table: retentionTables[context.table]!, limit: context.batchSize }),
        onDone: [
          { guard: 'sweepDone', target: 'waiting', actions: ['countBatch', 'endSweep'] },
          { guard: 'batchWasFull', target: 'resting', actions: 'countBatch' },
          { target: 'sweeping', reenter: true, actions: 'countBatch' },
        ],
        onError: {
          target: 'backingOff',
          actions: assign({
            failures: ({ context }) => context.failures + 1,
            error: ({ event }) => describe(event.error),
          }),
        },
      },
    },
    resting: {
      after: { batchPause: { target: 'sweeping' } },
    },
    backingOff: {
      after: { backoff: { target: 'sweeping' } },
    },
    stopped: { type: 'final' },
  },
});
