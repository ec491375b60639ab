/**
 * CPU time and memory of a service process, read from /proc: utime + stime from /proc/<pid>/stat (in
 * clock ticks, 10 ms each on Linux), VmRSS and VmHWM (peak RSS) from /proc/<pid>/status.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const ticksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) in a /proc stat file. */
function cpuSecondsIn(statFile: string): number {
  const stat = readFileSync(statFile, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond; // fields 14 and 15: utime, stime
}

/** CPU seconds (user + system) the process has used so far, all its threads together. */
export function cpuSeconds(pid: number): number {
  return cpuSecondsIn(`/proc/${pid}/stat`);
}

/**
 * CPU seconds of the process's main thread (the event loop, where JavaScript runs). The rest of the process's
 * CPU is its helper threads': V8's (concurrent and parallel garbage collection, optimising compilation) and
 * libuv's pool.
 */
export function mainThreadCpuSeconds(pid: number): number {
  return cpuSecondsIn(`/proc/${pid}/task/${pid}/stat`);
}

/** Memory figures in MiB: resident now, and the peak resident size since the process started. */
export function memory(pid: number): { rssMiB: number; peakRssMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024 };
}

/** Samples VmRSS every `everyMs` and keeps the highest value seen (VmHWM covers what falls between). */
export function sampleRss(pid: number, everyMs = 100): { stop(): number } {
  let highest = 0;
  const take = () => {
    try {
      highest = Math.max(highest, memory(pid).rssMiB);
    } catch {
      // the process ended
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return highest;
    },
  };
}
