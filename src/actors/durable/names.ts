/**
 * The broker names and inbox keys of a durable actor's consumers. Queues the runtime makes for an actor
 * carry the service's name too: two services on one broker may define actors of the same name, and a
 * firing or an event taken from the other's queue would meet a database that does not know it.
 */
import type { ActorEventOrigin } from '../../api/actor.js';

/** The queue of an actor's timer firings: `<service>.<actor>.timers`. */
export function timerQueueName(service: string, actor: string): string {
  return `${service}.${actor}.timers`;
}

// A routing key may hold what a queue name may not (`*` and `#` of topic patterns, spaces): spelled out.
const spelledOut = (routingKey: string) =>
  routingKey
    .replaceAll('*', 'any')
    .replaceAll('#', 'all')
    .replace(/[^A-Za-z0-9_.:-]/g, '_');

/**
 * The queue an event source is consumed from: its own queue, or for an exchange the queue the runtime
 * binds to it, `<service>.<actor>.<exchange>` and `.<routing key>` when there is one.
 */
export function sourceQueueName(service: string, actor: string, origin: ActorEventOrigin): string {
  if ('queue' in origin) return origin.queue;
  const routingKey = origin.routingKey ?? '';
  const suffix = routingKey === '' ? '' : `.${spelledOut(routingKey)}`;
  return `${service}.${actor}.${origin.exchange.name}${suffix}`;
}

/** The default inbox key of an event: a repeat of the same source's event for one instance is a duplicate. */
export function eventKey(actor: string, label: string, instanceId: string): string {
  return `${actor}:${label}:${instanceId}`;
}

/** The inbox key of a timer firing: its token, new at every set of the timer. */
export function firingKey(actor: string, token: string): string {
  return `${actor}:timer:${token}`;
}
