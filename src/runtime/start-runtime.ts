/**
 * `startRuntime`: options → plan → the broker connection and its publisher → per database its pool,
 * outbox and relay → per consumer its supervised machine → the HTTP servers → the supervisor, which
 * prepares the databases (created, migrated) and then runs every child, restarting any that fails.
 */
import type { AddressInfo } from 'node:net';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { createActor, fromPromise, type AnyActorRef } from 'xstate';
import { resolveOptions, type ResolvedOptions, type RuntimeOptions } from '../api/options.js';
import { connectBroker, connectionLogic } from '../actors/broker/connection.js';
import { ConfirmPublisher } from '../actors/broker/publisher.js';
import { deadLetterQueue } from '../actors/broker/topology.js';
import { consumerLogic } from '../actors/consumer/consumer.js';
import { createAdminServer } from '../http/admin-server.js';
import { createHttpServer, type Readiness } from '../http/http-server.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { watchScrapeTimeValues } from '../observability/metrics-probes.js';
import { registerMetricsRoute } from '../observability/metrics.js';
import { createObservers, type ObservedConsumer, type Observers } from '../observability/observers.js';
import { registerVizRoutes } from '../viz/live/routes.js';
import type { ActorView } from '../viz/live/actor-views.js';
import { startTracing, type Tracing } from '../observability/tracing/tracing.js';
import { Outbox, outboxRelayLogic } from '../actors/outbox/outbox-relay.js';
import { retentionLogic } from '../actors/retention/retention.js';
import { timerFiringLogic } from '../actors/durable/timer-firing.js';
import { checkActorVersions } from '../actors/durable/version-check.js';
import { DeclaredDestinations } from '../actors/outbox/outgoing.js';
import { createDatabase, ensureDatabaseExists } from '../db/database.js';
import { messagingTablesOf } from '../db/messaging-queries.js';
import { migrateToLatest } from '../db/migrate.js';
import { actorMigrations } from '../db/migrations/actors.js';
import { messagingMigrationTable, messagingMigrations } from '../db/migrations/messaging.js';
import { createFailpoints } from '../failpoints.js';
import { supervisorMachine, type ChildSpec } from '../machines/supervisor.js';
import { describeError } from '../policies/describe-error.js';
import type { PlannedActor } from './plan-actors.js';
import { planRuntime, type PlannedDatabase, type RuntimePlan } from './plan.js';
import { readinessCheck } from './readiness.js';
import { createServiceContext } from './service-context.js';

/**
 * A running runtime.
 *
 * @example
 * ```ts
 * const runtime = await startRuntime({ broker: { urls }, http: { port: 0 }, services: [cards] });
 * console.log(`listening on ${runtime.port}`);
 * process.on('SIGTERM', () => void runtime.stop());
 * ```
 */
export interface Runtime {
  /** The HTTP server's port (the one chosen when `http.port` was 0). */
  readonly port: number;
  /** The admin server's port, when `admin` separates it. */
  readonly adminPort: number | undefined;
  /** What GET /readyz answers. */
  readiness(): Promise<Readiness>;
  /**
   * Stops consuming, lets in-flight deliveries finish (up to `shutdownTimeoutMs`), then closes the HTTP
   * servers, the broker connection and the pools, and (when tracing is on) exports the spans not yet sent.
   * Unfinished deliveries are redelivered by the broker.
   */
  stop(): Promise<void>;
}

interface DatabasePart {
  readonly plan: PlannedDatabase;
  readonly db: Kysely<unknown>;
  readonly outbox: Outbox;
  readonly relayId: string;
  /** The durable actors whose rows it holds. */
  readonly actors: readonly PlannedActor[];
}

