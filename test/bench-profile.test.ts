/** The CPU profiles of a variant's processes as one, without the samples of the profiler's own start. */
import test from 'ava';
import { mergedProfile, summarizeProfile, withoutProfilerStart, type CpuProfile } from '../bench/modes/profile.js';

const node = (id: number, functionName: string, url: string, children?: number[]) => ({
  id,
  callFrame: { functionName, url, lineNumber: 0 },
  children,
});

/** root → work (ours) and root → the profiler's start → inspector dispatch. */
const oneProcess = (workMs: number, profilerMs: number, startTime = 0): CpuProfile => ({
  startTime,
  endTime: startTime + (workMs + profilerMs) * 1000,
  nodes: [
    node(1, '(root)', '', [2, 3]),
    node(2, 'work', 'file:///repo/dist/app/user/user-service.js'),
    node(3, 'start', 'file:///repo/bench/modes/phase-profiler.mjs', [4]),
    node(4, 'dispatch', ''),
  ],
  samples: [4, 2, 2],
  timeDeltas: [profilerMs * 1000, (workMs / 2) * 1000, (workMs / 2) * 1000],
});

test("two processes' profiles add up, their node ids kept apart", (t) => {
  const merged = mergedProfile([oneProcess(10, 5, 2_000), oneProcess(30, 5, 1_000)]);
  t.like(merged, { startTime: 1_000, endTime: 36_000 }, 'the span DevTools shows covers both');
  t.is(new Set(merged.nodes.map((each) => each.id)).size, 8);
  t.deepEqual(merged.samples, [4, 2, 2, 8, 6, 6]);
  t.deepEqual(merged.nodes[4]!.children, [6, 7]);
  t.is(summarizeProfile(merged, 5).busyMs, 50);
});

test("the profiler's start is not the pipeline's busy time", (t) => {
  const profile = withoutProfilerStart(mergedProfile([oneProcess(10, 5), oneProcess(30, 5)]));
  t.is(profile.endTime, 35_000);
  const summary = summarizeProfile(profile, 5);
  t.is(summary.busyMs, 40);
  t.deepEqual(
    summary.byFunction.map((entry) => entry.name),
    ['work dist/app/user/user-service.js:1'],
  );
});
