/**
 * The one inspection hook over every actor of the runtime. It turns snapshots into structured log lines:
 * one per state transition (from, to, milliseconds in the state, the error where there is one), plus the
 * seed's human-readable lines when a delivery starts and when it is acked. Handlers never log.
 * A batch of several deliveries logs its transitions once, naming its delivery tags; each of its messages
 * still gets its own human-readable lines, carrying the message id and delivery tag.
 * Observers (the visualizer's live monitor) are handed every event of the same stream first.
 */
import type { InspectionEvent } from 'xstate';
import { outcomeAt, type DeliveryContext } from '../../machines/delivery.js';
import type { Logger } from './logger.js';

export interface DeliveryDescriber {
  received(message: unknown): string;
  completed(message: unknown, result: unknown): string;
}

export interface InspectorOptions {
  readonly logger: Logger;
  /** Human-readable lines per consumed queue. */
  readonly describers: ReadonlyMap<string, DeliveryDescriber>;
  /** Service name per consumed queue, for the `service` field. */
  readonly services: ReadonlyMap<string, string>;
  /**
   * Observers of the same stream (the visualizer's live monitor): each sees every inspection event before
   * the log line is written. An observer that throws is ignored, never the machines' problem.
   */
  readonly listeners?: readonly ((event: InspectionEvent) => void)[];
}

interface Position {
  state: string;
  since: number;
}

type Level = 'error' | 'warn' | 'info' | 'debug';

/** A snapshot value as the log writes it: `persisting`, or `a.b` for a nested state. */
export function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    return Object.entries(value)
      .map(([key, inner]) => `${key}.${stateName(inner)}`)
      .join(',');
  }
  return String(value);
}

/** The machine's id, or undefined for actors that are not machines (promises, callbacks). */
export function machineId(actor: object): string | undefined {
  const logic = (actor as { logic?: { id?: unknown; config?: unknown } }).logic;
  return logic?.config !== undefined && typeof logic.id === 'string' ? logic.id : undefined;
}

/** The state a machine starts in as configured: a delivery's `receiving`, left before its first snapshot. */
export function initialStateOf(actor: object): string | undefined {
  const initial = (actor as { logic?: { config?: { initial?: unknown } } }).logic?.config?.initial;
  return typeof initial === 'string' ? initial : undefined;
}

export type Inspector = (event: InspectionEvent) => void;

export function createInspector({ logger, describers, services, listeners = [] }: InspectorOptions): Inspector {
  const positions = new WeakMap<object, Position>();

  // Delivery lines are built as single literals (no spreads): they are written for every step of every message.
  function describeDeliveries(context: DeliveryContext, from: string | null, to: string) {
    const { deliveries, decoded } = context;
    const describer = describers.get(deliveries[0]!.queue);
    if (!describer) return;
    const received = from === 'receiving' && to === 'persisting';
    if (!received && !(to === 'done' && (context.outcome === 'acked' || context.outcome === 'duplicate'))) return;
    for (const [index, delivery] of deliveries.entries()) {
      const message = decoded[index]?.message;
      logger.log({
        service: services.get(delivery.queue),
        queue: delivery.queue,
        messageId: delivery.messageId ?? decoded[index]?.key,
        deliveryTag: delivery.deliveryTag,
        redelivered: delivery.redelivered,
        outcome: received ? undefined : outcomeAt(context, index),
        level: 'info',
        message: received ? describer.received(message) : describer.completed(message, context.results[index]),
      });
    }
  }

  function deliveryTransition(level: Level, from: string, to: string, ms: number, context: DeliveryContext) {
    const { deliveries } = context;
    const [delivery] = deliveries as [DeliveryContext['deliveries'][number]];
    const single = deliveries.length === 1;
    logger.log({
      machine: 'delivery',
      from,
      to,
      ms,
      service: services.get(delivery.queue),
      queue: delivery.queue,
      messageId: single ? (delivery.messageId ?? context.decoded[0]?.key) : undefined,
      deliveryTag: single ? delivery.deliveryTag : undefined,
      redelivered: single ? delivery.redelivered : undefined,
      batch: single ? undefined : deliveries.length,
      deliveryTags: single ? undefined : deliveries.map((each) => each.deliveryTag),
      attempts: context.attempts || undefined,
      outcome: context.outcome,
      error: context.error,
      level,
      message: 'transition',
    });
  }

  function levelOf(id: string, to: string, context: Record<string, unknown>): Level {
    if (id === 'consumer' && to === 'restarting' && context.escalated) return 'error';
    if (id === 'supervisor' && to === 'failed') return 'error';
    if (
      to === 'backingOff' ||
      to === 'rollingBack' ||
      to === 'deadLettering' ||
      to === 'paused' ||
      to === 'reconnecting'
    ) {
      return 'warn';
    }
    // The relay's idle sweeps would drown everything else: shown at debug unless something goes wrong.
    if (id === 'outboxRelay') return 'debug';
    return 'info';
  }

  function fieldsOf(id: string, context: Record<string, unknown>) {
    if (id === 'consumer') {
      return { queue: context.queue, restarts: context.restarts, error: context.error };
    }
    // Which broker it is connected to (the password redacted), so that a failover shows in the log.
    if (id === 'connection') return { url: context.url, error: context.error };
    return { error: context.error };
  }

  return (event) => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        // An observer's fault must not reach the actor whose step is being inspected.
      }
    }
    if (event.type !== '@xstate.snapshot') return;
    const actor = event.actorRef;
    const id = machineId(actor);
    if (!id) return;
    const snapshot = event.snapshot as { value?: unknown; context?: Record<string, unknown> };
    const to = stateName(snapshot.value);
    const now = performance.now();
    const position = positions.get(actor);
    if (position && position.state === to) return;
    const from = position?.state ?? (id === 'delivery' ? initialStateOf(actor) : undefined) ?? null;
    // No previous position: the step left the initial state within the macrostep that started the actor.
    const ms = position ? Math.round((now - position.since) * 100) / 100 : undefined;
    if (position) {
      position.state = to;
      position.since = now;
    } else {
      positions.set(actor, { state: to, since: now });
    }
    const context = snapshot.context ?? {};
    if (id === 'delivery') {
      // A delivery's first snapshot is already past `receiving` (decoding is synchronous): that step is logged.
      if (from === null || from === to) return;
      const level = levelOf(id, to, context);
      const delivery = context as unknown as DeliveryContext;
      if (logger.isLevelEnabled(level)) deliveryTransition(level, from, to, ms ?? 0, delivery);
      describeDeliveries(delivery, from, to);
      return;
    }
    const level = levelOf(id, to, context);
    if (logger.isLevelEnabled(level)) {
      logger.log(level, 'transition', { machine: id, from, to, ms, ...fieldsOf(id, context) });
    }
  };
}