interface Parts {
  readonly options: ResolvedOptions;
  readonly plan: RuntimePlan;
  readonly logger: Logger;
  readonly connection: AmqpConnectionManager;
  readonly publisher: ConfirmPublisher;
  readonly observers: Observers;
  readonly destinations: DeclaredDestinations;
  readonly databases: readonly DatabasePart[];
  /** Set when the `OTEL_*` environment turns tracing on. */
  readonly tracing: Tracing | undefined;
  /** The supervisor, once created: children reach each other through its system. */
  supervisor: AnyActorRef | undefined;
  /** Why preparing refused to start (an `OptionsError`), thrown by `startRuntime` as it is. */
  refusal: Error | undefined;
}

function observedConsumers(plan: RuntimePlan): Map<string, ObservedConsumer> {
  return new Map(
    plan.consumers.map((consumer) => [
      consumer.queue,
      {
        service: consumer.service,
        consumer: consumer.name,
        queue: consumer.queue,
        describe: {
          received: (message: unknown) => consumer.definition.describeReceived(message),
          completed: (message: unknown, result: unknown) => consumer.definition.describeCompleted(message, result),
        },
      },
    ]),
  );
}

function createParts(options: ResolvedOptions, plan: RuntimePlan, logger: Logger, tracing: Tracing | undefined): Parts {
  const connection = connectBroker(options.broker);
  const observers = createObservers({ logger, consumers: observedConsumers(plan), tracing: tracing?.listener });
  const publisher = new ConfirmPublisher(
    connection,
    plan.topology,
    options.broker.publishTimeoutMs,
    observers.metrics.publishes,
  );
  const databases = plan.databases.map((database): DatabasePart => {
    const { url, maxConnections, queryTimeoutMs, preparedStatements } = database;
    const db = createDatabase<unknown>({ url, maxConnections, queryTimeoutMs, preparedStatements });
    const relayId = `outbox:${database.label}`;
    const outbox = new Outbox(messagingTablesOf(db), publisher, {
      leaseMs: options.outbox.leaseMs,
      tracing,
      whenDeferred: () => kickRelay(parts, relayId),
    });
    const actors = plan.actors.filter((actor) => actor.url === url);
    return { plan: database, db, outbox, relayId, actors };
  });
  const destinations = new DeclaredDestinations(plan.topology);
  const parts: Parts = {
    options,
    plan,
    logger,
    connection,
    publisher,
    observers,
    destinations,
    databases,
    tracing,
    supervisor: undefined,
    refusal: undefined,
  };
  return parts;
}

/** Wakes a database's outbox relay (once the supervisor runs it): something may be waiting in its outbox. */
function kickRelay(parts: Parts, relayId: string): void {
  (parts.supervisor?.system.get(relayId) as AnyActorRef | undefined)?.send({ type: 'KICK' });
}

function databaseOf(parts: Parts, service: string): DatabasePart {
  const part = parts.databases.find((database) => database.plan.services.some((each) => each.name === service));
  if (!part) throw new Error(`no database for service ${service}`);
  return part;
}

/** The supervisor's children, stopped in this order: consumers drain first, the connection closes last. */
function childrenOf(parts: Parts): ChildSpec[] {
  const { options, plan, connection, publisher, observers, destinations } = parts;
  const failpoints = createFailpoints(options.failpoints);
  const kick = (relayId: string) => () => kickRelay(parts, relayId);
  const consumers = plan.consumers.map((consumer): ChildSpec => {
    const database = databaseOf(parts, consumer.service);
    return {
      id: consumer.actorId,
      input: { queue: consumer.queue },
      logic: consumerLogic({
        id: consumer.actorId,
        service: consumer.service,
        consumer: consumer.definition,
        settings: consumer.settings,
        destinations,
        db: messagingTablesOf(database.db),
        connection,
        topology: plan.topology,
        publisher,
        outbox: database.outbox,
        kickRelay: kick(database.relayId),
        inspect: observers.inspect,
        failpoints,
        shutdownTimeoutMs: options.shutdownTimeoutMs,
        tracing: parts.tracing,
      }),
    };
  });
  const relays = parts.databases.map((database): ChildSpec => ({
    id: database.relayId,
    logic: outboxRelayLogic(database.outbox, options.outbox),
  }));
  const timers = parts.databases
    .filter((database) => database.actors.length > 0)
    .map((database): ChildSpec => ({
      id: `timers:${database.plan.label}`,
      logic: timerFiringLogic({
        db: database.db,
        outbox: database.outbox,
        destinations,
        timerQueues: new Map(database.actors.map((actor) => [actor.definition.name, actor.timerQueue])),
      }),
    }));
  const retention = parts.databases.map((database): ChildSpec => ({
    id: `retention:${database.plan.label}`,
    input: { database: database.plan.label, batchSize: database.plan.retention.batchSize },
    logic: retentionLogic({ db: messagingTablesOf(database.db), retention: database.plan.retention }),
  }));
  return [...consumers, ...relays, ...timers, ...retention, { id: 'connection', logic: connectionLogic(connection) }];
}

