/**
 * The broker topology of a runtime, from the definitions of its services: every queue consumed or published
 * to (each with `<queue>.dead`), every exchange, and the bindings of consumers' queues to exchanges. Each
 * channel declares it in its setup, so it is declared again after every reconnection.
 */
import type { Channel, Options } from 'amqplib';
import type { ExchangeType } from '../../api/destination.js';
import { redact } from '../../redact.js';

export const queueTypes = ['classic', 'quorum'] as const;
export type QueueType = (typeof queueTypes)[number];

export interface ExchangeDeclaration {
  readonly name: string;
  readonly type: ExchangeType;
}

export interface BindingDeclaration {
  readonly queue: string;
  readonly exchange: string;
  readonly routingKey: string;
}

export interface Topology {
  /** Every queue this process publishes to or consumes from; each also gets `<queue>.dead`. */
  readonly queues: readonly string[];
  /** Durable exchanges, declared before the queues are bound to them. */
  readonly exchanges?: readonly ExchangeDeclaration[];
  readonly bindings?: readonly BindingDeclaration[];
  /** `classic` when unset. */
  readonly queueType?: QueueType;
  /** Quorum queues only: deliveries after which the broker itself dead-letters a message. */
  readonly deliveryLimit?: number;
  /** The delay queues of delayed retries (ackstate's own, no `.dead`): each returns its messages to `queue`. */
  readonly delayQueues?: readonly DelayQueue[];
}

/** A delay queue: every message in it waits `ttlMs`, then the broker dead-letters it back to `queue`. */
export interface DelayQueue {
  readonly name: string;
  readonly queue: string;
  readonly ttlMs: number;
}

export const deadLetterQueue = (queue: string) => `${queue}.dead`;

export interface QueueDeclaration {
  readonly queue: string;
  readonly options: Options.AssertQueue;
}

/**
 * What each queue is declared with. Classic: durable with no other arguments, so that the seed's
 * services, declaring `queue_declare(name, durable=True)`, can share them. Quorum: replicated, and the
 * broker dead-letters a message to `<queue>.dead` once it was delivered `deliveryLimit` times, a backstop
 * behind the runtime's own attempt count (MAX_ATTEMPTS), which normally dead-letters it first.
 */
export function queueDeclarations(topology: Topology): QueueDeclaration[] {
  return [...mainQueueDeclarations(topology), ...delayQueueDeclarations(topology)];
}

/**
 * Delay queues have no consumer and no `.dead`: a message leaves one only when its TTL ends, dead-lettered
 * to its consumer's queue. Quorum: durable and replicated like the main queues, and dead-lettered
 * at-least-once (which needs `reject-publish`), so that a message moving back cannot be lost.
 */
function delayQueueDeclarations({ delayQueues = [], queueType = 'classic' }: Topology): QueueDeclaration[] {
  return delayQueues.map(({ name, queue, ttlMs }) => {
    const returning = { 'x-message-ttl': ttlMs, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': queue };
    const quorum = {
      'x-queue-type': 'quorum',
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    };
    return {
      queue: name,
      options: { durable: true, arguments: queueType === 'quorum' ? { ...returning, ...quorum } : returning },
    };
  });
}

function mainQueueDeclarations({ queues, queueType = 'classic', deliveryLimit }: Topology): QueueDeclaration[] {
  if (queueType === 'classic') {
    return queues.flatMap((queue) => [
      { queue, options: { durable: true } },
      { queue: deadLetterQueue(queue), options: { durable: true } },
    ]);
  }
  if (deliveryLimit === undefined) throw new Error('quorum queues need a delivery limit');
  const quorum = { 'x-queue-type': 'quorum' };
  return queues.flatMap((queue) => [
    {
      queue,
      options: {
        durable: true,
        arguments: {
          ...quorum,
          'x-delivery-limit': deliveryLimit,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': deadLetterQueue(queue),
          // The broker's own dead-lettering must not lose what it moves: at-least-once needs reject-publish.
          'x-dead-letter-strategy': 'at-least-once',
          'x-overflow': 'reject-publish',
        },
      },
    },
    { queue: deadLetterQueue(queue), options: { durable: true, arguments: quorum } },
  ]);
}

/** A queue exists with other arguments (another type, another delivery limit) than this process declares. */
export class QueueMismatchError extends Error {
  override name = 'QueueMismatchError';
  constructor(
    readonly queue: string,
    queueType: QueueType,
    brokerMessage: string,
  ) {
    super(
      redact(
        `queue ${queue} already exists with other arguments than queue type ${queueType} declares (${brokerMessage}). ` +
          "A queue's type and arguments cannot be changed in place: set the broker's queueType (and deliveryLimit) to " +
          'match the existing queue, or drain and delete it, or move to new queue names',
      ),
    );
  }
}

const isPreconditionFailed = (error: unknown) => (error as { code?: unknown } | undefined)?.code === 406;

/** An exchange exists with another type (or other arguments) than this process declares. */
export class ExchangeMismatchError extends Error {
  override name = 'ExchangeMismatchError';
  constructor(
    readonly exchange: string,
    type: ExchangeType,
    brokerMessage: string,
  ) {
    super(
      redact(
        `exchange ${exchange} already exists with other arguments than the ${type} exchange declared here (${brokerMessage}). ` +
          'An exchange cannot be changed in place: define it with its existing type, or delete it, or use a new name',
      ),
    );
  }
}

/**
 * Declares every exchange, every queue with its dead-letter queue, then the bindings. A queue or exchange
 * that exists with other arguments fails the declaration with PRECONDITION_FAILED, which also closes the
 * channel; that becomes a QueueMismatchError or ExchangeMismatchError naming it and the way out.
 */
export async function declareTopology(channel: Channel, topology: Topology): Promise<void> {
  for (const { name, type } of topology.exchanges ?? []) {
    try {
      await channel.assertExchange(name, type, { durable: true });
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
      throw new ExchangeMismatchError(name, type, brokerMessageOf(error));
    }
  }
  await declareQueues(channel, topology);
  for (const { queue, exchange, routingKey } of topology.bindings ?? []) {
    await channel.bindQueue(queue, exchange, routingKey);
  }
}

function brokerMessageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // amqplib wraps the broker's reply: `Channel closed by server: 406 (…) with message "<reply>"`.
  return /with message "(.*)"$/s.exec(text)?.[1] ?? text;
}

async function declareQueues(channel: Channel, topology: Topology): Promise<void> {
  for (const { queue, options } of queueDeclarations(topology)) {
    try {
      await channel.assertQueue(queue, options);
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
      throw new QueueMismatchError(queue, topology.queueType ?? 'classic', brokerMessageOf(error));
    }
  }
}
