// Loaded with `--import` into a pipeline's processes by `npm run bench -- --profile` or `--allocations`: the
// first SIGUSR2 starts a V8 profiler, the second writes what it saw to
// <ACKSTATE_BENCH_PHASE_PROFILE>/<pid>.<cpuprofile|heapprofile>, so a profile covers the measured users only
// (no start-up, no warm-up). ACKSTATE_BENCH_PHASE_KIND picks the profiler:
// - `cpu`: the sampling CPU profiler, every 250 µs (`--cpu-prof` samples every 1 ms: too few samples
//   for a few thousand users; much finer and the sampling itself costs a visible share of the CPU);
// - `allocations`: the sampling heap profiler counting every allocation, also those collected since (by
//   default it keeps only what is still alive).
import { writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';

const dir = process.env.ACKSTATE_BENCH_PHASE_PROFILE;
const kind = process.env.ACKSTATE_BENCH_PHASE_KIND === 'cpu' ? 'cpu' : 'allocations';
const session = new inspector.Session();
session.connect();
let profiling = false;

const profilers = {
  cpu: {
    start() {
      session.post('Profiler.enable');
      session.post('Profiler.setSamplingInterval', { interval: 250 });
      session.post('Profiler.start');
    },
    stop: (done) => session.post('Profiler.stop', done),
    extension: 'cpuprofile',
  },
  allocations: {
    start() {
      session.post('HeapProfiler.startSampling', {
        samplingInterval: 8192,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
    },
    stop: (done) => session.post('HeapProfiler.stopSampling', done),
    extension: 'heapprofile',
  },
};
const profiler = profilers[kind];

process.on('SIGUSR2', () => {
  if (!profiling) {
    profiling = true;
    profiler.start();
    return;
  }
  profiling = false;
  profiler.stop((error, result) => {
    const file = path.join(dir, `${process.pid}.${profiler.extension}`);
    writeFileSync(file, error ? JSON.stringify({ error: String(error) }) : JSON.stringify(result.profile));
  });
});
