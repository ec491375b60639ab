/**
 * The `Publisher` a handler or route writes to: it collects outgoing messages as outbox rows of the
 * current transaction, after checking that the runtime declared their destination (the broker would
 * refuse an undeclared exchange only after the commit, closing the publishing channel).
 */
import { randomUUID } from 'node:crypto';
import type { Destination, PublishOptions, Publisher } from '../../api/destination.js';
import type { OutgoingMessage } from '../../db/messaging-queries.js';
import { UndeclaredDestinationError } from '../../api/errors.js';
import type { Topology } from '../broker/topology.js';
import type { TransactionTrace } from '../../observability/tracing/tracing.js';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What may be published to: the queues and exchanges of the topology. */
export class DeclaredDestinations {
  readonly #queues: ReadonlySet<string>;
  readonly #exchanges: ReadonlyMap<string, string>;

  constructor(topology: Topology) {
    this.#queues = new Set(topology.queues);
    this.#exchanges = new Map((topology.exchanges ?? []).map((exchange) => [exchange.name, exchange.type]));
  }

  /** The exchange and routing key of a destination; throws when it is not declared. */
  address(destination: Destination): { exchange: string; routingKey: string } {
    if ('queue' in destination) {
      if (!this.#queues.has(destination.queue)) {
        throw new UndeclaredDestinationError(
          `queue ${destination.queue} is not declared: list it in the publishes of the service or consumer`,
        );
      }
      return { exchange: '', routingKey: destination.queue };
    }
    const { exchange, routingKey = '' } = destination;
    if (this.#exchanges.get(exchange.name) !== exchange.type) {
      throw new UndeclaredDestinationError(
        `exchange ${exchange.name} (${exchange.type}) is not declared: list it in the publishes of the service or consumer`,
      );
    }
    return { exchange: exchange.name, routingKey };
  }
}

/**
 * Collects the messages of one transaction. Traced, each message's headers carry the trace context of its
 * creation (`traceparent`, `tracestate`), kept in its outbox row for whenever it is published.
 */
export class OutgoingMessages implements Publisher {
  readonly messages: OutgoingMessage[] = [];
  readonly #destinations: DeclaredDestinations;
  readonly #trace: Pick<TransactionTrace, 'headersFor'> | undefined;

  constructor(destinations: DeclaredDestinations, trace?: Pick<TransactionTrace, 'headersFor'>) {
    this.#destinations = destinations;
    this.#trace = trace;
  }

  publish(destination: Destination, body: unknown, options: PublishOptions = {}): string {
    const { exchange, routingKey } = this.#destinations.address(destination);
    const text = JSON.stringify(body) as string | undefined;
    if (text === undefined) throw new TypeError('a message body must be a JSON value');
    const chosen = options.messageId;
    if (chosen !== undefined && !uuid.test(chosen)) {
      throw new TypeError(`messageId ${chosen} is not a UUID (it keys the message's outbox row)`);
    }
    const id = chosen ?? randomUUID();
    const headers = this.#trace
      ? { ...options.headers, ...this.#trace.headersFor(exchange, routingKey, id) }
      : (options.headers ?? null);
    this.messages.push({ id, exchange, routingKey, body: text, headers });
    return id;
  }

  /** Where the messages collected so far end, for `discardSince`. */
  mark(): number {
    return this.messages.length;
  }

  /** Forgets the messages collected after `mark`: their handler's effects were rolled back. */
  discardSince(mark: number): void {
    this.messages.length = mark;
  }
}
