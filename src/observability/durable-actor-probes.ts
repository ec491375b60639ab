/**
 * `ackstate_durable_instances`: durable actors' instances by actor and state, counted at scrape time in each
 * service database (a full count of `actor_instances`: about 40–80 ms per 200,000 instances, so scrape a
 * database of millions seldom). A database that does not answer in time counts a scrape error and shows
 * none of its series for that scrape.
 */
import { Gauge } from 'prom-client';
import { countInstancesByState } from '../db/actor-queries.js';
import type { MessagingDb } from '../db/messaging-queries.js';
import { withTimeout } from '../with-timeout.js';
import type { RuntimeMetrics } from './metrics.js';

export function watchDurableInstances(
  metrics: RuntimeMetrics,
  databases: readonly { readonly service: string; readonly db: MessagingDb }[],
  timeoutMs: number,
): void {
  const instances = new Gauge({
    name: 'ackstate_durable_instances',
    help: "Durable actors' instances by service, actor and state (a closed one in its final state until retention removes it).",
    labelNames: ['service', 'actor', 'state'],
    registers: [metrics.registry],
  });
  metrics.scrapeErrors.labels('durable_instances').inc(0);
  metrics.addProbe(async () => {
    // States an instance left since the last scrape are gone from the series, not left at their old count.
    instances.reset();
    for (const { service, db } of databases) {
      try {
        const counts = await withTimeout(countInstancesByState(db), timeoutMs, 'durable instances');
        for (const { actor, state, count } of counts) instances.labels(service, actor, state).set(count);
      } catch {
        metrics.scrapeErrors.labels('durable_instances').inc();
      }
    }
  });
}
