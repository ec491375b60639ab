/** Where the allocation mode charges each sampled allocation (bench/modes/allocations.ts), on a hand-made profile. */
import test from 'ava';
import { allocationsByPackage, chargedTo } from '../bench/modes/allocations.js';

interface Node {
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly selfSize: number;
  readonly children: readonly Node[];
}
const node = (url: string, selfSize: number, children: readonly Node[] = [], functionName = 'f'): Node => ({
  callFrame: { functionName, url },
  selfSize,
  children,
});
const pkg = (name: string) => `file:///repo/node_modules/${name}/lib/index.js`;

test('an allocation is charged to the package or the file of ours whose code made it', (t) => {
  t.is(chargedTo(pkg('xstate'), undefined), 'xstate');
  t.is(chargedTo(pkg('@fastify/ajv-compiler'), undefined), '@fastify/ajv-compiler');
  t.is(chargedTo('file:///repo/dist/db/pipelined-driver.js', undefined), 'dist/db/pipelined-driver.js');
  t.is(
    chargedTo('file:///repo/node_modules/.cache/ackstate-bench/reference/unbatched/consumer.js', undefined),
    'reference/unbatched/consumer.js',
  );
});

test("Node's own code and the engine's builtins are charged to the package that called them", (t) => {
  const profile = node('', 0, [
    node(pkg('xstate'), 100, [node('', 40, [], 'Set'), node('node:internal/streams/writable', 10)]),
    node('file:///repo/dist/db/pipelined-driver.js', 5, [node('node:net', 30, [node(pkg('pg'), 7)])]),
    node('node:internal/process/task_queues', 3),
  ]);

  t.deepEqual(Object.fromEntries(allocationsByPackage(profile)), {
    xstate: 150,
    'dist/db/pipelined-driver.js': 35,
    pg: 7,
    'node (its own code)': 3,
  });
});
