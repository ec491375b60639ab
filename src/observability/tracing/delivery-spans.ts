/**
 * The deliveries' spans, built from the inspection stream as the log and the metrics are: a `process <queue>`
 * span per delivery machine (a message, or a batch of several), its states as span events, its outcome,
 * attempts and dead-letter reason as attributes when it ends; a child span for the transaction (the
 * `persisting` state), for the publish of a dead letter or a delayed retry (`deadLettering`, `delaying`),
 * and for the settlement (`ack` or `nack`).
 *
 * A single message's span continues the trace its `traceparent` header carries; a batch's span starts a
 * trace of its own and links to the trace of each of its messages.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
  type TextMapPropagator,
  type Tracer,
} from '@opentelemetry/api';
import { delayQueueName } from '../../policies/delayed-retry.js';
import type { Delivery, DeliveryContext } from '../../machines/delivery.js';
import type { DeliveryState } from '../../machines/names.js';
import { deadLetterQueue } from '../../actors/broker/topology.js';
import type { ActorEnded, ActorStarted, ObservationListener, ObservedActor, StateChanged } from '../observation.js';
import { ackstate, messaging, rabbitmq, spanName } from './names.js';

/** The trace context a message's headers carry, or undefined. */
export type HeaderContext = (headers: Readonly<Record<string, unknown>>) => Context | undefined;

/** Message headers as amqplib decodes them: a string header may arrive as a Buffer. */
const headerGetter: TextMapGetter<Readonly<Record<string, unknown>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    if (typeof value === 'string') return value;
    return Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
  },
};

/** Reads `traceparent` and `tracestate` from message headers with `propagator`. */
export function headerContext(propagator: TextMapPropagator): HeaderContext {
  return (headers) => {
    const extracted = propagator.extract(ROOT_CONTEXT, headers, headerGetter);
    return trace.getSpanContext(extracted) === undefined ? undefined : extracted;
  };
}

interface ChildSpan {
  readonly span: Span;
  readonly context: Context;
}

interface FollowedDelivery {
  readonly span: Span;
  readonly context: Context;
  readonly queue: string;
  transaction: ChildSpan | undefined;
  /** The publish of a dead letter or of a delayed retry, while it waits for its confirm. */
  republish: Span | undefined;
}

/** The states in which a delivery publishes its message again: to `<queue>.dead` or to a delay queue. */
const republishingStates: ReadonlySet<string> = new Set<DeliveryState>(['deadLettering', 'delaying']);

function deliveriesOf(context: unknown): readonly Delivery[] | undefined {
  const deliveries = (context as Partial<DeliveryContext>).deliveries;
  return deliveries !== undefined && deliveries.length > 0 ? deliveries : undefined;
}

function processAttributes(actor: ObservedActor, deliveries: readonly Delivery[]): Attributes {
  const [first] = deliveries as [Delivery];
  const attributes: Attributes = {
    [messaging.system]: rabbitmq,
    [messaging.operationType]: 'process',
    [messaging.operationName]: 'process',
    [messaging.destination]: first.exchange ?? '',
    [messaging.subscription]: first.queue,
    [ackstate.service]: actor.owner?.service,
    [ackstate.consumer]: actor.owner?.consumer,
  };
  if (deliveries.length > 1) {
    attributes[messaging.batchCount] = deliveries.length;
    return attributes;
  }
  if (first.routingKey) attributes[messaging.routingKey] = first.routingKey;
  if (first.messageId !== undefined) attributes[messaging.messageId] = first.messageId;
  attributes[messaging.deliveryTag] = first.deliveryTag;
  attributes[ackstate.redelivered] = first.redelivered;
  return attributes;
}

function failed(span: Span, message: string | undefined, type?: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, ...(message !== undefined && { message }) });
  if (type !== undefined) span.setAttribute('error.type', type);
}

export class DeliverySpans implements ObservationListener {
  readonly #tracer: Tracer;
  readonly #contextOf: HeaderContext;
  /** By the machine's own array of deliveries: the transaction's hook finds its delivery by it. */
  readonly #followed = new WeakMap<readonly Delivery[], FollowedDelivery>();

  constructor(tracer: Tracer, contextOf: HeaderContext) {
    this.#tracer = tracer;
    this.#contextOf = contextOf;
  }

  /** The context of the transaction a delivery is in, while it is in `persisting`. */
  transactionOf(deliveries: readonly Delivery[]): Context | undefined {
    return this.#followed.get(deliveries)?.transaction?.context;
  }

