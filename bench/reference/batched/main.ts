/**
 * The batched reference pipeline: the unbatched reference's tables and guarantees (outbox rows in the
 * users' transaction, persistent confirmed mandatory publishes marked sent after the confirm, inbox dedup
 * rows in the consumer's transaction, ack after the commit, 409 for a taken email), batched by hand: group
 * commit for POST /users, consumers taking what waits (prefetch, a short linger) into one multi-row
 * transaction and acking with `multiple`, confirms awaited together, the relay publishing in batches.
 * No framework, no state machines, no reconnection, a start and a stop log line.
 * The benchmark runs it compiled to JavaScript (bench/harness/reference-build.ts), as ackstate runs from dist/.
 */
import { createReferenceServer } from '../shared/http.js';
import { startReferenceParts } from '../shared/process.js';
import { consumeInBatches } from './batch-consumer.js';
import { issueCardsHandler } from './card-service.js';
import { BatchOutbox } from './outbox.js';
import { createUserRoute, storeCardsHandler } from './user-service.js';

const { config, userDb, cardDb, publisher, consumerChannels, runUntilStopped } = await startReferenceParts();
const userOutbox = new BatchOutbox(userDb, publisher, config.outboxLeaseMs);
const cardOutbox = new BatchOutbox(cardDb, publisher, config.outboxLeaseMs);

const batches = { maxBatch: config.maxBatch, lingerMs: config.lingerMs, concurrency: config.batchConcurrency };
const issueCards = issueCardsHandler(config.userQueue, config.cardQueue, cardOutbox);
await consumeInBatches(consumerChannels[0], cardDb, publisher, issueCards, batches);
await consumeInBatches(consumerChannels[1], userDb, publisher, storeCardsHandler(config.cardQueue), batches);

const server = createReferenceServer(
  createUserRoute(userDb, config.userQueue, userOutbox, {
    maxBatch: config.maxBatch,
    concurrency: config.batchConcurrency,
  }),
);
runUntilStopped(server, [userOutbox, cardOutbox]);
