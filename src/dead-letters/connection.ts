/**
 * One plain amqplib connection for a short command: each URL tried once, in order, each within a deadline,
 * so that an unreachable broker is an error in bounded time instead of a retry loop (the services'
 * connection manager retries forever, which is right for them and wrong for a command).
 */
import amqplib, { type ChannelModel } from 'amqplib';
import { describeError } from '../policies/describe-error.js';
import { redact } from '../redact.js';
import type { BrokerTls } from '../api/options.js';

export class BrokerUnreachableError extends Error {
  override name = 'BrokerUnreachableError';
}

export interface ConnectOptions {
  readonly urls: readonly string[];
  readonly tls: BrokerTls;
  /** For each URL: the TCP/TLS connect and the AMQP handshake together. */
  readonly timeoutMs: number;
}

/** Heartbeats make a broker that vanishes mid-command an error (after two missed beats) instead of a hang. */
function withHeartbeat(url: string): string {
  if (/[?&]heartbeat=/.test(url)) return url;
  return `${url}${url.includes('?') ? '&' : '?'}heartbeat=5`;
}

async function connectOnce(url: string, tls: BrokerTls, timeoutMs: number): Promise<ChannelModel> {
  const connecting = amqplib.connect(withHeartbeat(url), {
    ...tls,
    timeout: timeoutMs,
    clientProperties: { connection_name: 'ackstate dlq' },
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([connecting, deadline]);
  } catch (error) {
    // A connection that completes after the deadline is closed at once.
    connecting.then(
      (late) => late.close().catch(() => {}),
      () => {},
    );
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

export async function connectToBroker(options: ConnectOptions): Promise<ChannelModel> {
  const failures: string[] = [];
  for (const url of options.urls) {
    try {
      const connection = await connectOnce(url, options.tls, options.timeoutMs);
      // Failures surface through the operations that need the connection; an unheard 'error' would crash.
      connection.on('error', () => {});
      return connection;
    } catch (error) {
      failures.push(`${redact(url)}: ${describeError(error)}`);
    }
  }
  throw new BrokerUnreachableError(`cannot connect to the broker (${failures.join('; ')})`);
}
