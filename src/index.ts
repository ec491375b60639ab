/**
 * ackstate: RabbitMQ consumers as supervised XState machines over PostgreSQL. A service is data
 * (`defineService`, `defineConsumer`); `startRuntime` runs any number of them in one process with an inbox,
 * a transactional outbox, publisher confirms, durable attempt counts and dead-lettering.
 *
 * @example
 * ```ts
 * import { defineConsumer, defineService, startRuntime } from 'ackstate';
 *
 * const issueCards = defineConsumer({ queue: 'user_queue', schema, key: (user) => `user:${user.id}`, handle });
 * const cards = defineService({ name: 'card', database: { url, migrations }, consumers: [issueCards] });
 * const runtime = await startRuntime({ broker: { urls }, http: { port: 3000 }, services: [cards] });
 * ```
 *
 * @packageDocumentation
 */
export {
  defineConsumer,
  type Consumer,
  type ConsumerSpec,
  type DecodedMessage,
  type DeliveryInfo,
} from './api/consumer.js';
export {
  defineExchange,
  type Binding,
  type Destination,
  type Exchange,
  type ExchangeType,
  type MessageHeaders,
  type PublishOptions,
  type Publisher,
} from './api/destination.js';
export { OptionsError, type BrokerTls, type QueueType, type RuntimeOptions } from './api/options.js';
export {
  defineService,
  type BatchOptions,
  type DatabaseSpec,
  type RouteInstaller,
  type Service,
  type ServiceActor,
  type ServiceContext,
  type ServiceSpec,
} from './api/service.js';
export { defaultConsumerSettings, type ConsumerSettings } from './api/settings.js';
export type { RetentionOptions, RetentionSettings } from './api/retention.js';
export { startRuntime, type Runtime } from './runtime/start-runtime.js';
export type { Readiness } from './http/http-server.js';
export { HttpError } from './http/http-error.js';
export { PoisonMessageError } from './policies/classify-error.js';
export { deadLetterHeader } from './policies/dead-letter.js';
export { UndeclaredDestinationError } from './api/errors.js';
export { createLogger, type Logger } from './observability/logger.js';
export { prepared, type PreparedQuery, type QueryRunner } from './db/prepared.js';
export { describeIssues } from './api/describe-issues.js';
export { redact } from './redact.js';