interface Servers {
  readonly http: FastifyInstance;
  readonly admin: FastifyInstance | undefined;
}

function createServers(parts: Parts, readiness: () => Promise<Readiness>): Servers {
  const { options, plan, logger, observers, connection } = parts;
  const onServerError = (error: unknown) => logger.error('request failed', { error: describeError(error) });
  const http = createHttpServer({ bodyLimit: options.http.bodyLimit, readiness, onServerError });
  parts.tracing?.traceRoutes(http);
  for (const service of plan.services) {
    const database = databaseOf(parts, service.name);
    service.routes?.(
      http,
      createServiceContext({
        db: database.db,
        outbox: database.outbox,
        destinations: parts.destinations,
        defaults: options.consumers,
        service: service.name,
        tracing: parts.tracing,
      }),
    );
  }
  // The admin routes move to a server of their own when `admin` is set, and are then not on the API's port.
  const admin = options.admin === undefined ? undefined : createAdminServer(onServerError);
  registerVizRoutes(admin ?? http, { monitor: observers.monitor, actors: vizActors(parts) });
  watchScrapeTimeValues(observers.metrics, {
    connection,
    queues: plan.topology.queues.flatMap((queue) => [queue, deadLetterQueue(queue)]),
    outboxes: parts.databases.map((database) => ({ service: database.plan.label, db: messagingTablesOf(database.db) })),
  });
  registerMetricsRoute(admin ?? http, observers.metrics);
  return { http, admin };
}

/** The durable actors as `/viz` draws them: each definition's machine, read from its service's database. */
function vizActors(parts: Parts): ActorView[] {
  return parts.databases.flatMap((database) =>
    database.actors.map((actor) => ({
      name: actor.definition.name,
      service: actor.service,
      machine: actor.definition.machine,
      db: database.db,
    })),
  );
}

/** How long stopping waits for the last spans to be exported (a collector that does not answer must not hold it up). */
const tracingShutdownMs = 5_000;

const runtimeMigrations = { ...messagingMigrations, ...actorMigrations };

async function prepareDatabases(parts: Parts): Promise<void> {
  for (const { plan, db, actors } of parts.databases) {
    await ensureDatabaseExists(plan.url);
    await migrateToLatest(db, runtimeMigrations, messagingMigrationTable);
    for (const service of plan.services) {
      const { migrations = {}, migrationTable } = service.database;
      if (Object.keys(migrations).length > 0) await migrateToLatest(db, migrations, migrationTable);
    }
    try {
      await checkActorVersions(
        db,
        actors.map((actor) => actor.definition),
      );
    } catch (error) {
      parts.refusal = error as Error;
      throw error;
    }
  }
}

async function closeAll(parts: Parts, servers: Servers): Promise<void> {
  await servers.http.close().catch(() => {});
  await servers.admin?.close().catch(() => {});
  await parts.publisher.close();
  await parts.connection.close().catch(() => {});
  await Promise.all(parts.databases.map((database) => database.db.destroy().catch(() => {})));
  // Last, so that the spans of the deliveries that finished while stopping are exported too.
  await parts.tracing?.shutdown(tracingShutdownMs);
}

