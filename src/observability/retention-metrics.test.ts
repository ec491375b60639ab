/**
 * `ackstate_retention_removed_total` as the runtime counts it: the retention machine, with a stub batch,
 * runs through the decoder into the metrics listener; what its context counts is what the series shows.
 */
import test from 'ava';
import { createActor, fromPromise, waitFor } from 'xstate';
import { retentionMachine, retentionTables, type BatchRemoved, type RetentionTable } from '../machines/retention.js';
import { createDecoder } from './decoder.js';
import { RuntimeMetrics } from './metrics.js';

async function removedOf(metrics: RuntimeMetrics, table: string, service: string): Promise<number | undefined> {
  const metric = await metrics.registry.getSingleMetric('ackstate_retention_removed_total')?.get();
  return metric?.values.find((value) => value.labels.table === table && value.labels.service === service)?.value;
}

function observedRetention(database: string, batches: readonly number[]) {
  const metrics = new RuntimeMetrics({ processMetrics: false });
  const inspect = createDecoder({ listeners: [metrics] });
  let calls = 0;
  const logic = retentionMachine.provide({
    actors: {
      removeBatch: fromPromise<BatchRemoved, { table: RetentionTable; limit: number }>(async () => {
        const removed = batches[calls] ?? 0;
        calls += 1;
        return { removed, ms: 1 };
      }),
    },
    delays: { interval: 1, batchPause: 0, backoff: 1 },
  });
  const actor = createActor(logic, { input: { database, batchSize: 10 }, inspect, systemId: `retention:${database}` });
  return { actor, metrics };
}

test('every table starts at zero for the database, before anything is removed', async (t) => {
  const { actor, metrics } = observedRetention('shop+audit', []);
  actor.start();
  t.teardown(() => actor.stop());
  for (const table of retentionTables) t.is(await removedOf(metrics, table, 'shop+audit'), 0, table);
});

test('rows removed are counted per table once each, across rounds and sweeps', async (t) => {
  // Round one: inbox 10 (full), outbox 3, the rest 0; round two: inbox 4, attempts 10 (full), one closed
  // actor instance; round three: nothing; then a second sweep removes 2 inbox rows.
  const { actor, metrics } = observedRetention('shop', [10, 3, 0, 0, 0, 4, 0, 10, 1, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0]);
  actor.start();
  t.teardown(() => actor.stop());
  await waitFor(actor, (snapshot) => snapshot.context.sweeps >= 2, { timeout: 5_000 });
  actor.stop();

  t.is(await removedOf(metrics, 'inbox', 'shop'), 16);
  t.is(await removedOf(metrics, 'outbox', 'shop'), 3);
  t.is(await removedOf(metrics, 'delivery_attempts', 'shop'), 10);
  t.is(await removedOf(metrics, 'actor_instances', 'shop'), 1);
  t.is(await removedOf(metrics, 'actor_history', 'shop'), 0);
});
