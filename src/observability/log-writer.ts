/**
 * The log, as a listener of the decoded inspection stream: one `transition` line per state change of every
 * machine (from, to, milliseconds in the state left, the error where there is one), plus the seed's
 * human-readable lines when a delivery starts and when it is acked. Handlers never log.
 * A batch of several deliveries logs its transitions once, naming its delivery tags; each of its messages
 * still gets its own human-readable lines, carrying the message id and delivery tag.
 * Deliveries and consumers name the service, the consumer and the queue they belong to.
 */
import { outcomeAt, type DeliveryContext } from '../machines/delivery.js';
import {
  machineIds,
  type ConsumerState,
  type DeliveryState,
  type MachineState,
  type SupervisorState,
} from '../machines/names.js';
import type {
  ObservationListener,
  ObservedActor,
  ObservedConsumer,
  ObservedContext,
  StateChanged,
} from './observation.js';
import type { Logger } from './logger.js';

type Level = 'error' | 'warn' | 'info' | 'debug';

type SetAsideOutcome = 'retried' | 'delayed' | 'dead-lettered';

const setAsideMessages: Readonly<Record<SetAsideOutcome, string>> = {
  retried: 'handler failed; set aside from its batch and retried in process after a backoff',
  delayed: 'handler failed; set aside from its batch and sent to its delay queue for a later attempt',
  'dead-lettered': 'handler failed on its last attempt; set aside from its batch and dead-lettered',
};

const isSetAsideOutcome = (outcome: string): outcome is SetAsideOutcome => outcome in setAsideMessages;

/** The states whose entry is logged at `warn`: a retry, a dead letter, a pause, a lost connection. */
const warningStates: ReadonlySet<string> = new Set<MachineState>([
  'backingOff',
  'delaying',
  'rollingBack',
  'deadLettering',
  'paused',
  'reconnecting',
]);

function levelOf(machine: string, to: string, context: ObservedContext): Level {
  if (machine === machineIds.consumer && (to as ConsumerState) === 'restarting' && context.escalated) return 'error';
  if (machine === machineIds.supervisor && (to as SupervisorState) === 'failed') return 'error';
  if (warningStates.has(to)) return 'warn';
  // The relay's and retention's idle sweeps would drown everything else: shown at debug unless something goes wrong.
  if (machine === machineIds.outboxRelay || machine === machineIds.timerFiring || machine === machineIds.retention) {
    return 'debug';
  }
  return 'info';
}

const rounded = (ms: number) => Math.round(ms * 100) / 100;

