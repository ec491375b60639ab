import test from 'ava';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { initialDeliveryContext, type Delivery, type DeliveryContext } from '../../machines/delivery.js';
import type { ActorStatus, ObservedActor, ObservedContext } from '../observation.js';
import { DeliverySpans, headerContext } from './delivery-spans.js';

const traceId = '0af7651916cd43dd8448eb211c80319c';
const parentId = 'b7ad6b7169203331';
const otherTraceId = '4bf92f3577b34da6a3ce929d0e0e4736';

function setUp() {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const spans = new DeliverySpans(provider.getTracer('test'), headerContext(new W3CTraceContextPropagator()));
  const finished = (name: string) => exporter.getFinishedSpans().filter((span) => span.name === name);
  return { spans, exporter, finished };
}

const actor: ObservedActor = {
  machine: 'delivery',
  kind: 'delivery',
  systemId: undefined,
  name: 'delivery',
  queue: 'user_queue',
  owner: { service: 'card', consumer: 'users', queue: 'user_queue', describe: { received: String, completed: String } },
  initial: 'receiving',
  startedAt: 0,
  state: undefined,
  since: 0,
  step: 'receiving',
  stepSince: 0,
  ended: false,
};

function delivery(tag: number, traceparent?: string): Delivery {
  return {
    queue: 'user_queue',
    exchange: '',
    routingKey: 'user_queue',
    deliveryTag: tag,
    redelivered: false,
    messageId: `m-${tag}`,
    contentType: 'application/json',
    headers: traceparent === undefined ? {} : { traceparent },
    content: new Uint8Array(),
  };
}

function contextOf(deliveries: readonly Delivery[], changes: Partial<DeliveryContext> = {}): ObservedContext {
  const context: DeliveryContext = {
    ...initialDeliveryContext({
      deliveries,
      maxAttempts: 5,
      retryLevels: { immediateRetries: 3, delayedRetriesMs: [] },
    }),
    ...changes,
  };
  return context as unknown as ObservedContext;
}

/** Drives the listener through `states`, each with its context, then ends the machine. */
function run(
  spans: DeliverySpans,
  deliveries: readonly Delivery[],
  states: readonly (readonly [string, Partial<DeliveryContext>])[],
  status: Exclude<ActorStatus, 'active'> = 'done',
) {
  spans.started({
    type: 'started',
    actor,
    state: 'receiving',
    value: 'receiving',
    context: contextOf(deliveries),
    status: 'active',
  });
  let from: string | null = null;
  let last: Partial<DeliveryContext> = {};
  for (const [to, changes] of states) {
    last = changes;
    spans.changed({
      type: 'changed',
      actor,
      from,
      to,
      ms: 1,
      context: contextOf(deliveries, changes),
      status: 'active',
    });
    from = to;
  }
  spans.ended({ type: 'ended', actor, status, context: contextOf(deliveries, last), ms: 5 });
}

test('a message continues the trace its traceparent carries, its states are span events, its transaction a child', (t) => {
  const { spans, finished } = setUp();
  const deliveries = [delivery(1, `00-${traceId}-${parentId}-01`)];
  spans.started({
    type: 'started',
    actor,
    state: 'receiving',
    value: 'receiving',
    context: contextOf(deliveries),
    status: 'active',
  });
  t.is(spans.transactionOf(deliveries), undefined, 'no transaction before persisting');
  spans.changed({
    type: 'changed',
    actor,
    from: null,
    to: 'persisting',
    ms: undefined,
    context: contextOf(deliveries),
    status: 'active',
  });
  t.truthy(spans.transactionOf(deliveries), 'a transaction while persisting');
  const acked = contextOf(deliveries, { outcome: 'acked', duplicates: [false] });
  spans.changed({ type: 'changed', actor, from: 'persisting', to: 'done', ms: 2, context: acked, status: 'done' });
  t.is(spans.transactionOf(deliveries), undefined, 'the transaction ended with persisting');
  spans.ended({ type: 'ended', actor, status: 'done', context: acked, ms: 3 });

  const [processed] = finished('process user_queue');
  t.truthy(processed);
  t.is(processed!.kind, SpanKind.CONSUMER);
  t.is(processed!.spanContext().traceId, traceId);
  t.is(processed!.parentSpanContext?.spanId, parentId);
  t.deepEqual(
    processed!.events.map((event) => event.name),
    ['receiving', 'persisting', 'done'],
  );
  t.like(processed!.attributes, {
    'messaging.message.id': 'm-1',
    'messaging.rabbitmq.message.delivery_tag': 1,
    'ackstate.service': 'card',
    'ackstate.outcome': 'acked',
  });
  t.is(processed!.status.code, SpanStatusCode.UNSET);
  const [transaction] = finished('transaction card');
  t.is(transaction!.parentSpanContext?.spanId, processed!.spanContext().spanId);
  const [ack] = finished('ack user_queue');
  t.is(ack!.attributes['messaging.operation.type'], 'settle');
});

