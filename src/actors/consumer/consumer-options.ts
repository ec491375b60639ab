import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Consumer } from '../../api/consumer.js';
import type { ResolvedConsumerSettings } from '../../api/settings.js';
import type { MessagingDb } from '../../db/messaging-queries.js';
import type { Failpoints } from '../../failpoints.js';
import type { ConfirmPublisher } from '../broker/publisher.js';
import type { Topology } from '../broker/topology.js';
import type { Inspector } from '../../observability/observation.js';
import type { Tracing } from '../../observability/tracing/tracing.js';
import type { DeclaredDestinations } from '../outbox/outgoing.js';
import type { Outbox } from '../outbox/outbox-relay.js';

/** What a queue's consumer is made of (`consumerLogic`). */
export interface ConsumerOptions {
  /** The consumer actor's id and system id, through which the subscription reports back to it. */
  readonly id: string;
  readonly service: string;
  readonly consumer: Consumer<unknown>;
  readonly settings: ResolvedConsumerSettings;
  readonly destinations: DeclaredDestinations;
  readonly db: MessagingDb;
  readonly connection: AmqpConnectionManager;
  readonly topology: Topology;
  readonly publisher: ConfirmPublisher;
  readonly outbox: Outbox;
  readonly kickRelay: () => void;
  readonly inspect: Inspector;
  readonly failpoints: Failpoints;
  readonly shutdownTimeoutMs: number;
  /** Set when tracing is on: handed to the batch transaction (`batch-transaction.ts`). */
  readonly tracing?: Tracing;
}
