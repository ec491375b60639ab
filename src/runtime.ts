/**
 * Wires one process: the broker connection, a publisher, for each service its database, outbox, relay
 * and consumer, the HTTP server, and the supervisor that owns them all. Both services run in one process
 * (`both`) or each alone (`user`, `card`); a service alone needs nothing of the other but the queues.
 */
import type { AddressInfo } from 'node:net';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { createActor, type AnyActorRef } from 'xstate';
import type { Config } from './app/config.js';
import { createDatabase, ensureDatabaseExists } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { messagingTablesOf } from './db/messaging-queries.js';
import type { MessagingTables } from './db/schema.js';
import { createFailpoints } from './failpoints.js';
import { supervisorMachine, type ChildSpec } from './machines/supervisor.js';
import { describeError } from './policies/classify-error.js';
import { connectBroker, connectionLogic, deadLetterQueue, type Topology } from './actors/broker/broker.js';
import { consumerLogic } from './actors/consumer/consumer.js';
import { createAdminServer } from './actors/http/admin-server.js';
import { createHttpServer, type Readiness } from './actors/http/http-server.js';
import { createInspector, type DeliveryDescriber } from './actors/observability/inspector.js';
import type { Logger } from './actors/observability/logger.js';
import { LiveMonitor } from './actors/observability/viz/live-monitor.js';
import { registerVizRoutes } from './actors/observability/viz/routes.js';
import { Outbox, outboxRelayLogic } from './actors/outbox/outbox-relay.js';
import { ConfirmPublisher } from './actors/broker/publisher.js';
import { RuntimeMetrics, registerMetricsRoute } from './actors/observability/metrics.js';
import { watchScrapeTimeValues } from './actors/observability/metrics-probes.js';
import type { ServiceSpec } from './service.js';
import { readBrokerTls } from './app/tls-settings.js';
import { withTimeout } from './with-timeout.js';
import { cardService } from './app/card/card-service.js';
import { userService } from './app/user/user-service.js';
import { fromPromise } from 'xstate';

export const modes = ['both', 'user', 'card'] as const;
export type Mode = (typeof modes)[number];

export interface RunningSystem {
  readonly port: number;
  /** The admin server's port, when ADMIN_PORT separates it. */
  readonly adminPort: number | undefined;
  readonly supervisor: AnyActorRef;
  stop(): Promise<void>;
}

interface ServiceParts {
  readonly spec: ServiceSpec<MessagingTables>;
  readonly db: Kysely<MessagingTables>;
  readonly outbox: Outbox;
  readonly consumerId: string;
  readonly relayId: string;
}

