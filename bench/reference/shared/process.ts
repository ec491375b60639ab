/**
 * What both reference pipelines start and stop the same way: the two pools with their schemas, one broker
 * connection that ends the process when lost (no reconnection, by design), the confirm channel with the
 * queues, two consumer channels, the relay's sweep and a graceful stop.
 */
import amqplib, { type Channel } from 'amqplib';
import pg from 'pg';
import type { Server } from 'node:http';
import { loadReferenceConfig, type ReferenceConfig } from './config.js';
import { log } from './http.js';
import { Publisher } from './publisher.js';
import { applySchema, cardServiceSchema, userServiceSchema } from './schema.js';

export interface ReferenceParts {
  readonly config: ReferenceConfig;
  readonly userDb: pg.Pool;
  readonly cardDb: pg.Pool;
  readonly publisher: Publisher;
  /** The card service's consumer channel, then the user service's, each with the configured prefetch. */
  readonly consumerChannels: readonly [Channel, Channel];
  /** Sweeps the given outboxes every poll interval and stops cleanly on SIGTERM or SIGINT. */
  runUntilStopped(server: Server, outboxes: readonly { sweep(): Promise<unknown> }[]): void;
}

const pool = (url: string) => {
  const created = new pg.Pool({ connectionString: url, max: 10 });
  created.on('error', () => {});
  return created;
};

export async function startReferenceParts(): Promise<ReferenceParts> {
  const config = loadReferenceConfig();
  const userDb = pool(config.userDbUrl);
  const cardDb = pool(config.cardDbUrl);
  await applySchema(userDb, userServiceSchema);
  await applySchema(cardDb, cardServiceSchema);

  let stopping = false;
  const connection = await amqplib.connect(config.amqpUrl);
  connection.on('error', () => {});
  connection.on('close', () => {
    if (!stopping) {
      process.stderr.write('reference: broker connection lost\n');
      process.exit(1);
    }
  });
  const queues = [config.userQueue, config.cardQueue].flatMap((queue) => [queue, `${queue}.dead`]);
  const publishChannel = await connection.createConfirmChannel();
  for (const queue of queues) await publishChannel.assertQueue(queue, { durable: true });
  const publisher = new Publisher();
  publisher.attach(publishChannel);
  const consumerChannels = [await connection.createChannel(), await connection.createChannel()] as const;
  for (const channel of consumerChannels) await channel.prefetch(config.prefetch);

  const runUntilStopped = (server: Server, outboxes: readonly { sweep(): Promise<unknown> }[]) => {
    server.listen(config.httpPort, config.httpHost, () => log('listening', { port: config.httpPort }));
    const sweeper = setInterval(() => {
      for (const outbox of outboxes) void outbox.sweep().catch(() => {});
    }, config.outboxPollMs);
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      clearInterval(sweeper);
      server.close();
      server.closeIdleConnections();
      await new Promise((resolve) => setTimeout(resolve, 200)); // in-flight deliveries finish (or are redelivered)
      await connection.close().catch(() => {});
      await Promise.all([userDb.end(), cardDb.end()]);
      log('stopped');
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop());
    process.on('SIGINT', () => void stop());
  };
  return { config, userDb, cardDb, publisher, consumerChannels, runUntilStopped };
}
