/**
 * The broker connection as the runtime sees it. amqp-connection-manager does the reconnecting; this
 * machine only makes its state explicit (and logged): connecting, connected, blocked by the broker's
 * flow control, reconnecting after a loss, closed on shutdown.
 */
import { assign, fromCallback, setup } from 'xstate';
import { machineIds } from './names.js';

export type ConnectionEvent =
  | { type: 'CONNECTED'; url: string }
  | { type: 'DISCONNECTED'; reason: string }
  | { type: 'BLOCKED'; reason: string }
  | { type: 'UNBLOCKED' }
  | { type: 'STOP' };

export interface ConnectionContext {
  url: string | undefined;
  reconnects: number;
  error: string | undefined;
}

export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
  },
  actors: {
    // Sends CONNECTED / DISCONNECTED / BLOCKED / UNBLOCKED as the real connection reports them.
    watch: fromCallback<ConnectionEvent>(() => {
      throw new Error('connection machine: "watch" was not provided');
    }),
  },
}).createMachine({
  id: machineIds.connection,
  context: { url: undefined, reconnects: 0, error: undefined },
  invoke: { src: 'watch' },
  initial: 'connecting',
  on: { STOP: { target: '.closed' } },
  states: {
    connecting: {
      on: {
        CONNECTED: { target: 'connected', actions: assign({ url: ({ event }) => event.url, error: undefined }) },
        DISCONNECTED: { target: 'reconnecting', actions: assign({ error: ({ event }) => event.reason }) },
      },
    },
    connected: {
      on: {
        DISCONNECTED: { target: 'reconnecting', actions: assign({ error: ({ event }) => event.reason }) },
        BLOCKED: { target: 'blocked', actions: assign({ error: ({ event }) => event.reason }) },
      },
    },
    blocked: {
      on: {
        UNBLOCKED: { target: 'connected', actions: assign({ error: undefined }) },
        DISCONNECTED: { target: 'reconnecting', actions: assign({ error: ({ event }) => event.reason }) },
      },
    },
    reconnecting: {
      on: {
        CONNECTED: {
          target: 'connected',
          actions: assign({
            url: ({ event }) => event.url,
            reconnects: ({ context }) => context.reconnects + 1,
            error: undefined,
          }),
        },
        DISCONNECTED: { actions: assign({ error: ({ event }) => event.reason }) },
      },
    },
    closed: { type: 'final' },
  },
});
