/**
 * The names that machines and their listeners (the log writer, the metrics, the delivery spans, the live
 * view) share. The state names are the machines' own, as XState infers them from each definition: a
 * listener that compares a state against a name the machine no longer has stops compiling. The delivery
 * outcomes are listed once here, checked against the delivery machine's `DeliveryOutcome`; the breaker's
 * trips are listed with the breaker's policy (`breakerTrips` in `policies/outage-breaker.ts`, re-exported by the
 * consumer machine).
 */
import type { AnyStateMachine, SnapshotFrom } from 'xstate';
import type { connectionMachine } from './connection.js';
import type { consumerMachine } from './consumer.js';
import type { deliveryMachine, DeliveryOutcome } from './delivery.js';
import type { outboxRelayMachine } from './outbox-relay.js';
import type { retentionMachine } from './retention.js';
import type { supervisorMachine } from './supervisor.js';

/**
 * Each machine's id, as its definition declares it and as listeners see it on an actor (`ObservedActor.machine`).
 */
export const machineIds = {
  delivery: 'delivery',
  consumer: 'consumer',
  connection: 'connection',
  supervisor: 'supervisor',
  outboxRelay: 'outboxRelay',
  timerFiring: 'timerFiring',
  retention: 'retention',
} as const;

/** A machine's id: `delivery`, `consumer`, … */
export type MachineId = (typeof machineIds)[keyof typeof machineIds];

/** The names of a machine's top-level states (what the decoder reports as `from` and `to`). */
export type StateOf<Machine extends AnyStateMachine> = Extract<SnapshotFrom<Machine>['value'], string>;

/** The delivery machine's states: `receiving`, `persisting`, … */
export type DeliveryState = StateOf<typeof deliveryMachine>;
/** The consumer machine's states: `subscribing`, `consuming`, the breaker's `paused`, … */
export type ConsumerState = StateOf<typeof consumerMachine>;
/** The connection machine's states: `connecting`, `connected`, `reconnecting`, … */
export type ConnectionState = StateOf<typeof connectionMachine>;
/** The supervisor's states: `starting`, `running`, `failed`, … */
export type SupervisorState = StateOf<typeof supervisorMachine>;
/** A state of any of the runtime's machines. */
export type MachineState =
  | DeliveryState
  | ConsumerState
  | ConnectionState
  | SupervisorState
  | StateOf<typeof outboxRelayMachine>
  | StateOf<typeof retentionMachine>;

/** Every outcome a delivery machine ends a delivery with; `split` hands the batch's deliveries on, alone. */
export const deliveryOutcomes = [
  'acked',
  'duplicate',
  'retried',
  'delayed',
  'dead-lettered',
  'split',
] as const satisfies readonly DeliveryOutcome[];

// The list holds every DeliveryOutcome: an outcome added to the machine and not here fails to compile.
const everyOutcomeListed: Exclude<DeliveryOutcome, (typeof deliveryOutcomes)[number]> extends never ? true : false =
  true;
void everyOutcomeListed;

/** The outcomes a delivery settles its message with (every outcome but `split`). */
export const settledOutcomes = deliveryOutcomes.filter(
  (outcome): outcome is Exclude<DeliveryOutcome, 'split'> => outcome !== 'split',
);
