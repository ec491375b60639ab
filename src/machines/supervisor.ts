/**
 * The root of a process: prepares the resources (databases created and migrated), then runs its children
 * (the connection, one consumer per queue, the outbox relay) and restarts any child that fails, with a
 * growing delay. On STOP it asks every child to stop and waits for them and for the resources to close.
 *
 *   starting ─> running ─> stopping ─> stopped
 *       └─ failure ─> failed
 */
import type { AnyActorLogic } from 'xstate';
import { assign, enqueueActions, fromPromise, setup } from 'xstate';
import { describeError as describe } from '../policies/describe-error.js';
import { backoffMs, restartBackoff } from '../policies/backoff.js';
import { machineIds } from './names.js';

export interface ChildSpec {
  readonly id: string;
  readonly logic: AnyActorLogic;
  readonly input?: unknown;
}

export interface SupervisorContext {
  readonly children: readonly ChildSpec[];
  restarts: Record<string, number>;
  error: string | undefined;
}

export interface SupervisorInput {
  readonly children: readonly ChildSpec[];
}

export type SupervisorEvent = { type: 'STOP' } | { type: 'RESPAWN'; id: string };

const errorPrefix = 'xstate.error.actor.';

// XState's types only accept an `id` for actors named in setup(); these children are supplied at run time.
const spawnOptions = (child: ChildSpec) => ({ id: child.id, systemId: child.id, input: child.input }) as never;

export const restartDelayMs = (restarts: number) => backoffMs(restartBackoff, restarts);

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    input: {} as SupervisorInput,
    events: {} as SupervisorEvent,
  },
  actors: {
    prepare: fromPromise<void>(() => {
      throw new Error('supervisor machine: "prepare" was not provided');
    }),
    shutdown: fromPromise<void>(() => {
      throw new Error('supervisor machine: "shutdown" was not provided');
    }),
  },
}).createMachine({
  id: machineIds.supervisor,
  context: ({ input }) => ({ children: input.children, restarts: {}, error: undefined }),
  initial: 'starting',
  states: {
    starting: {
      invoke: {
        src: 'prepare',
        onDone: { target: 'running' },
        onError: { target: 'failed', actions: assign({ error: ({ event }) => describe(event.error) }) },
      },
      on: { STOP: { target: 'stopping' } },
    },
    running: {
      entry: enqueueActions(({ context, enqueue }) => {
        for (const child of context.children) {
          enqueue.spawnChild(child.logic, spawnOptions(child));
        }
      }),
      on: {
        'xstate.error.actor.*': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const id = event.type.slice(errorPrefix.length);
            const restarts = (context.restarts[id] ?? 0) + 1;
            enqueue.assign({
              restarts: { ...context.restarts, [id]: restarts },
              error: `${id} failed: ${describe((event as unknown as { error: unknown }).error)}`,
            });
            enqueue.raise({ type: 'RESPAWN', id } as SupervisorEvent, { delay: restartDelayMs(restarts - 1) });
          }),
        },
        RESPAWN: {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const child = context.children.find((candidate) => candidate.id === event.id);
            if (child) enqueue.spawnChild(child.logic, spawnOptions(child));
          }),
        },
        STOP: { target: 'stopping' },
      },
    },
    stopping: {
      // Children exist only if the supervisor got as far as running; a STOP during start-up has none to stop.
      entry: enqueueActions(({ context, self, enqueue }) => {
        const running = self.getSnapshot().children as Record<string, unknown>;
        for (const child of context.children) {
          if (running[child.id]) enqueue.sendTo(child.id, { type: 'STOP' });
        }
      }),
      invoke: {
        src: 'shutdown',
        onDone: { target: 'stopped' },
        onError: { target: 'stopped', actions: assign({ error: ({ event }) => describe(event.error) }) },
      },
    },
    stopped: { type: 'final' },
    failed: { type: 'final' },
  },
});
