/** The benchmark's ratios to the references (bench/report/report.ts): paired within each round, on hand-made runs. */
import test from 'ava';
import { pairedRatio, ratiosOf } from '../bench/report/report.js';
import type { RunResult } from '../bench/harness/run.js';

const run = (variant: string, cpuMsPerUser: number, usersPerSecond = 1000, p50 = 100) =>
  ({ variant, cpuMsPerUser, usersPerSecond, latencyMs: { p50, p95: p50, p99: p50, max: p50 } }) as RunResult;

test('each ratio is the median of the same-round ratios, not the ratio of the medians', (t) => {
  // ackstate costs 1.2x, 2x and 1.1x the reference in rounds where the host runs at speeds 1, 0.9 and 1/3.
  const runs = [
    run('ackstate', 1.2),
    run('ref-batched', 1.0),
    run('ref-batched', 0.9),
    run('ackstate', 1.8),
    run('ackstate', 3.3),
    run('ref-batched', 3.0),
  ];
  const [ackstate] = ratiosOf(runs, ['ackstate']);
  t.deepEqual(ackstate?.cpuPerUserByRound, [1.2, 2, 1.1]);
  // The ratio of the medians would be 1.8 / 1.0: round 2's ackstate over round 1's reference.
  t.is(ackstate?.cpuPerUser, 1.2);
});

test("a variant's n-th run is paired with the reference's n-th, whatever the order within the round", (t) => {
  const runs = [run('ackstate', 3.6), run('ref-batched', 1.0), run('ref-batched', 3.0), run('ackstate', 1.2)];
  t.deepEqual(ratiosOf(runs, ['ackstate'])[0]?.cpuPerUserByRound, [3.6, 0.4]);
});

test('throughput, p50 and the ratio to the unbatched reference are paired the same way', (t) => {
  const runs = [
    run('ackstate-batch1', 1.5, 400, 300),
    run('ref-unbatched', 1.0, 500, 200),
    run('ref-batched', 0.5, 1000, 100),
    run('ref-batched', 0.25, 2000, 50),
    run('ref-unbatched', 0.5, 1000, 100),
    run('ackstate-batch1', 0.75, 800, 150),
  ];
  const [batch1] = ratiosOf(runs, ['ackstate-batch1']);
  t.deepEqual(batch1?.cpuPerUserToUnbatchedByRound, [1.5, 1.5]);
  t.is(batch1?.cpuPerUserToUnbatched, 1.5);
  t.is(batch1?.throughput, 0.4);
  t.is(batch1?.p50, 3);
  t.is(batch1?.cpuPerUser, 3);
});

test('a round without a run of the reference has no ratio; no reference at all gives none', (t) => {
  const runs = [run('ackstate', 1.2), run('ref-batched', 1.0), run('ackstate', 1.4)];
  const [ackstate] = ratiosOf(runs, ['ackstate']);
  t.deepEqual(ackstate?.cpuPerUserByRound, [1.2, null]);
  t.is(ackstate?.cpuPerUser, 1.2);
  t.is(ackstate?.cpuPerUserToUnbatched, null);
});

test('an A/B against a baseline checkout is paired by round too', (t) => {
  const runs = [run('baseline', 1.0), run('ackstate', 0.9), run('ackstate', 0.45), run('baseline', 0.5)];
  t.is(
    pairedRatio(runs, 'ackstate', 'baseline', (each) => each.cpuMsPerUser),
    0.9,
  );
  t.is(
    pairedRatio(runs, 'ackstate-batch1', 'baseline-batch1', (each) => each.cpuMsPerUser),
    null,
  );
});
