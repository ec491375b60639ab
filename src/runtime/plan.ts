/**
 * What a runtime will run, worked out from its options before anything connects: each service's consumers
 * with their settings, the databases (services naming one URL share it), the broker topology and the
 * destinations a handler may publish to. Every mistake in the definitions is found here and reported at
 * once, naming the service, consumer, queue or exchange.
 */
import type { Consumer } from '../api/consumer.js';
import type { Destination } from '../api/destination.js';
import { OptionsError, zodProblems, type ResolvedOptions } from '../api/options.js';
import { retentionOfDatabase, retentionSettingsSchema, type ResolvedRetention } from '../api/retention.js';
import type { Service } from '../api/service.js';
import {
  consumerSettingsSchema,
  resolveSettings,
  settingsProblems,
  type ResolvedConsumerSettings,
} from '../api/settings.js';
import { brokerNameProblem } from '../policies/broker-names.js';
import type { BindingDeclaration, DelayQueue, ExchangeDeclaration, Topology } from '../actors/broker/topology.js';
import { delayLevels, delayQueueName, longestRetryMs } from '../policies/delayed-retry.js';
import { planActors, type PlannedActor } from './plan-actors.js';

export interface PlannedConsumer {
  readonly service: string;
  readonly definition: Consumer<unknown>;
  readonly name: string;
  readonly queue: string;
  readonly settings: ResolvedConsumerSettings;
  /** The supervisor's child id: `consumer:<service>`, or `consumer:<service>/<name>` when it has several. */
  readonly actorId: string;
  /** Its readiness check: `<service>.consumer`, or `<service>.consumer.<name>` when it has several. */
  readonly check: string;
}

export interface PlannedDatabase {
  readonly url: string;
  /** The services sharing it, in the order given. */
  readonly services: readonly Service[];
  /** `<service>` or `<service>+<service>`: names its outbox relay and its metrics. */
  readonly label: string;
  readonly maxConnections: number;
  readonly queryTimeoutMs: number;
  /** `prepared()` statements as named prepared statements: unless a service sharing it says false. */
  readonly preparedStatements: boolean;
  /** Its tables' retention: the longest windows of the services sharing it. */
  readonly retention: ResolvedRetention;
}

export interface RuntimePlan {
  /** The services, each with its actors' consumers among its own. */
  readonly services: readonly Service[];
  readonly consumers: readonly PlannedConsumer[];
  /** The durable actors, each with its timer queue. */
  readonly actors: readonly PlannedActor[];
  readonly databases: readonly PlannedDatabase[];
  readonly topology: Topology;
}

const serviceName = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
const postgresUrl = /^postgres(ql)?:\/\//;

class Problems {
  readonly list: string[] = [];
  add(problem: string): void {
    this.list.push(problem);
  }
  check(ok: boolean, problem: string): void {
    if (!ok) this.add(problem);
  }
  throwIfAny(): void {
    if (this.list.length > 0) throw new OptionsError(`invalid options: ${this.list.join('; ')}`);
  }
}

function checkBrokerName(problems: Problems, what: string, name: unknown): void {
  const problem = typeof name === 'string' ? brokerNameProblem(name) : 'must be a string';
  if (problem !== undefined) problems.add(`${what} "${String(name)}" ${problem}`);
}

function planConsumers(options: ResolvedOptions, problems: Problems): PlannedConsumer[] {
  const planned: PlannedConsumer[] = [];
  const consumedBy = new Map<string, string>();
  for (const service of options.services) {
    const names = new Set<string>();
    const several = service.consumers.length > 1;
    for (const definition of service.consumers) {
      const where = `services.${service.name}.consumers.${definition.name}`;
      checkBrokerName(problems, `${where}: queue`, definition.queue);
      problems.check(!names.has(definition.name), `${where}: two consumers of ${service.name} share the name`);
      names.add(definition.name);
      const owner = consumedBy.get(definition.queue);
      if (owner !== undefined) problems.add(`${where}: queue ${definition.queue} is already consumed by ${owner}`);
      consumedBy.set(definition.queue, where);
      const own = consumerSettingsSchema.safeParse(definition.settings);
      if (!own.success) for (const problem of zodProblems(own.error, where)) problems.add(problem);
      const settings = resolveSettings(options.consumers, definition.settings);
      for (const problem of settingsProblems(settings)) problems.add(`${where}: ${problem}`);
      for (const delayMs of delayLevels(settings)) {
        checkBrokerName(problems, `${where}: delay queue`, delayQueueName(definition.queue, delayMs));
      }
      if (options.broker.queueType === 'quorum' && options.broker.deliveryLimit <= settings.maxAttempts) {
        problems.add(
          `${where}: broker.deliveryLimit (${options.broker.deliveryLimit}) must be greater than maxAttempts ` +
            `(${settings.maxAttempts}); otherwise the broker dead-letters a failing message before the runtime's ` +
            'attempt count does, without its reason headers',
        );
      }
      planned.push({
        service: service.name,
        definition,
        name: definition.name,
        queue: definition.queue,
        settings,
        actorId: several ? `consumer:${service.name}/${definition.name}` : `consumer:${service.name}`,
        check: several ? `${service.name}.consumer.${definition.name}` : `${service.name}.consumer`,
      });
    }
  }
  return planned;
}