test('a dead letter: its publish is a child span, its reason an attribute, the span an error', (t) => {
  const { spans, finished } = setUp();
  const failure = { kind: 'poison' as const, reason: 'body is not JSON' };
  run(
    spans,
    [delivery(7)],
    [
      ['deadLettering', { failure, attempts: 1, error: failure.reason }],
      ['done', { failure, attempts: 1, error: failure.reason, outcome: 'dead-lettered' }],
    ],
  );
  const [processed] = finished('process user_queue');
  t.like(processed!.attributes, {
    'ackstate.outcome': 'dead-lettered',
    'ackstate.dead_letter.reason': 'body is not JSON',
    'ackstate.attempts': 1,
    'error.type': 'poison',
  });
  t.is(processed!.status.code, SpanStatusCode.ERROR);
  t.is(processed!.parentSpanContext, undefined, 'no traceparent: a trace of its own');
  const [published] = finished('publish user_queue.dead');
  t.is(published!.parentSpanContext?.spanId, processed!.spanContext().spanId);
  t.is(published!.status.code, SpanStatusCode.UNSET);
  t.is(finished('ack user_queue').length, 1);
});

test('a failed attempt: the transaction is an error, the message is nacked', (t) => {
  const { spans, finished } = setUp();
  const failure = { kind: 'transient' as const, reason: 'deadlock detected' };
  run(
    spans,
    [delivery(2)],
    [
      ['persisting', {}],
      ['rollingBack', { failure, error: failure.reason }],
      ['backingOff', { failure, error: failure.reason, attempts: 1 }],
      ['done', { failure, error: failure.reason, attempts: 1, outcome: 'retried' }],
    ],
  );
  t.is(finished('transaction card')[0]!.status.code, SpanStatusCode.ERROR);
  t.is(finished('nack user_queue').length, 1);
  t.is(finished('ack user_queue').length, 0);
  t.is(finished('process user_queue')[0]!.attributes['ackstate.outcome'], 'retried');
});

test('a batch starts a trace of its own and links to the trace of each of its messages', (t) => {
  const { spans, finished } = setUp();
  const deliveries = [
    delivery(1, `00-${traceId}-${parentId}-01`),
    delivery(2, `00-${otherTraceId}-${parentId}-01`),
    delivery(3),
  ];
  run(spans, deliveries, [
    ['persisting', {}],
    ['done', { outcome: 'acked', duplicates: [false, false, false] }],
  ]);
  const [batch] = finished('process user_queue');
  t.is(batch!.parentSpanContext, undefined);
  t.false([traceId, otherTraceId].includes(batch!.spanContext().traceId), 'not in any message trace');
  t.deepEqual(
    batch!.links.map((link) => link.context.traceId),
    [traceId, otherTraceId],
  );
  t.is(batch!.attributes['messaging.batch.message_count'], 3);
  t.is(batch!.attributes['messaging.message.id'], undefined, 'a batch names no single message');
});

test('a delivery machine that fails ends its spans as errors', (t) => {
  const { spans, finished } = setUp();
  run(spans, [delivery(4)], [['persisting', {}]], 'error');
  t.is(finished('transaction card')[0]!.status.code, SpanStatusCode.ERROR);
  const [processed] = finished('process user_queue');
  t.is(processed!.status.code, SpanStatusCode.ERROR);
  t.is(processed!.attributes['ackstate.outcome'], 'error');
});
