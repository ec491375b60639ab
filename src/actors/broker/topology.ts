/**
 * The broker connection: amqp-connection-manager reconnects (and fails over between several URLs), and
 * re-runs each channel's setup, which re-declares the topology. Heartbeats and a connect timeout make a
 * dead peer noticed instead of hanging.
 */
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import amqp from 'amqp-connection-manager';
import type { Channel, Options } from 'amqplib';
import { fromCallback } from 'xstate';
import { connectionMachine, type ConnectionEvent } from '../../machines/connection.js';
import { redact } from '../../redact.js';
import type { BrokerTls } from '../../app/tls-settings.js';

export const queueTypes = ['classic', 'quorum'] as const;
export type QueueType = (typeof queueTypes)[number];

export interface Topology {
  /** Every queue this process publishes to or consumes from; each also gets `<queue>.dead`. */
  readonly queues: readonly string[];
  /** `classic` when unset. */
  readonly queueType?: QueueType;
  /** Quorum queues only: deliveries after which the broker itself dead-letters a message. */
  readonly deliveryLimit?: number;
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
export function queueDeclarations({ queues, queueType = 'classic', deliveryLimit }: Topology): QueueDeclaration[] {
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
        `queue ${queue} already exists with other arguments than QUEUE_TYPE=${queueType} declares (${brokerMessage}). ` +
          "A queue's type and arguments cannot be changed in place: set QUEUE_TYPE (and QUORUM_DELIVERY_LIMIT) to " +
          'match the existing queue, or drain and delete it, or move to new queue names with USER_QUEUE and CARD_QUEUE',
      ),
    );
  }
}

const isPreconditionFailed = (error: unknown) => (error as { code?: unknown } | undefined)?.code === 406;

/**
 * Declares every queue and its dead-letter queue. A queue that exists with other arguments fails the
 * declaration with PRECONDITION_FAILED, which also closes the channel; that becomes a QueueMismatchError
 * naming the queue and the way out.
 */
export async function declareTopology(channel: Channel, topology: Topology): Promise<void> {
  for (const { queue, options } of queueDeclarations(topology)) {
    try {
      await channel.assertQueue(queue, options);
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
      const text = error instanceof Error ? error.message : String(error);
      // amqplib wraps the broker's reply: `Channel closed by server: 406 (…) with message "<reply>"`.
      const brokerMessage = /with message "(.*)"$/s.exec(text)?.[1] ?? text;
      throw new QueueMismatchError(queue, topology.queueType ?? 'classic', brokerMessage);
    }
  }
}

export function brokerUrls(amqpUrl: string): string[] {
  return amqpUrl
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url.length > 0);
}

/** The URL each connection manager last connected to, password redacted (it does not expose it itself). */
const connectedUrls = new WeakMap<AmqpConnectionManager, string>();
const shownUrl = (url: unknown) => redact(typeof url === 'string' ? url : 'broker');

/** `tls` (CA, client certificate and key) is handed to Node's TLS for amqps:// URLs; amqp:// ignores it. */
export function connectBroker(amqpUrl: string, tls: BrokerTls = {}): AmqpConnectionManager {
  const connection = amqp.connect(brokerUrls(amqpUrl), {
    heartbeatIntervalInSeconds: 5,
    reconnectTimeInSeconds: 1,
    connectionOptions: { timeout: 10_000, keepAlive: true, clientProperties: { connection_name: 'ackstate' }, ...tls },
  });
  connection.on('connect', ({ url }: { url: unknown }) => connectedUrls.set(connection, shownUrl(url)));
  return connection;
}

const describe = (error: unknown) => redact(error instanceof Error ? error.message : String(error ?? 'unknown'));

/** The connection machine, fed by the connection manager's events. */
export function connectionLogic(connection: AmqpConnectionManager) {
  return connectionMachine.provide({
    actors: {
      watch: fromCallback<ConnectionEvent>(({ sendBack }) => {
        const onConnect = ({ url }: { url: unknown }) => sendBack({ type: 'CONNECTED', url: shownUrl(url) });
        const onDisconnect = ({ err }: { err: Error }) => sendBack({ type: 'DISCONNECTED', reason: describe(err) });
        const onConnectFailed = ({ err }: { err: Error }) => sendBack({ type: 'DISCONNECTED', reason: describe(err) });
        const onBlocked = ({ reason }: { reason: string }) => sendBack({ type: 'BLOCKED', reason });
        const onUnblocked = () => sendBack({ type: 'UNBLOCKED' });
        connection.on('connect', onConnect);
        connection.on('disconnect', onDisconnect);
        connection.on('connectFailed', onConnectFailed);
        connection.on('blocked', onBlocked);
        connection.on('unblocked', onUnblocked);
        if (connection.isConnected()) sendBack({ type: 'CONNECTED', url: connectedUrls.get(connection) ?? 'broker' });
        return () => {
          connection.off('connect', onConnect);
          connection.off('disconnect', onDisconnect);
          connection.off('connectFailed', onConnectFailed);
          connection.off('blocked', onBlocked);
          connection.off('unblocked', onUnblocked);
        };
      }),
    },
  });
}