/**
 * A service's own retention settings, checked; and its window against its consumers' retries: an attempt
 * count removed between two retries of a failing message would let it retry for ever.
 */
function checkRetention(options: ResolvedOptions, consumers: readonly PlannedConsumer[], problems: Problems): void {
  for (const service of options.services) {
    const where = `services.${service.name}.retention`;
    const own = retentionSettingsSchema.safeParse(service.retention ?? {});
    if (!own.success) {
      for (const problem of zodProblems(own.error, where)) problems.add(problem);
      continue;
    }
    const window = own.data.deduplicationWindowMs ?? options.retention.deduplicationWindowMs;
    const option =
      own.data.deduplicationWindowMs === undefined
        ? `retention.deduplicationWindowMs (the default of ${service.name})`
        : `${where}.deduplicationWindowMs`;
    for (const consumer of consumers.filter((each) => each.service === service.name)) {
      const retries = longestRetryMs(consumer.settings);
      if (window <= retries) {
        problems.add(
          `${option}: ${window} ms is not longer than the retries of consumer ${consumer.name} ` +
            `(${retries} ms from its first attempt to its last: ${consumer.settings.maxAttempts} attempts, ` +
            `immediate retries waiting up to retry.maxMs, delayed ones their delayedRetriesMs); ` +
            'its attempt counts would be removed while it retries',
        );
      }
    }
  }
}

function planDatabases(options: ResolvedOptions, problems: Problems): PlannedDatabase[] {
  const { services } = options;
  const byUrl = new Map<string, Service[]>();
  for (const service of services) {
    const { url } = service.database;
    if (typeof url !== 'string' || !postgresUrl.test(url)) {
      problems.add(`services.${service.name}.database.url: must be a postgres:// or postgresql:// URL`);
      continue;
    }
    byUrl.set(url, [...(byUrl.get(url) ?? []), service]);
  }
  return [...byUrl].map(([url, sharing]) => {
    const tables = new Map<string, string>();
    for (const service of sharing) {
      const table = service.database.migrationTable ?? 'kysely_migration';
      const other = tables.get(table);
      if (other !== undefined && Object.keys(service.database.migrations ?? {}).length > 0) {
        problems.add(
          `services.${service.name}.database.migrationTable: ${service.name} and ${other} share a database and ` +
            `would both record their migrations in ${table}; give each its own migrationTable`,
        );
      }
      tables.set(table, service.name);
    }
    const sizes = sharing.map((service) => service.database.maxConnections ?? 10);
    const timeouts = sharing.map((service) => {
      const ms = service.database.queryTimeoutMs ?? 30_000;
      if (!Number.isInteger(ms) || ms < 100 || ms > 3_600_000) {
        problems.add(`services.${service.name}.database.queryTimeoutMs: must be a whole number of ms, 100 – 3,600,000`);
      }
      return ms;
    });
    const prepares = sharing.map((service) => {
      const value = service.database.preparedStatements ?? true;
      if (typeof value !== 'boolean')
        problems.add(`services.${service.name}.database.preparedStatements: must be true or false`);
      return value === true;
    });
    return {
      url,
      services: sharing,
      label: sharing.map((service) => service.name).join('+'),
      maxConnections: Math.max(...sizes),
      queryTimeoutMs: Math.max(...timeouts),
      preparedStatements: prepares.every(Boolean),
      retention: retentionOfDatabase(
        options.retention,
        sharing.map((service) => service.retention),
      ),
    };
  });
}

