/**
 * The broker connection: amqp-connection-manager reconnects (and fails over between several URLs), and
 * re-runs each channel's setup, which re-declares the topology. Heartbeats and a connect timeout make a
 * dead peer noticed instead of hanging.
 */
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import amqp from 'amqp-connection-manager';
import type { Channel } from 'amqplib';
import { fromCallback } from 'xstate';
import { connectionMachine, type ConnectionEvent } from '../machines/connection.js';
import { redact } from '../redact.js';
import type { BrokerTls } from '../tls-settings.js';

export interface Topology {
  /** Every queue this process publishes to or consumes from; each also gets `<queue>.dead`. */
  readonly queues: readonly string[];
}

export const deadLetterQueue = (queue: string) => `${queue}.dead`;

/**
 * Declares each queue durable with no other arguments, so that the seed's services, declaring
 * `queue_declare(name, durable=True)`, can share them; and its dead-letter queue the same way.
 */
export async function declareTopology(channel: Channel, topology: Topology): Promise<void> {
  for (const queue of topology.queues) {
    await channel.assertQueue(queue, { durable: true });
    await channel.assertQueue(deadLetterQueue(queue), { durable: true });
  }
}

export function brokerUrls(amqpUrl: string): string[] {
  return amqpUrl
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url.length > 0);
}

/** `tls` (CA, client certificate and key) is handed to Node's TLS for amqps:// URLs; amqp:// ignores it. */
export function connectBroker(amqpUrl: string, tls: BrokerTls = {}): AmqpConnectionManager {
  return amqp.connect(brokerUrls(amqpUrl), {
    heartbeatIntervalInSeconds: 5,
    reconnectTimeInSeconds: 1,
    connectionOptions: { timeout: 10_000, keepAlive: true, clientProperties: { connection_name: 'ackstate' }, ...tls },
  });
}

const describe = (error: unknown) => redact(error instanceof Error ? error.message : String(error ?? 'unknown'));

/** The connection machine, fed by the connection manager's events. */
export function connectionLogic(connection: AmqpConnectionManager) {
  return connectionMachine.provide({
    actors: {
      watch: fromCallback<ConnectionEvent>(({ sendBack }) => {
        const onConnect = ({ url }: { url: unknown }) =>
          sendBack({ type: 'CONNECTED', url: redact(typeof url === 'string' ? url : 'broker') });
        const onDisconnect = ({ err }: { err: Error }) => sendBack({ type: 'DISCONNECTED', reason: describe(err) });
        const onConnectFailed = ({ err }: { err: Error }) => sendBack({ type: 'DISCONNECTED', reason: describe(err) });
        const onBlocked = ({ reason }: { reason: string }) => sendBack({ type: 'BLOCKED', reason });
        const onUnblocked = () => sendBack({ type: 'UNBLOCKED' });
        connection.on('connect', onConnect);
        connection.on('disconnect', onDisconnect);
        connection.on('connectFailed', onConnectFailed);
        connection.on('blocked', onBlocked);
        connection.on('unblocked', onUnblocked);
        if (connection.isConnected()) sendBack({ type: 'CONNECTED', url: 'broker' });
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
