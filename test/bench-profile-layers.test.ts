/** The profile's attribution by layer (bench/modes/profile-layers.ts), on a hand-made profile. */
import test from 'ava';
import { layerOf, layersOf } from '../bench/modes/profile-layers.js';

const frame = (functionName: string, url = '') => ({ functionName, url });
const dist = (file: string, name = 'f') => frame(name, `file:///repo/dist/${file}`);
const pkg = (name: string, fn = 'f') => frame(fn, `file:///repo/node_modules/${name}/lib/index.js`);

test('a sample belongs to the layer of its own frame', (t) => {
  t.is(layerOf(pkg('xstate', 'microstep'), [dist('actors/consumer/consumer.js')]), 'state machines (xstate)');
  t.is(layerOf(pkg('kysely'), [dist('actors/consumer/batch-transaction.js')]), 'database client (kysely, pg)');
  t.is(layerOf(dist('db/pipelined-driver.js'), []), 'database client (kysely, pg)');
  t.is(layerOf(pkg('amqp-connection-manager'), []), 'broker client (amqplib, amqp-connection-manager)');
  t.is(layerOf(frame('parserOnIncoming', 'node:_http_server'), []), 'HTTP (fastify, node:http)');
  t.is(layerOf(pkg('@fastify/ajv-compiler'), []), 'HTTP (fastify, node:http)');
  t.is(layerOf(pkg('zod'), [dist('app/user/user-service.js')]), 'validation (zod)');
  t.is(layerOf(dist('app/card/card-service.js'), []), 'runtime and application code');
  t.is(
    layerOf(frame('handle', 'file:///repo/node_modules/.cache/ackstate-bench/reference/unbatched/consumer.js'), []),
    'runtime and application code',
  );
  t.is(
    layerOf(frame('processTicksAndRejections', 'node:internal/process/task_queues'), []),
    'node internals, promises, timers',
  );
});

test("whatever an inspection listener calls is the listeners' cost; writes, collection and loading come first", (t) => {
  const listener = [dist('observability/log-writer.js', 'changed'), pkg('xstate', 'sendInspectionEvent')];
  t.is(layerOf(pkg('winston', 'log'), listener), 'inspection listeners (log, live view, metrics, traces)');
  t.is(layerOf(frame('stringify'), listener), 'inspection listeners (log, live view, metrics, traces)');
  t.is(layerOf(frame('writev'), listener), 'socket writes (kernel)');
  t.is(layerOf(frame('(garbage collector)'), []), 'garbage collection');
  t.is(layerOf(frame('compileSourceTextModule', 'node:internal/modules/esm/utils'), []), 'loading the program');
});

test('layers add up the self time of their samples; idle time is left out', (t) => {
  const profile = {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 4, 5] },
      { id: 2, callFrame: dist('actors/consumer/consumer.js', 'run'), children: [3] },
      { id: 3, callFrame: pkg('xstate', 'createActor') },
      { id: 4, callFrame: frame('(idle)') },
      { id: 5, callFrame: frame('(garbage collector)') },
    ],
    samples: [3, 3, 2, 4, 5, 3],
    timeDeltas: [1000, 1000, 500, 9000, 250, 1000],
  };
  t.deepEqual(layersOf(profile), [
    { layer: 'state machines (xstate)', ms: 3 },
    { layer: 'runtime and application code', ms: 0.5 },
    { layer: 'garbage collection', ms: 0.25 },
  ]);
});
