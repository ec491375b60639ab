/**
 * Publishes on a confirm channel with `mandatory` set. A message counts as sent only when the broker has
 * confirmed it and has not returned it as unroutable. Nothing is buffered in memory while disconnected:
 * a publish then fails at once, and its outbox row waits for the relay. The same while the broker blocks
 * the connection (a memory or disk alarm): a publish would wait in the blocked connection past its timeout,
 * and the relay would send its row again into the same connection, every copy delivered once the alarm ends.
 */
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, Message } from 'amqplib';
import { declareTopology, type Topology } from './topology.js';

export class NotConnectedError extends Error {
  override name = 'NotConnectedError';
  constructor(message = 'not connected to the broker') {
    super(message);
  }
}

export class UnroutableError extends Error {
  override name = 'UnroutableError';
}

export class PublishTimeoutError extends Error {
  override name = 'PublishTimeoutError';
}

/** Told how each publish ended (for metrics): the seconds until a confirm, or why it failed. */
export interface PublishObserver {
  confirmed(seconds: number): void;
  failed(error: Error): void;
}

export interface PublishRequest {
  /** `''`: the default exchange, where the routing key is a queue's name. */
  readonly exchange: string;
  readonly routingKey: string;
  readonly messageId: string;
  readonly body: Uint8Array;
  readonly contentType?: string;
  readonly headers?: Record<string, unknown>;
  readonly timestamp?: number;
}

function unroutable({ exchange, routingKey, messageId }: PublishRequest): string {
  const where =
    exchange === ''
      ? `${routingKey} does not exist`
      : `no queue is bound to exchange ${exchange} for routing key "${routingKey}"`;
  return `${where}: the broker returned ${messageId}`;
}

export class ConfirmPublisher {
  readonly #wrapper: ChannelWrapper;
  readonly #timeoutMs: number;
  readonly #observer: PublishObserver | undefined;
  #channel: ConfirmChannel | undefined;
  /** The broker blocks the connection's publishers (a resource alarm), since it said so. */
  #blocked = false;
  /** Message ids the broker returned as unroutable; the return always arrives before the confirm. */
  readonly #returned = new Set<string>();

  constructor(connection: AmqpConnectionManager, topology: Topology, timeoutMs: number, observer?: PublishObserver) {
    this.#timeoutMs = timeoutMs;
    this.#observer = observer;
    this.#wrapper = connection.createChannel({
      name: 'publisher',
      confirm: true,
      setup: async (channel: ConfirmChannel) => {
        await declareTopology(channel, topology);
        channel.on('return', (message: Message) => {
          const id = message.properties.messageId as unknown;
          if (typeof id === 'string') this.#returned.add(id);
        });
        channel.on('close', () => {
          if (this.#channel === channel) this.#channel = undefined;
        });
        this.#channel = channel;
      },
    });
    // Setup errors (a queue declared elsewhere with other arguments, for example) close the channel;
    // publishes then fail and the outbox keeps the messages. The relay's errors show them in the log.
    this.#wrapper.on('error', () => {});
    connection.on('blocked', () => {
      this.#blocked = true;
    });
    connection.on('unblocked', () => {
      this.#blocked = false;
    });
    connection.on('disconnect', () => {
      this.#blocked = false;
    });
  }

  /** The broker blocks the connection's publishers (a memory or disk alarm). */
  get blocked(): boolean {
    return this.#blocked;
  }

  /** A channel is open and the broker does not block publishing. */
  get connected(): boolean {
    return this.#channel !== undefined && !this.#blocked;
  }

  publish(request: PublishRequest): Promise<void> {
    const channel = this.#channel;
    if (!channel || this.#blocked) {
      const error = new NotConnectedError(
        channel ? 'the broker blocks publishing (a memory or disk alarm)' : 'not connected to the broker',
      );
      this.#observer?.failed(error);
      return Promise.reject(error);
    }
    const started = performance.now();
    let timedOut = false;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        timedOut = true;
        const error = new PublishTimeoutError(`no confirm for ${request.messageId} within ${this.#timeoutMs} ms`);
        this.#observer?.failed(error);
        reject(error);
      }, this.#timeoutMs);
      const settle = (error: unknown) => {
        clearTimeout(timer);
        const returned = this.#returned.delete(request.messageId);
        let failure: Error | undefined;
        if (error) failure = error instanceof Error ? error : new Error(String(error));
        else if (returned) failure = new UnroutableError(unroutable(request));
        if (!timedOut && this.#observer) {
          if (failure) this.#observer.failed(failure);
          else this.#observer.confirmed((performance.now() - started) / 1_000);
        }
        if (failure) reject(failure);
        else resolve();
      };
      try {
        channel.publish(
          request.exchange,
          request.routingKey,
          Buffer.from(request.body),
          {
            persistent: true,
            mandatory: true,
            contentType: request.contentType ?? 'application/json',
            messageId: request.messageId,
            timestamp: request.timestamp ?? Math.floor(Date.now() / 1000),
            headers: request.headers,
          },
          settle,
        );
      } catch (error) {
        settle(error);
      }
    });
  }

  async close(): Promise<void> {
    await this.#wrapper.close().catch(() => {});
  }
}