  started(event: ActorStarted): void {
    if (event.actor.kind !== 'delivery') return;
    const deliveries = deliveriesOf(event.context);
    if (deliveries === undefined || this.#followed.has(deliveries)) return;
    const queue = deliveries[0]!.queue;
    let parent = ROOT_CONTEXT;
    let links: Link[] | undefined;
    if (deliveries.length === 1) {
      parent = this.#contextOf(deliveries[0]!.headers) ?? ROOT_CONTEXT;
    } else {
      links = [];
      for (const delivery of deliveries) {
        const linked = this.#contextOf(delivery.headers);
        const spanContext = linked === undefined ? undefined : trace.getSpanContext(linked);
        if (spanContext !== undefined) links.push({ context: spanContext });
      }
    }
    const span = this.#tracer.startSpan(
      spanName('process', queue),
      { kind: SpanKind.CONSUMER, attributes: processAttributes(event.actor, deliveries), ...(links && { links }) },
      parent,
    );
    span.addEvent(event.actor.initial ?? event.state);
    this.#followed.set(deliveries, {
      span,
      context: trace.setSpan(parent, span),
      queue,
      transaction: undefined,
      republish: undefined,
    });
  }

  changed(event: StateChanged): void {
    if (event.actor.kind !== 'delivery') return;
    const deliveries = deliveriesOf(event.context);
    const followed = deliveries === undefined ? undefined : this.#followed.get(deliveries);
    if (followed === undefined) return;
    const context = event.context as unknown as DeliveryContext;
    // A delivery actor runs the delivery machine: its states are that machine's.
    const from = (event.from ?? event.actor.initial) as DeliveryState | undefined;
    const to = event.to as DeliveryState;
    followed.span.addEvent(to, {
      [ackstate.from]: from,
      ...(context.attempts > 0 && { [ackstate.attempts]: context.attempts }),
      ...(context.error !== undefined && { [ackstate.error]: context.error }),
    });
    if (from === 'persisting') this.#endTransaction(followed, to === 'rollingBack' ? context.error : undefined);
    if (from !== undefined && republishingStates.has(from)) {
      this.#endRepublish(followed, to === 'backingOff' ? context.error : undefined);
    }
    if (to === 'persisting') this.#startTransaction(followed, event.actor);
    else if (republishingStates.has(to)) this.#startRepublish(followed, to, context);
    else if (to === 'done') this.#settle(followed, context);
  }

  ended(event: ActorEnded): void {
    if (event.actor.kind !== 'delivery') return;
    const deliveries = deliveriesOf(event.context);
    const followed = deliveries === undefined ? undefined : this.#followed.get(deliveries);
    if (followed === undefined || deliveries === undefined) return;
    this.#followed.delete(deliveries);
    const context = event.context as unknown as DeliveryContext;
    const stopped = event.status === 'error' ? 'the delivery machine failed' : undefined;
    this.#endTransaction(followed, stopped);
    this.#endRepublish(followed, stopped);
    const { span } = followed;
    span.setAttribute(ackstate.outcome, context.outcome ?? event.status);
    if (context.attempts > 0) span.setAttribute(ackstate.attempts, context.attempts);
    if (context.error !== undefined) span.setAttribute(ackstate.error, context.error);
    if (context.outcome === 'dead-lettered' && context.failure !== undefined) {
      span.setAttribute(ackstate.deadLetterReason, context.failure.reason);
    }
    if (context.failure !== undefined) failed(span, context.failure.reason, context.failure.kind);
    else if (stopped !== undefined) failed(span, stopped);
    span.end();
  }

  #startTransaction(followed: FollowedDelivery, actor: ObservedActor): void {
    const service = actor.owner?.service;
    const span = this.#tracer.startSpan(
      spanName('transaction', service ?? ''),
      {
        kind: SpanKind.INTERNAL,
        attributes: { 'db.system.name': 'postgresql', [ackstate.service]: service },
      },
      followed.context,
    );
    followed.transaction = { span, context: trace.setSpan(followed.context, span) };
  }

  #endTransaction(followed: FollowedDelivery, error: string | undefined): void {
    const transaction = followed.transaction;
    if (transaction === undefined) return;
    followed.transaction = undefined;
    if (error !== undefined) failed(transaction.span, error);
    transaction.span.end();
  }

  #startRepublish(followed: FollowedDelivery, state: DeliveryState, context: DeliveryContext): void {
    const delivery = context.deliveries[0]!;
    const routingKey =
      state === 'delaying' ? delayQueueName(delivery.queue, context.delayMs ?? 0) : deadLetterQueue(delivery.queue);
    const attributes: Attributes = {
      [messaging.system]: rabbitmq,
      [messaging.operationType]: 'publish',
      [messaging.operationName]: 'publish',
      [messaging.destination]: '',
      [messaging.routingKey]: routingKey,
      ...(delivery.messageId !== undefined && { [messaging.messageId]: delivery.messageId }),
      ...(context.delayMs !== undefined && state === 'delaying' && { [ackstate.delayMs]: context.delayMs }),
    };
    followed.republish = this.#tracer.startSpan(
      spanName('publish', routingKey),
      { kind: SpanKind.CLIENT, attributes },
      followed.context,
    );
  }

  #endRepublish(followed: FollowedDelivery, error: string | undefined): void {
    const span = followed.republish;
    if (span === undefined) return;
    followed.republish = undefined;
    if (error !== undefined) failed(span, error);
    span.end();
  }

  /** `ack` or `nack` on the channel: immediate (RabbitMQ confirms no settlement), so a span without duration. */
  #settle(followed: FollowedDelivery, context: DeliveryContext): void {
    if (context.outcome === 'split' || context.outcome === undefined) return;
    const operation = context.outcome === 'retried' ? 'nack' : 'ack';
    const span = this.#tracer.startSpan(
      spanName(operation, followed.queue),
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [messaging.system]: rabbitmq,
          [messaging.operationType]: 'settle',
          [messaging.operationName]: operation,
          [messaging.subscription]: followed.queue,
        },
      },
      followed.context,
    );
    span.end();
  }
}
