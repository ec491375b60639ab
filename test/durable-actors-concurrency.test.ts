// Two processes' worth of runtimes consuming one actor's events for the same instances: every event is
// applied once, none is lost to a concurrent update (the instance's row is locked for its transaction), on
// the real broker and database.
import test from 'ava';
import { assign, setup } from 'xstate';
import { z } from 'zod';
import { defineActor } from '../src/api/actor.js';
import { publishRaw } from './support/broker.js';
import { cardNames, cardRuntimes, collectedLogs } from './support/durable-cards.js';
import { query } from './support/environment.js';
import { waitUntil } from './support/wait.js';

const instances = 20;
const ticksEach = 25;

const counterMachine = setup({
  types: { context: {} as { ticks: number; seen: number[] }, events: {} as { type: 'tick'; seq: number } },
}).createMachine({
  id: 'counter',
  context: { ticks: 0, seen: [] },
  initial: 'counting',
  states: {
    counting: {
      on: {
        tick: {
          actions: assign(({ context, event }) => ({ ticks: context.ticks + 1, seen: [...context.seen, event.seq] })),
        },
      },
    },
  },
});

test('two runtimes applying events to the same instances lose no update and apply each event once', async (t) => {
  const names = cardNames('concurrent');
  const counter = defineActor(counterMachine).with({
    name: names.actor,
    version: 1,
    events: [
      {
        queue: names.cardQueue,
        schema: z.object({ id: z.string(), seq: z.number().int() }),
        id: (tick) => tick.id,
        key: (tick) => `${tick.id}:${tick.seq}`,
        starts: true,
        event: (tick) => ({ type: 'tick', seq: tick.seq }),
      },
    ],
  });
  const runtimes = cardRuntimes(t, names);
  // Small batches, so that the two interleave on the same instances rather than one taking everything.
  const options = { consumers: { prefetch: 8, maxBatch: 4 } };
  const logs = [collectedLogs(), collectedLogs()];
  for (const each of logs) await runtimes.start(counter, each, options);

  const bodies: string[] = [];
  for (let seq = 1; seq <= ticksEach; seq += 1) {
    for (let id = 0; id < instances; id += 1) bodies.push(JSON.stringify({ id: `i-${id}`, seq }));
  }
  await publishRaw(names.cardQueue, bodies);

  const rows = () =>
    query<{ instance_id: string; ticks: number; seen: number[]; row_version: number }>(
      names.dbUrl,
      "SELECT instance_id, (snapshot->'context'->>'ticks')::int AS ticks, snapshot->'context'->'seen' AS seen, row_version " +
        'FROM actor_instances WHERE actor = $1 ORDER BY instance_id',
      [names.actor],
    );
  await waitUntil(
    async () => {
      const now = await rows();
      return now.length === instances && now.every((row) => row.ticks === ticksEach);
    },
    { what: `${instances} instances at ${ticksEach} ticks each`, timeoutMs: 120_000 },
  );
  for (const row of await rows()) {
    t.deepEqual(
      [...row.seen].sort((a, b) => a - b),
      Array.from({ length: ticksEach }, (_, index) => index + 1),
      `${row.instance_id}: every tick once`,
    );
    t.is(row.row_version, ticksEach, `${row.instance_id}: one row version per event after the start`);
  }
  const history = await query<{ n: string }>(names.dbUrl, 'SELECT count(*) AS n FROM actor_history WHERE actor = $1', [
    names.actor,
  ]);
  t.is(Number(history[0]!.n), instances * ticksEach, 'one transition recorded per event');
  const applied = logs.map(
    ({ lines }) => lines.filter((line) => /^(Started|Moved) /.test(String(line.message))).length,
  );
  t.is(applied[0]! + applied[1]!, instances * ticksEach, `each event applied by one runtime (${applied.join(' + ')})`);
  t.true(
    applied.every((count) => count > 0),
    'both runtimes applied events',
  );
});
