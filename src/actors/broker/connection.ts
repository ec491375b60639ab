/**
 * The broker connection: amqp-connection-manager reconnects (and fails over between several URLs), and
 * re-runs each channel's setup, which re-declares the topology. Heartbeats and a connect timeout make a
 * dead peer noticed instead of hanging.
 */
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import amqp from 'amqp-connection-manager';
import { fromCallback } from 'xstate';
import type { BrokerTls } from '../../api/options.js';
import { connectionMachine, type ConnectionEvent } from '../../machines/connection.js';
import { redact } from '../../redact.js';
import { describeError as describe } from '../../policies/describe-error.js';
import { coalesceWrites, socketOf } from './coalesce-writes.js';

/** The URL each connection manager last connected to, password redacted (it does not expose it itself). */
const connectedUrls = new WeakMap<AmqpConnectionManager, string>();
const shownUrl = (url: unknown) => redact(typeof url === 'string' ? url : 'broker');

export interface BrokerConnectionOptions {
  readonly urls: readonly string[];
  /** CA, client certificate and key, handed to Node's TLS for amqps:// URLs; amqp:// ignores them. */
  readonly tls?: BrokerTls;
  readonly connectionName?: string;
  /** A connection silent for about twice this long is taken for lost. Default 5. */
  readonly heartbeatSeconds?: number;
}

export function connectBroker({
  urls,
  tls = {},
  connectionName = 'ackstate',
  heartbeatSeconds = 5,
}: BrokerConnectionOptions): AmqpConnectionManager {
  const connection = amqp.connect([...urls], {
    heartbeatIntervalInSeconds: heartbeatSeconds,
    reconnectTimeInSeconds: 1,
    connectionOptions: {
      timeout: 10_000,
      keepAlive: true,
      // Without it, Nagle holds a publish behind an ack frame the broker never answers, until the broker's
      // delayed TCP ack: about 40 ms per hop on an idle consumer. A turn's frames still leave together
      // (`coalesce-writes.ts`).
      noDelay: true,
      clientProperties: { connection_name: connectionName },
      ...tls,
    },
  });
  connection.on('connect', ({ connection: model, url }: { connection: unknown; url: unknown }) => {
    connectedUrls.set(connection, shownUrl(url));
    const socket = socketOf(model);
    if (socket) coalesceWrites(socket);
  });
  return connection;
}

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
