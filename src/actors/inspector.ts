/**
 * The one inspection hook over every actor of the runtime. It turns snapshots into structured log lines:
 * one per state transition (from, to, milliseconds in the state, the error where there is one), plus the
 * seed's human-readable lines when a delivery starts and when it is acked. Handlers never log.
 * Observers (the visualizer's live monitor) are handed every event of the same stream first.
 */
import type { InspectionEvent } from 'xstate';
import type { DeliveryContext } from '../machines/delivery.js';
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

  function deliveryFields(context: DeliveryContext) {
    const { delivery } = context;
    return {
      service: services.get(delivery.queue),
      queue: delivery.queue,
      messageId: delivery.messageId ?? context.key,
      deliveryTag: delivery.deliveryTag,
      redelivered: delivery.redelivered,
    };
  }

  function describeDelivery(context: DeliveryContext, from: string | null, to: string) {
    const describer = describers.get(context.delivery.queue);
    if (!describer) return;
    if (from === 'receiving' && to === 'persisting') {
      logger.info(describer.received(context.message), deliveryFields(context));
    } else if (to === 'done' && (context.outcome === 'acked' || context.outcome === 'duplicate')) {
      logger.info(describer.completed(context.message, context.result), deliveryFields(context));
    }
  }

  function levelOf(id: string, to: string, context: Record<string, unknown>): Level {
    if (id === 'consumer' && to === 'restarting' && context.escalated) return 'error';
    if (id === 'supervisor' && to === 'failed') return 'error';
    if (to === 'backingOff' || to === 'rollingBack' || to === 'deadLettering' || to === 'paused' || to === 'reconnecting') {
      return 'warn';
    }
    // The relay's idle sweeps would drown everything else: shown at debug unless something goes wrong.
    if (id === 'outboxRelay') return 'debug';
    return 'info';
  }

  function fieldsOf(id: string, context: Record<string, unknown>) {
    if (id === 'delivery') {
      const delivery = context as unknown as DeliveryContext;
      return {
        ...deliveryFields(delivery),
        attempts: delivery.attempts || undefined,
        outcome: delivery.outcome,
        error: delivery.error,
      };
    }
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
    const previous = positions.get(actor);
    if (previous && previous.state === to) return;
    positions.set(actor, { state: to, since: now });
    const context = snapshot.context ?? {};
    let from = previous?.state ?? null;
    if (id === 'delivery' && from === null) {
      // A delivery's first snapshot is already past `receiving` (decoding is synchronous): log that step.
      from = initialStateOf(actor) ?? null;
      if (from === null || from === to) return;
    }
    const level = levelOf(id, to, context);
    if (logger.isLevelEnabled(level)) {
      logger.log(level, 'transition', {
        machine: id,
        from,
        to,
        // No previous position: the step left the initial state within the macrostep that started the actor.
        ms: previous ? Math.round((now - previous.since) * 100) / 100 : id === 'delivery' ? 0 : undefined,
        ...fieldsOf(id, context),
      });
    }
    if (id === 'delivery') describeDelivery(context as unknown as DeliveryContext, from, to);
  };
}
