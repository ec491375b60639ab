/**
 * Span names and attributes after the OpenTelemetry messaging semantic conventions (RabbitMQ). The
 * messaging conventions are still in development, so their keys are written here rather than imported from
 * `@opentelemetry/semantic-conventions/incubating`, which its authors advise against depending on; they are
 * the names most backends and instrumentations know (`messaging.system`, `messaging.operation.type` with
 * `publish`), the later renames aside (`messaging.system.name`, `send`, `rabbitmq.destination.routing_key`).
 */

export const messaging = {
  system: 'messaging.system',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  destination: 'messaging.destination.name',
  subscription: 'messaging.destination.subscription.name',
  messageId: 'messaging.message.id',
  batchCount: 'messaging.batch.message_count',
  routingKey: 'messaging.rabbitmq.destination.routing_key',
  deliveryTag: 'messaging.rabbitmq.message.delivery_tag',
} as const;

/** ackstate's own attributes: what the delivery machine decided. */
export const ackstate = {
  service: 'ackstate.service',
  consumer: 'ackstate.consumer',
  outcome: 'ackstate.outcome',
  attempts: 'ackstate.attempts',
  error: 'ackstate.error',
  deadLetterReason: 'ackstate.dead_letter.reason',
  delayMs: 'ackstate.delay_ms',
  from: 'ackstate.from',
  redelivered: 'ackstate.redelivered',
  relayed: 'ackstate.outbox.relayed',
  outboxAttempts: 'ackstate.outbox.attempts',
} as const;

export const rabbitmq = 'rabbitmq';

/**
 * What a span names as a message's destination: the exchange, or for the default exchange (where the
 * routing key is a queue's name) the queue.
 */
export function destinationLabel(exchange: string, routingKey: string): string {
  return exchange === '' ? routingKey : exchange;
}

/**
 * `publish <exchange>` (`publish <queue>` through the default exchange), `create …`, `process <queue>`,
 * `ack <queue>`, `transaction <service>`.
 */
export function spanName(
  operation: 'publish' | 'create' | 'process' | 'ack' | 'nack' | 'transaction',
  destination: string,
): string {
  return destination === '' ? operation : `${operation} ${destination}`;
}

/** The messaging attributes of a message sent to `exchange` with `routingKey`. */
export function messageAttributes(
  operationType: 'create' | 'publish',
  exchange: string,
  routingKey: string,
  messageId: string,
): Record<string, string> {
  const attributes: Record<string, string> = {
    [messaging.system]: rabbitmq,
    [messaging.operationType]: operationType,
    [messaging.operationName]: operationType,
    [messaging.destination]: exchange,
    [messaging.messageId]: messageId,
  };
  if (routingKey !== '') attributes[messaging.routingKey] = routingKey;
  return attributes;
}

/** An HTTP server span's name: the method and the route's template (`POST /users`), or the method alone. */
export function httpSpanName(method: string, route: string | undefined): string {
  return route === undefined ? method : `${method} ${route}`;
}

/** The runtime's own routes, which are not traced: probes, metrics and the live view. */
export function isRuntimeRoute(route: string): boolean {
  return (
    route === '/healthz' || route === '/readyz' || route === '/metrics' || route === '/viz' || route.startsWith('/viz/')
  );
}
