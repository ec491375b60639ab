import test from 'ava';
import { faultKinds, faultSchedule } from './schedule.js';

const options = { seed: 42, durationMs: 600_000, meanGapMs: 5_000, instances: 2 };

test('the same seed gives the same schedule, another seed another one', (t) => {
  t.deepEqual(faultSchedule(options), faultSchedule(options));
  t.notDeepEqual(faultSchedule(options), faultSchedule({ ...options, seed: 43 }));
});

test('faults stay inside the run, in order, without overlapping, and every kind is drawn', (t) => {
  const faults = faultSchedule(options);
  t.true(faults.length >= 50);
  for (const [index, fault] of faults.entries()) {
    t.true(fault.atMs < options.durationMs);
    t.true(fault.instance >= 0 && fault.instance < options.instances);
    const previous = faults[index - 1];
    if (previous) t.true(fault.atMs > previous.atMs + previous.durationMs);
  }
  t.deepEqual([...new Set(faults.map((fault) => fault.kind))].sort(), [...faultKinds].sort());
});
