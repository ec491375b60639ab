/**
 * The unbatched reference pipeline: both services in one process, on node:http + amqplib + pg, with the guarantees
 * ackstate gives on the happy path (outbox row in the user's transaction, persistent confirmed mandatory
 * publishes marked sent after the confirm, inbox dedup row in the consumer's transaction, ack after the
 * commit) and nothing else: no framework, no state machines, no reconnection, a start and a stop log line.
 * The benchmark runs it compiled to JavaScript (bench/harness/reference-build.ts), as ackstate runs from dist/.
 */
import { createReferenceServer } from '../shared/http.js';
import { startReferenceParts } from '../shared/process.js';
import { cardHandler } from './card-service.js';
import { consume } from './consumer.js';
import { ReferenceOutbox } from './outbox.js';
import { createUserRoute, storeCardHandler } from './user-service.js';

const { config, userDb, cardDb, publisher, consumerChannels, runUntilStopped } = await startReferenceParts();
const userOutbox = new ReferenceOutbox(userDb, publisher, config.outboxLeaseMs);
const cardOutbox = new ReferenceOutbox(cardDb, publisher, config.outboxLeaseMs);

await consume(consumerChannels[0], cardDb, publisher, cardHandler(config.userQueue, config.cardQueue, cardOutbox));
await consume(consumerChannels[1], userDb, publisher, storeCardHandler(config.cardQueue));

runUntilStopped(createReferenceServer(createUserRoute(userDb, config.userQueue, userOutbox)), [userOutbox, cardOutbox]);
