/**
 * The machines of the runtime, as the visualizer lists them: each one's definition straight from
 * `src/machines/`, with a line saying what it is. Adding a machine there means adding it here.
 */
import type { AnyStateMachine } from 'xstate';
import { connectionMachine } from '../../machines/connection.js';
import { consumerMachine } from '../../machines/consumer.js';
import { deliveryMachine } from '../../machines/delivery.js';
import { outboxRelayMachine } from '../../machines/outbox-relay.js';
import { retentionMachine } from '../../machines/retention.js';
import { timerFiringMachine } from '../../machines/timer-firing.js';
import { supervisorMachine } from '../../machines/supervisor.js';

export interface MachineEntry {
  /** The machine's id, as in the `machine` field of the log's transition lines. */
  readonly id: string;
  readonly title: string;
  readonly summary: string;
  /** Where its definition lives, for the reader. */
  readonly source: string;
  readonly machine: AnyStateMachine;
  /** Layout direction: top to bottom or left to right. */
  readonly direction: 'DOWN' | 'RIGHT';
}

export const runtimeMachines: readonly MachineEntry[] = [
  {
    id: deliveryMachine.id,
    title: 'Delivery',
    summary: 'One per consumed message: decode, persist, commit, publish, ack, or roll back, retry and dead-letter.',
    source: 'src/machines/delivery.ts',
    machine: deliveryMachine,
    direction: 'DOWN',
  },
  {
    id: consumerMachine.id,
    title: 'Consumer',
    summary: 'One per consumed queue: subscribes, pauses while a dependency is down, restarts a lost subscription.',
    source: 'src/machines/consumer.ts',
    machine: consumerMachine,
    direction: 'DOWN',
  },
  {
    id: supervisorMachine.id,
    title: 'Supervisor',
    summary: 'The root of a process: prepares the databases, runs and respawns its children, stops them.',
    source: 'src/machines/supervisor.ts',
    machine: supervisorMachine,
    direction: 'DOWN',
  },
  {
    id: outboxRelayMachine.id,
    title: 'Outbox relay',
    summary: 'One per service: publishes committed outbox rows that are still unconfirmed.',
    source: 'src/machines/outbox-relay.ts',
    machine: outboxRelayMachine,
    direction: 'DOWN',
  },
  {
    id: retentionMachine.id,
    title: 'Retention',
    summary:
      'One per database: removes expired inbox rows, sent outbox rows and quiet attempt counts in small batches; never an unsent row.',
    source: 'src/machines/retention.ts',
    machine: retentionMachine,
    direction: 'DOWN',
  },
  {
    id: timerFiringMachine.id,
    title: 'Timer firing',
    summary:
      "One per database with durable actors: claims due timers and writes their firings to the outbox, to the actors' timer queues.",
    source: 'src/machines/timer-firing.ts',
    machine: timerFiringMachine,
    direction: 'DOWN',
  },
  {
    id: connectionMachine.id,
    title: 'Connection',
    summary: 'The broker connection as the runtime sees it: connecting, connected, blocked, reconnecting, closed.',
    source: 'src/machines/connection.ts',
    machine: connectionMachine,
    direction: 'DOWN',
  },
];
