/**
 * The batched reference pipeline: the unbatched reference's tables and guarantees (outbox rows in the
 * users' transaction, persistent confirmed mandatory publishes marked sent after the confirm, inbox dedup
 * rows in the consumer's transaction, ack after the commit, 409 for a taken email), batched by hand: group
 * commit for POST /users, consumers taking what waits (prefetch, a short linger) into one multi-row
 * transaction and acking with `multiple`, confirms awaited together, the relay publishing in batches.
 * No framework, no state machines, no reconnection, a start and a stop log line.
 * The benchmark runs it compiled to JavaScript (bench/reference-build.ts), as ackstate runs from dist/.
 */
import amqplib from 'amqplib';
import pg from 'pg';
import { loadReferenceConfig } from '../shared/config.js';
import { createReferenceServer, log } from '../shared/http.js';
import { Publisher } from '../shared/publisher.js';
import { applySchema, cardServiceSchema, userServiceSchema } from '../shared/schema.js';
import { consumeInBatches } from './batch-consumer.js';
import { issueCardsHandler } from './card-service.js';
import { BatchOutbox } from './outbox.js';
import { createUserRoute, storeCardsHandler } from './user-service.js';

const config = loadReferenceConfig();
const pool = (url: string) => {
  const created = new pg.Pool({ connectionString: url, max: 10 });
  created.on('error', () => {});
  return created;
};
const userDb = pool(config.userDbUrl);
const cardDb = pool(config.cardDbUrl);
await applySchema(userDb, userServiceSchema);
await applySchema(cardDb, cardServiceSchema);

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

const userOutbox = new BatchOutbox(userDb, publisher, config.outboxLeaseMs);
const cardOutbox = new BatchOutbox(cardDb, publisher, config.outboxLeaseMs);

const consumerChannels = await Promise.all([connection.createChannel(), connection.createChannel()]);
for (const channel of consumerChannels) await channel.prefetch(config.prefetch);
const batches = { maxBatch: config.maxBatch, lingerMs: config.lingerMs, concurrency: config.batchConcurrency };
const issueCards = issueCardsHandler(config.userQueue, config.cardQueue, cardOutbox);
await consumeInBatches(consumerChannels[0]!, cardDb, publisher, issueCards, batches);
await consumeInBatches(consumerChannels[1]!, userDb, publisher, storeCardsHandler(config.cardQueue), batches);

const sweeper = setInterval(() => {
  void userOutbox.sweep().catch(() => {});
  void cardOutbox.sweep().catch(() => {});
}, config.outboxPollMs);

const server = createReferenceServer(
  createUserRoute(userDb, config.userQueue, userOutbox, {
    maxBatch: config.maxBatch,
    concurrency: config.batchConcurrency,
  }),
);
server.listen(config.httpPort, config.httpHost, () => log('listening', { port: config.httpPort }));

let stopping = false;
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
