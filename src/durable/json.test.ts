import test from 'ava';
import { jsonProblem } from './json.js';

test('plain JSON passes, an undefined property included (JSON drops it)', (t) => {
  t.is(
    jsonProblem({ a: [1, 'x', true, null, { b: undefined }], c: Object.create(null) as object }, 'event'),
    undefined,
  );
});

test('anything that would come back different from a row is named with its path', (t) => {
  t.is(jsonProblem({ at: new Date(0) }, 'event'), 'event.at is a Date');
  t.is(jsonProblem({ list: [1, undefined] }, 'context'), 'context.list[1] is undefined');
  t.is(jsonProblem({ n: Number.NaN }, 'context'), 'context.n is NaN');
  t.is(jsonProblem({ big: 1n }, 'context'), 'context.big is a bigint');
  t.is(jsonProblem({ seen: new Set() }, 'context'), 'context.seen is a Set');
  t.is(jsonProblem({ f: () => 1 }, 'context'), 'context.f is a function');
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  t.is(jsonProblem(cycle, 'context'), 'context.self refers to itself');
  const shared = { x: 1 };
  t.is(jsonProblem({ a: shared, b: shared }, 'context'), undefined, 'a value met twice is no cycle');
});
