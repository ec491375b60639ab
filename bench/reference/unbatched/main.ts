/**
 * The unbatched reference pipeline: both services in one process, on node:http + amqplib + pg, with the guarantees
 * ackstate gives on the happy path (outbox row in the user's transaction, persistent confirmed mandatory
 * publishes marked sent after the confirm, inbox dedup row in the consumer's transaction, ack after the
 * commit) and nothing else: no framework, no state machines, no reconnection, a start and a stop log line.
 * The benchmark runs it compiled to JavaScript (bench/reference-build.ts), as ackstate runs from dist/.
 */
import amqplib from 'amqplib';
import pg from 'pg';
import { loadReferenceConfig } from '../shared/config.js';
import { createReferenceServer, log } from '../shared/http.js';
import { consume } from './consumer.js';
import { cardHandler } from './card-service.js';
import { ReferenceOutbox } from './outbox.js';
import { Publisher } from '../shared/publisher.js';
import { applySchema, cardServiceSchema, userServiceSchema } from '../shared/schema.js';
import { createUserRoute, storeCardHandler } from './user-service.js';

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

const userOutbox = new ReferenceOutbox(userDb, publisher, config.outboxLeaseMs);
const cardOutbox = new ReferenceOutbox(cardDb, publisher, config.outboxLeaseMs);

const consumerChannels = await Promise.all([connection.createChannel(), connection.createChannel()]);
for (const channel of consumerChannels) await channel.prefetch(config.prefetch);
await consume(consumerChannels[0]!, cardDb, publisher, cardHandler(config.userQueue, config.cardQueue, cardOutbox));
await consume(consumerChannels[1]!, userDb, publisher, storeCardHandler(config.cardQueue));

const sweeper = setInterval(() => {
  void userOutbox.sweep().catch(() => {});
  void cardOutbox.sweep().catch(() => {});
}, config.outboxPollMs);

const server = createReferenceServer(createUserRoute(userDb, config.userQueue, userOutbox));
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