export async function startSystem(config: Config, mode: Mode, logger: Logger): Promise<RunningSystem> {
  const specs = [
    ...(mode === 'both' || mode === 'user' ? [userService(config)] : []),
    ...(mode === 'both' || mode === 'card' ? [cardService(config)] : []),
  ] as unknown as ServiceSpec<MessagingTables>[];
  const failpoints = createFailpoints(config.FAILPOINTS);
  const topology: Topology = {
    queues: [config.USER_QUEUE, config.CARD_QUEUE],
    queueType: config.QUEUE_TYPE,
    deliveryLimit: config.QUORUM_DELIVERY_LIMIT,
  };
  const connection = connectBroker(config.AMQP_URL, readBrokerTls(config));
  const metrics = new RuntimeMetrics({ queues: specs.map((spec) => spec.consumer.queue) });
  const publisher = new ConfirmPublisher(connection, topology, config.PUBLISH_TIMEOUT_MS, metrics.publishes);

  const parts: ServiceParts[] = specs.map((spec) => {
    const db = createDatabase<MessagingTables>({ url: spec.databaseUrl });
    return {
      spec,
      db,
      outbox: new Outbox(messagingTablesOf(db), publisher, { leaseMs: config.OUTBOX_LEASE_MS }),
      consumerId: `consumer:${spec.name}`,
      relayId: `outbox:${spec.name}`,
    };
  });

  const services = new Map(specs.map((spec) => [spec.consumer.queue, spec.name]));
  // The visualizer (GET /viz) watches the same inspection stream that the log is written from.
  const monitor = new LiveMonitor({ services });
  const inspect = createInspector({
    logger,
    describers: new Map(specs.map((spec) => [spec.consumer.queue, spec.consumer.describe as DeliveryDescriber])),
    services,
    listeners: [monitor.observe, metrics.observe],
  });

  let supervisor: AnyActorRef | undefined;
  const child = (id: string) => supervisor?.system.get(id) as AnyActorRef | undefined;
  const kickRelay = (relayId: string) => () => child(relayId)?.send({ type: 'KICK' });
  const kickAllRelays = () => parts.forEach((part) => kickRelay(part.relayId)());
  connection.on('connect', kickAllRelays);

  // Stopped in this order: consumers drain first, the connection's state closes last.
  const children: ChildSpec[] = [
    ...parts.flatMap((part): ChildSpec[] => [
      {
        id: part.consumerId,
        input: { queue: part.spec.consumer.queue },
        logic: consumerLogic({
          id: part.consumerId,
          service: part.spec.name,
          spec: part.spec.consumer,
          db: messagingTablesOf(part.db),
          connection,
          topology,
          publisher,
          outbox: part.outbox,
          kickRelay: kickRelay(part.relayId),
          inspect,
          failpoints,
          prefetch: config.PREFETCH,
          maxBatch: config.MAX_BATCH,
          batchConcurrency: config.BATCH_CONCURRENCY,
          maxAttempts: config.MAX_ATTEMPTS,
          retry: { baseMs: config.RETRY_BASE_MS, maxMs: config.RETRY_MAX_MS },
          messageMaxBytes: config.MESSAGE_MAX_BYTES,
          shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
        }),
      },
      { id: part.relayId, logic: outboxRelayLogic(part.outbox, config.OUTBOX_POLL_MS) },
    ]),
    { id: 'connection', logic: connectionLogic(connection) },
  ];

  const readiness = async (): Promise<Readiness> => {
    const checks: Record<string, string> = {};
    checks.broker = connection.isConnected() ? 'connected' : 'disconnected';
    // Its own channel: a failed setup (a queue declared elsewhere with other arguments) closes it alone.
    checks.publisher = publisher.connected ? 'open' : 'closed';
    checks.supervisor = String(supervisor?.getSnapshot().value ?? 'not started');
    await Promise.all(
      parts.map(async (part) => {
        try {
          await withTimeout(sql`SELECT 1`.execute(part.db), 2_000, 'database check');
          checks[`${part.spec.name}.database`] = 'reachable';
        } catch (error) {
          checks[`${part.spec.name}.database`] = `unreachable: ${describeError(error)}`;
        }
        checks[`${part.spec.name}.consumer`] = String(child(part.consumerId)?.getSnapshot().value ?? 'not started');
      }),
    );
    const ready =
      checks.broker === 'connected' &&
      checks.publisher === 'open' &&
      checks.supervisor === 'running' &&
      parts.every(
        (part) =>
          checks[`${part.spec.name}.database`] === 'reachable' && checks[`${part.spec.name}.consumer`] === 'consuming',
      );
    return { ready, checks };
  };

  const onServerError = (error: unknown) => logger.error('request failed', { error: describeError(error) });
  const http = createHttpServer({ bodyLimit: config.HTTP_BODY_LIMIT, readiness, onServerError });
  for (const part of parts) {
    part.spec.routes?.(http, { db: part.db, publishNow: (rows) => part.outbox.publishNow(rows) });
  }
  // The admin routes move to a server of their own when ADMIN_PORT is set, and are then not on the API's port.
  const admin = config.ADMIN_PORT === undefined ? undefined : createAdminServer(onServerError);
  registerVizRoutes(admin ?? http, { monitor });
  watchScrapeTimeValues(metrics, {
    connection,
    queues: topology.queues.flatMap((queue) => [queue, deadLetterQueue(queue)]),
    outboxes: parts.map((part) => ({ service: part.spec.name, db: messagingTablesOf(part.db) })),
  });
  registerMetricsRoute(admin ?? http, metrics);

  const closeResources = async () => {
    await http.close().catch(() => {});
    await admin?.close().catch(() => {});
    await publisher.close();
    connection.off('connect', kickAllRelays);
    await connection.close().catch(() => {});
    await Promise.all(parts.map((part) => part.db.destroy().catch(() => {})));
  };

  const logic = supervisorMachine.provide({
    actors: {
      prepare: fromPromise(async () => {
        for (const part of parts) {
          await ensureDatabaseExists(part.spec.databaseUrl);
          await migrateToLatest(part.db as Kysely<unknown>, part.spec.migrations);
        }
      }),
      shutdown: fromPromise(async ({ system }) => {
        const finished = (id: string) =>
          new Promise<void>((resolve) => {
            const actor = system.get(id) as AnyActorRef | undefined;
            if (!actor || actor.getSnapshot().status !== 'active') return resolve();
            actor.subscribe({ complete: resolve, error: () => resolve() });
          });
        await Promise.all(parts.map((part) => finished(part.consumerId)));
        await closeResources();
      }),
    },
  });

  await http.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  const port = (http.server.address() as AddressInfo).port;
  logger.info('listening', { host: config.HTTP_HOST, port, mode });
  let adminPort: number | undefined;
  if (admin) {
    try {
      await admin.listen({ host: config.ADMIN_HOST, port: config.ADMIN_PORT });
    } catch (error) {
      await http.close().catch(() => {});
      throw error;
    }
    adminPort = (admin.server.address() as AddressInfo).port;
    logger.info('admin listening', { host: config.ADMIN_HOST, port: adminPort, routes: '/viz, /metrics' });
  }

  supervisor = createActor(logic, { input: { children }, inspect });
  const settled = new Promise<void>((resolve, reject) => {
    supervisor!.subscribe({
      next: (snapshot) => {
        if (snapshot.value === 'running') resolve();
        if (snapshot.value === 'failed') reject(new Error(`start-up failed: ${snapshot.context.error}`));
      },
      error: reject,
    });
  });
  supervisor.start();
  try {
    await settled;
  } catch (error) {
    await closeResources();
    throw error;
  }

  const stopped = new Promise<void>((resolve) => supervisor!.subscribe({ complete: resolve, error: () => resolve() }));
  return {
    port,
    adminPort,
    supervisor,
    async stop() {
      supervisor!.send({ type: 'STOP' });
      await stopped;
    },
  };
}
