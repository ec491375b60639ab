/**
 * `ackstate_retention_removed_total`, from the retention machines' context as the inspection stream shows
 * it: each machine counts the rows it removed per table in `context.removed`, and this adds what grew since
 * the last snapshot seen. A respawned machine starts again from zero and is a new actor here too.
 */
import { Counter, type Registry } from 'prom-client';
import { retentionTables, type RetentionContext } from '../machines/retention.js';
import type { ObservedActor, ObservedContext } from './observation.js';

export class RetentionMetrics {
  readonly #removed: Counter<'table' | 'service'>;
  readonly #seen = new WeakMap<ObservedActor, RetentionContext['removed']>();

  constructor(registry: Registry) {
    this.#removed = new Counter({
      name: 'ackstate_retention_removed_total',
      help: 'Rows removed by retention, by table (inbox, outbox, delivery_attempts, actor_instances, actor_history) and service (the database label: services sharing a database are joined by +).',
      labelNames: ['table', 'service'],
      registers: [registry],
    });
  }

  /** A snapshot of a retention machine: its first one puts its series at zero. */
  observe(actor: ObservedActor, context: ObservedContext): void {
    const { removed, database } = context as unknown as Partial<RetentionContext>;
    if (removed === undefined || database === undefined) return;
    const previous = this.#seen.get(actor);
    if (previous === removed) return;
    this.#seen.set(actor, removed);
    for (const table of retentionTables) {
      const added = removed[table] - (previous?.[table] ?? 0);
      if (previous === undefined || added > 0) this.#removed.labels(table, database).inc(Math.max(0, added));
    }
  }
}
