// Loaded with `--import` into a pipeline's processes by `npm run bench -- --allocations`: the first SIGUSR2
// starts V8's sampling heap profiler counting every allocation, also those collected since (by default it
// keeps only what is still alive); the second writes the profile to <ACKSTATE_BENCH_ALLOCATIONS>/<pid>.heapprofile.
import { writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';

const dir = process.env.ACKSTATE_BENCH_ALLOCATIONS;
const session = new inspector.Session();
session.connect();
let sampling = false;

process.on('SIGUSR2', () => {
  if (!sampling) {
    sampling = true;
    session.post('HeapProfiler.startSampling', {
      samplingInterval: 8192,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    return;
  }
  sampling = false;
  session.post('HeapProfiler.stopSampling', (error, result) => {
    const file = path.join(dir, `${process.pid}.heapprofile`);
    writeFileSync(file, error ? JSON.stringify({ error: String(error) }) : JSON.stringify(result.profile));
  });
});
