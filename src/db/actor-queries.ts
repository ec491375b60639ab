/**
 * The durable actors' database layer in one import: instances (load, lock, create, update), timers (set,
 * cancel, claim, take), history, the views' reads and retention. Every statement takes any Kysely database
 * or transaction of a service whose database the runtime migrated with `actorMigrations`.
 */
export * from './actor-history-queries.js';
export * from './actor-instance-queries.js';
export * from './actor-retention-queries.js';
export { actorTablesOf, type ActorDb, type ActorStatus, type ActorTables } from './actor-schema.js';
export * from './actor-timer-queries.js';
export * from './actor-view-queries.js';