async function listen(parts: Parts, servers: Servers): Promise<{ port: number; adminPort: number | undefined }> {
  const { options, logger } = parts;
  await servers.http.listen({ host: options.http.host, port: options.http.port });
  const port = (servers.http.server.address() as AddressInfo).port;
  logger.info('listening', { host: options.http.host, port, services: parts.plan.services.map((each) => each.name) });
  if (!servers.admin || !options.admin) return { port, adminPort: undefined };
  try {
    await servers.admin.listen({ host: options.admin.host, port: options.admin.port });
  } catch (error) {
    await servers.http.close().catch(() => {});
    throw error;
  }
  const adminPort = (servers.admin.server.address() as AddressInfo).port;
  logger.info('admin listening', { host: options.admin.host, port: adminPort, routes: '/viz, /metrics' });
  return { port, adminPort };
}

function supervise(parts: Parts, servers: Servers): AnyActorRef {
  const consumerIds = parts.plan.consumers.map((consumer) => consumer.actorId);
  const kickAllRelays = () => parts.databases.forEach((database) => kickRelay(parts, database.relayId));
  parts.connection.on('connect', kickAllRelays);
  const logic = supervisorMachine.provide({
    actors: {
      prepare: fromPromise(() => prepareDatabases(parts)),
      shutdown: fromPromise(async ({ system }) => {
        const finished = (id: string) =>
          new Promise<void>((resolve) => {
            const actor = system.get(id) as AnyActorRef | undefined;
            if (!actor || actor.getSnapshot().status !== 'active') return resolve();
            actor.subscribe({ complete: resolve, error: () => resolve() });
          });
        await Promise.all(consumerIds.map(finished));
        parts.connection.off('connect', kickAllRelays);
        await closeAll(parts, servers);
      }),
    },
  });
  return createActor(logic, { input: { children: childrenOf(parts) }, inspect: parts.observers.inspect });
}

function running(supervisor: AnyActorRef): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    supervisor.subscribe({
      next: (snapshot: { value: unknown; context: { error?: unknown } }) => {
        if (snapshot.value === 'running') resolve();
        if (snapshot.value === 'failed') reject(new Error(`start-up failed: ${String(snapshot.context.error)}`));
      },
      error: reject,
    });
  });
}

/**
 * Starts the runtime: checks the options (an `OptionsError` names every problem), connects, creates and
 * migrates the databases, and resolves once every consumer is running. It rejects when start-up fails,
 * with everything it had opened closed again.
 */
export async function startRuntime(runtimeOptions: RuntimeOptions): Promise<Runtime> {
  const options = resolveOptions(runtimeOptions);
  const plan = planRuntime(options);
  const logger = options.logger ?? createLogger('info');
  const services = plan.services.map((service) => service.name);
  const tracing = await startTracing({ env: process.env, services, logger });
  const parts = createParts(options, plan, logger, tracing);
  const readiness = readinessCheck({
    connection: parts.connection,
    publisher: parts.publisher,
    supervisor: () => parts.supervisor,
    databases: parts.databases.map((database) => ({
      services: database.plan.services.map((service) => service.name),
      db: database.db,
    })),
    consumers: plan.consumers,
  });
  const servers = createServers(parts, readiness);
  let ports;
  try {
    ports = await listen(parts, servers);
  } catch (error) {
    await closeAll(parts, servers);
    throw error;
  }
  const supervisor = supervise(parts, servers);
  parts.supervisor = supervisor;
  const started = running(supervisor);
  supervisor.start();
  try {
    await started;
  } catch (error) {
    await closeAll(parts, servers);
    throw parts.refusal ?? error;
  }
  const stopped = new Promise<void>((resolve) => supervisor.subscribe({ complete: resolve, error: () => resolve() }));
  return {
    ...ports,
    readiness,
    async stop() {
      supervisor.send({ type: 'STOP' });
      await stopped;
    },
  };
}
