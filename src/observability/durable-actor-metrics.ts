/**
 * The durable actors' series that the inspection stream shows: what each event and timer firing did (from
 * the results its delivery ended with) and how late each timer fired. Instances by state are read at
 * scrape time (`metrics-probes.ts`).
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { isActorResult } from '../actors/durable/results.js';

const lagBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600];

export class DurableActorMetrics {
  readonly #events: Counter<'actor' | 'outcome'>;
  readonly #transitions: Counter<'actor' | 'from' | 'to'>;
  readonly #timerLag: Histogram<'actor'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#events = new Counter({
      name: 'ackstate_durable_events_total',
      help: "Events and timer firings applied to durable actors' instances, by actor and outcome (started, applied, ignored, stale: a timer no longer set).",
      labelNames: ['actor', 'outcome'],
      registers,
    });
    this.#transitions = new Counter({
      name: 'ackstate_durable_transitions_total',
      help: "Transitions of durable actors' instances, by actor, state left (`none` for a start) and state entered.",
      labelNames: ['actor', 'from', 'to'],
      registers,
    });
    this.#timerLag = new Histogram({
      name: 'ackstate_durable_timer_lag_seconds',
      help: 'Time from a durable timer being due to its firing being applied, by actor.',
      labelNames: ['actor'],
      buckets: lagBuckets,
      registers,
    });
  }

  /** The results of a delivery that ended: those of durable actors are counted, any other is left alone. */
  observe(results: readonly unknown[]): void {
    for (const result of results) {
      if (!isActorResult(result)) continue;
      this.#events.labels(result.actor, result.outcome).inc();
      if (result.outcome === 'started' || result.outcome === 'applied') {
        this.#transitions.labels(result.actor, result.from ?? 'none', result.to).inc();
      }
      if ('lagMs' in result) this.#timerLag.labels(result.actor).observe(Math.max(0, result.lagMs) / 1_000);
    }
  }
}
