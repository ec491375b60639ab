/**
 * A service, as data: a name, a database (URL and migrations), consumers, and optionally HTTP routes and
 * the destinations they publish to. The runtime gives each service its pool, inbox, outbox and relay.
 */
import type { FastifyInstance } from 'fastify';
import type { Kysely, Migration, Transaction } from 'kysely';
import type { Consumer } from './consumer.js';
import type { Destination, Publisher } from './destination.js';
import type { RetentionSettings } from './retention.js';

/** The database of a service. Services that name the same URL share one pool and one outbox. */
export interface DatabaseSpec {
  /** A postgres:// URL; the database is created when it does not exist. */
  readonly url: string;
  /** Kysely migrations of the service's own tables, run at start in name order (the runtime adds its own tables). */
  readonly migrations?: Readonly<Record<string, Migration>>;
  /**
   * The table that records which of `migrations` ran; Kysely's default, `kysely_migration`, when omitted.
   * Services sharing a database need one each.
   */
  readonly migrationTable?: string;
  /** Pool size. Default 10. */
  readonly maxConnections?: number;
  /**
   * How long a statement may wait for the server's answer, 100 – 3,600,000 ms; the connection is then ended
   * and the failure taken for an outage (the consumer pauses, no attempt counted). Default 30,000. Services
   * sharing a database get the longest of theirs.
   */
  readonly queryTimeoutMs?: number;
  /**
   * Statements made with `prepared()` (the runtime's own included) run as named prepared statements: each
   * connection parses and plans one once. Default true; false behind a pooler that cannot keep them (PgBouncer
   * in transaction mode before 1.21). Services sharing a database use them only if none of them says false.
   */
  readonly preparedStatements?: boolean;
}

/**
 * A durable actor as a service takes it: an `ActorDefinition` made by `defineActor`. Typed by what the
 * service needs of it only, so that a service's declarations do not bring in XState's types (a user who
 * defines no actor need not compile them).
 */
export interface ServiceActor {
  readonly name: string;
  readonly version: number;
}

/** Options of `ServiceContext.batch`. */
export interface BatchOptions {
  /** Items in one transaction at most; the runtime's `consumers.maxBatch` when omitted. */
  readonly maxBatch?: number;
  /** Transactions at once; the runtime's `consumers.batchConcurrency` when omitted. */
  readonly concurrency?: number;
}

/** What HTTP routes get from the runtime: the database, and transactions whose messages go through the outbox. */
export interface ServiceContext<DB> {
  readonly db: Kysely<DB>;
  /**
   * Runs `work` in a transaction; what it publishes is written to the outbox in the same transaction and
   * sent once it has committed (the relay sends whatever that does not confirm).
   */
  transaction<T>(work: (trx: Transaction<DB>, out: Publisher) => Promise<T>): Promise<T>;
  /**
   * Group commit: returns a function whose calls made at the same moment share one transaction (one
   * `work` call with all their items, returning one result per item, in order). A batch that fails for
   * any reason but an outage is split and each item runs alone, so one item's failure is its own.
   */
  batch<Item, Result>(
    work: (trx: Transaction<DB>, items: readonly Item[], out: Publisher) => Promise<readonly Result[]>,
    options?: BatchOptions,
  ): (item: Item) => Promise<Result>;
}

/**
 * What a user writes to define a service.
 *
 * @example
 * ```ts
 * const cards = defineService({
 *   name: 'card',
 *   database: { url: 'postgres://postgres@127.0.0.1:5432/card_service', migrations },
 *   consumers: [issueCards],
 * });
 * ```
 */
export interface ServiceSpec<DB> {
  /** Names the service in logs, metrics, readiness and failpoints: letters, digits, `_` and `-`. */
  readonly name: string;
  readonly database: DatabaseSpec;
  readonly consumers?: readonly Consumer<DB>[];
  /**
   * Durable actors (made by `defineActor`): each runs as consumers of the service, one per event source and
   * one for its timers, with its instances, timers and history in the service's database.
   */
  readonly actors?: readonly ServiceActor[];
  /** Destinations the routes publish to, declared at start. */
  readonly publishes?: readonly Destination[];
  /** Adds the service's HTTP routes to the runtime's server (fastify). */
  readonly routes?: (app: FastifyInstance, context: ServiceContext<DB>) => void;
  /**
   * How long the runtime keeps this service's inbox rows, sent outbox rows and attempt counts; the
   * runtime's `retention` for what is left out. Services sharing a database get the longest of their windows.
   */
  readonly retention?: RetentionSettings;
}

/** The runtime's side of a service's routes: given the service's own pool and outbox. */
export type RouteInstaller = (app: FastifyInstance, context: ServiceContext<unknown>) => void;

/** A service as the runtime holds it: made by `defineService`, passed to `startRuntime`. */
export interface Service {
  readonly name: string;
  readonly database: DatabaseSpec;
  readonly consumers: readonly Consumer<unknown>[];
  readonly actors: readonly ServiceActor[];
  readonly publishes: readonly Destination[];
  readonly routes: RouteInstaller | undefined;
  readonly retention: RetentionSettings;
}

/** Defines a service. Its consumers and routes share the database type `DB`; its actors' tables are the runtime's. */
export function defineService<DB>(spec: ServiceSpec<DB>): Service {
  return Object.freeze({
    name: spec.name,
    database: spec.database,
    // The runtime runs every service on a Kysely<unknown>: the service's own code, which knows DB, is all
    // that reads its tables, so erasing DB here loses nothing it relies on.
    consumers: (spec.consumers ?? []) as unknown as readonly Consumer<unknown>[],
    actors: spec.actors ?? [],
    publishes: spec.publishes ?? [],
    routes: spec.routes as unknown as RouteInstaller | undefined,
    retention: spec.retention ?? {},
  });
}
