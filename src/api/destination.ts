/**
 * Where a message goes. A queue is reached through the default exchange (routing key = the queue's name);
 * an exchange is declared by the runtime with its type, and a consumer's queue is bound to it by the
 * consumer's `bindings`.
 */

/** The exchange types ackstate declares (RabbitMQ's headers exchange is not supported). */
export type ExchangeType = 'direct' | 'fanout' | 'topic';

/**
 * A durable exchange, declared by the runtime at start and after every reconnection.
 *
 * @example
 * ```ts
 * const cardsIssued = defineExchange({ name: 'cards.issued', type: 'fanout' });
 * ```
 */
export interface Exchange {
  readonly name: string;
  readonly type: ExchangeType;
}

/**
 * Defines an exchange: a name (letters, digits and `_ . : -`, not starting with `amq.`) and a type.
 * The same name must always be defined with the same type; the runtime refuses to start otherwise.
 */
export function defineExchange(exchange: Exchange): Exchange {
  return Object.freeze({ name: exchange.name, type: exchange.type });
}

/**
 * A destination of an outgoing message: a queue (default exchange), or an exchange with a routing key
 * (`''` when omitted; ignored by a fanout exchange).
 *
 * @example
 * ```ts
 * out.publish({ queue: 'card_queue' }, card);
 * out.publish({ exchange: cardsIssued, routingKey: 'card.issued' }, card);
 * ```
 */
export type Destination = { readonly queue: string } | { readonly exchange: Exchange; readonly routingKey?: string };

/**
 * A binding of a consumer's queue to an exchange: the routing key of a direct exchange, the pattern of a
 * topic exchange (`user.*`, `#`), nothing for a fanout exchange.
 */
export interface Binding {
  readonly exchange: Exchange;
  readonly routingKey?: string;
}

/** Headers of an outgoing message: plain values, kept as they are in the outbox and on the wire. */
export type MessageHeaders = Readonly<Record<string, string | number | boolean>>;

/** What can go with a message besides its body. */
export interface PublishOptions {
  /** The message id on the wire: a UUID, random when omitted. It must be unique: it is the outbox row's key. */
  readonly messageId?: string;
  readonly headers?: MessageHeaders;
}

/**
 * Records outgoing messages inside the current transaction. Nothing is sent before the transaction
 * commits: each message is an outbox row, published after the commit with publisher confirms and
 * `mandatory`, and again by the relay until the broker confirms it.
 *
 * @example
 * ```ts
 * async handle(trx, user, out) {
 *   await trx.insertInto('cards').values(card).execute();
 *   out.publish({ queue: 'card_queue' }, card);
 * }
 * ```
 */
export interface Publisher {
  /**
   * Adds a message: `body` is sent as JSON. Returns its message id. The destination must be one the
   * runtime declared (a consumed queue, or one listed in a `publishes` of the service or its consumers);
   * anything else throws, since the broker would refuse it after the commit.
   */
  publish(destination: Destination, body: unknown, options?: PublishOptions): string;
}