function exchangesOf(services: readonly Service[], problems: Problems): ExchangeDeclaration[] {
  const exchanges = new Map<string, ExchangeDeclaration>();
  const add = (where: string, exchange: { name: string; type: string } | undefined) => {
    if (!exchange || typeof exchange.name !== 'string') {
      problems.add(`${where}: an exchange must be made by defineExchange`);
      return;
    }
    checkBrokerName(problems, `${where}: exchange`, exchange.name);
    if (!['direct', 'fanout', 'topic'].includes(exchange.type)) {
      problems.add(`${where}: exchange ${exchange.name} has type "${exchange.type}"; direct, fanout or topic`);
      return;
    }
    const known = exchanges.get(exchange.name);
    if (known && known.type !== exchange.type) {
      problems.add(`${where}: exchange ${exchange.name} is defined both as ${known.type} and as ${exchange.type}`);
    }
    exchanges.set(exchange.name, known ?? (exchange as ExchangeDeclaration));
  };
  for (const service of services) {
    const publishing = [
      ...service.publishes.map((destination) => ({ where: `services.${service.name}.publishes`, destination })),
      ...service.consumers.flatMap((consumer) =>
        consumer.publishes.map((destination) => ({
          where: `services.${service.name}.consumers.${consumer.name}.publishes`,
          destination,
        })),
      ),
    ];
    for (const { where, destination } of publishing) if ('exchange' in destination) add(where, destination.exchange);
    for (const consumer of service.consumers) {
      for (const binding of consumer.bindings)
        add(`services.${service.name}.consumers.${consumer.name}.bindings`, binding.exchange);
    }
  }
  return [...exchanges.values()];
}

function queuesOf(services: readonly Service[], problems: Problems): string[] {
  const queues = new Set<string>();
  const published = (where: string, destination: Destination) => {
    if ('queue' in destination) {
      checkBrokerName(problems, `${where}: queue`, destination.queue);
      queues.add(destination.queue);
    }
  };
  for (const service of services) {
    for (const consumer of service.consumers) queues.add(consumer.queue);
    for (const destination of service.publishes) published(`services.${service.name}.publishes`, destination);
    for (const consumer of service.consumers) {
      for (const destination of consumer.publishes) {
        published(`services.${service.name}.consumers.${consumer.name}.publishes`, destination);
      }
    }
  }
  return [...queues];
}

function bindingsOf(services: readonly Service[], problems: Problems): BindingDeclaration[] {
  return services.flatMap((service) =>
    service.consumers.flatMap((consumer) =>
      consumer.bindings.map((binding) => {
        const routingKey = binding.routingKey ?? '';
        problems.check(
          Buffer.byteLength(routingKey) <= 255,
          `services.${service.name}.consumers.${consumer.name}.bindings: routing key longer than 255 bytes`,
        );
        return { queue: consumer.queue, exchange: binding.exchange.name, routingKey };
      }),
    ),
  );
}

/** One delay queue per distinct delay that an attempt of each consumer reaches. */
function delayQueuesOf(consumers: readonly PlannedConsumer[]): DelayQueue[] {
  return consumers.flatMap(({ queue, settings }) =>
    delayLevels(settings).map((ttlMs) => ({ name: delayQueueName(queue, ttlMs), queue, ttlMs })),
  );
}

function checkServices(services: readonly Service[], problems: Problems): void {
  const names = new Set<string>();
  for (const service of services) {
    problems.check(
      serviceName.test(service.name),
      `services: name "${service.name}" must start with a letter and hold only letters, digits, _ and - (up to 63)`,
    );
    problems.check(!names.has(service.name), `services: two services are named ${service.name}`);
    names.add(service.name);
  }
  problems.check(services.length > 0, 'services: at least one service is needed');
}

/** Works out the plan, or throws an OptionsError listing every problem found. */
export function planRuntime(resolved: ResolvedOptions): RuntimePlan {
  const problems = new Problems();
  checkServices(resolved.services, problems);
  problems.throwIfAny();
  const { services, actors } = planActors(resolved.services, (problem) => problems.add(problem));
  const options = { ...resolved, services };
  const consumers = planConsumers(options, problems);
  checkRetention(options, consumers, problems);
  const databases = planDatabases(options, problems);
  const exchanges = exchangesOf(options.services, problems);
  const topology: Topology = {
    queues: queuesOf(options.services, problems),
    exchanges,
    bindings: bindingsOf(options.services, problems),
    queueType: options.broker.queueType,
    deliveryLimit: options.broker.deliveryLimit,
    delayQueues: delayQueuesOf(consumers),
  };
  problems.throwIfAny();
  return { services: options.services, consumers, actors, databases, topology };
}
