/**
 * `ackstate_consumer_paused_seconds`: how long each consumer has been paused (its outage breaker open or
 * half-open), computed at scrape time from the `pausedSince` of its last snapshot in the inspection stream;
 * 0 while it is not paused. A pause that fails its trials keeps its start, so the gauge keeps growing
 * through the reopenings. One consumer per queue: a respawned consumer takes its predecessor's place.
 */
import { Gauge, type Registry } from 'prom-client';
import { pausedSeconds, type PauseContext } from '../machines/consumer-pause.js';
import type { ObservedActor, ObservedConsumer, ObservedContext } from './observation.js';

interface FollowedConsumer {
  readonly labels: Readonly<Record<'service' | 'consumer' | 'queue', string>>;
  /** The consumer actor as last seen, with its context then; undefined until it is seen. */
  actor: ObservedActor | undefined;
  context: PauseContext;
}

export class PauseMetrics {
  readonly #consumers = new Map<string, FollowedConsumer>();

  /** `consumers` have their series from the start, at 0; `now` is the epoch-ms clock read at each scrape. */
  constructor(registry: Registry, consumers: ReadonlyMap<string, ObservedConsumer>, now: () => number) {
    for (const [queue, owner] of consumers) this.#followed(queue, owner);
    const followed = this.#consumers;
    new Gauge({
      name: 'ackstate_consumer_paused_seconds',
      help: "Seconds since a consumer's outage breaker opened, while it stays open or half-open (reopenings after failed trials included), by service, consumer and queue; 0 while the consumer is not paused.",
      labelNames: ['service', 'consumer', 'queue'],
      registers: [registry],
      collect() {
        const at = now();
        for (const { labels, actor, context } of followed.values()) {
          const state = actor === undefined || actor.ended ? undefined : actor.state;
          this.labels(labels).set(state === undefined ? 0 : pausedSeconds(state, context, at));
        }
      },
    });
  }

  /** A snapshot of a consumer actor: its state is read from the actor at scrape time, with this context. */
  observe(actor: ObservedActor, context: ObservedContext): void {
    if (actor.queue === undefined) return;
    const followed = this.#followed(actor.queue, actor.owner);
    followed.actor = actor;
    followed.context = context as PauseContext;
  }

  #followed(queue: string, owner: ObservedConsumer | undefined): FollowedConsumer {
    let followed = this.#consumers.get(queue);
    if (followed === undefined) {
      const labels = { service: owner?.service ?? '', consumer: owner?.consumer ?? '', queue };
      followed = { labels, actor: undefined, context: {} };
      this.#consumers.set(queue, followed);
    }
    return followed;
  }
}