export class LogWriter implements ObservationListener {
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  changed(event: StateChanged): void {
    const { actor, to, context } = event;
    if (actor.kind === 'delivery') {
      // A delivery's first snapshot is already past `receiving` (decoding is synchronous): that step is logged.
      const from = event.from ?? actor.initial;
      if (from === undefined || from === to) return;
      const delivery = context as unknown as DeliveryContext;
      const level = levelOf(actor.machine, to, context);
      if (this.#logger.isLevelEnabled(level)) {
        this.#deliveryTransition(level, actor, from, to, event.ms === undefined ? 0 : rounded(event.ms), delivery);
      }
      // A delivery actor runs the delivery machine: its states are that machine's.
      this.#describeDeliveries(actor, delivery, from as DeliveryState, to as DeliveryState);
      return;
    }
    const level = levelOf(actor.machine, to, context);
    if (!this.#logger.isLevelEnabled(level)) return;
    // No previous snapshot: the line shows `from: null` and no `ms`.
    const ms = event.ms === undefined ? undefined : rounded(event.ms);
    if (actor.kind === 'consumer') {
      this.#logger.log(level, 'transition', {
        machine: actor.machine,
        from: event.from,
        to,
        ms,
        service: actor.owner?.service,
        consumer: actor.owner?.consumer,
        queue: context.queue,
        restarts: context.restarts,
        trippedBy: context.trippedBy,
        openings: context.openings || undefined,
        error: context.error,
      });
    } else if (actor.kind === 'connection') {
      // Which broker it is connected to (the password redacted), so that a failover shows in the log.
      this.#logger.log(level, 'transition', {
        machine: actor.machine,
        from: event.from,
        to,
        ms,
        url: context.url,
        error: context.error,
      });
    } else {
      this.#logger.log(level, 'transition', { machine: actor.machine, from: event.from, to, ms, error: context.error });
    }
  }

  // Delivery lines are built as single literals (no spreads): they are written for every step of every message.
  #deliveryTransition(
    level: Level,
    actor: ObservedActor,
    from: string,
    to: string,
    ms: number,
    context: DeliveryContext,
  ): void {
    const { deliveries } = context;
    const [delivery] = deliveries as [DeliveryContext['deliveries'][number]];
    const single = deliveries.length === 1;
    this.#logger.log({
      machine: 'delivery',
      from,
      to,
      ms,
      service: actor.owner?.service,
      consumer: actor.owner?.consumer,
      queue: delivery.queue,
      messageId: single ? (delivery.messageId ?? context.decoded[0]?.key) : undefined,
      deliveryTag: single ? delivery.deliveryTag : undefined,
      redelivered: single ? delivery.redelivered : undefined,
      batch: single ? undefined : deliveries.length,
      deliveryTags: single ? undefined : deliveries.map((each) => each.deliveryTag),
      attempts: context.attempts || undefined,
      delayMs: context.delayMs,
      outcome: context.outcome,
      error: context.error,
      level,
      message: 'transition',
    });
  }

  /** A message its batch set aside and saw to itself (a retry in process, a delay queue, a dead letter). */
  #setAsideLine(owner: ObservedConsumer, context: DeliveryContext, index: number, outcome: SetAsideOutcome): void {
    const delivery = context.deliveries[index]!;
    const setAside = context.setAside.find((each) => each.index === index)!;
    this.#logger.log({
      service: owner.service,
      consumer: owner.consumer,
      queue: delivery.queue,
      messageId: delivery.messageId ?? context.decoded[index]?.key,
      deliveryTag: delivery.deliveryTag,
      redelivered: delivery.redelivered,
      attempts: setAside.attempts,
      delayMs: setAside.delayMs,
      outcome,
      error: setAside.failure.reason,
      level: outcome === 'dead-lettered' ? 'error' : 'warn',
      message: setAsideMessages[outcome],
    });
  }

  /** The seed's lines: one per message when its delivery starts, one when it is acked. */
  #describeDeliveries(actor: ObservedActor, context: DeliveryContext, from: DeliveryState, to: DeliveryState): void {
    const owner = actor.owner;
    if (owner === undefined) return;
    const received = from === 'receiving' && to === 'persisting';
    if (!received && !(to === 'done' && (context.outcome === 'acked' || context.outcome === 'duplicate'))) return;
    const { deliveries, decoded } = context;
    for (let index = 0; index < deliveries.length; index += 1) {
      const delivery = deliveries[index]!;
      const outcome = received ? undefined : outcomeAt(context, index);
      if (outcome === 'split') continue; // set aside: its own delivery logs it
      if (outcome !== undefined && isSetAsideOutcome(outcome) && context.setAside.length > 0) {
        this.#setAsideLine(owner, context, index, outcome);
        continue;
      }
      const message = decoded[index]?.message;
      this.#logger.log({
        service: owner.service,
        consumer: owner.consumer,
        queue: delivery.queue,
        messageId: delivery.messageId ?? decoded[index]?.key,
        deliveryTag: delivery.deliveryTag,
        redelivered: delivery.redelivered,
        outcome,
        level: 'info',
        message: received
          ? owner.describe.received(message)
          : owner.describe.completed(message, context.results[index]),
      });
    }
  }
}
