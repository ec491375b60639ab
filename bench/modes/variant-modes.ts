/**
 * What the per-variant modes (`--profile`, `--allocations`) share: one closed-loop run of each variant named
 * in `--only`, with the bench's users, warm-up and connections and what the mode adds to the processes, and
 * one JSON report of all of them.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { MachineInfo } from '../harness/machine.js';
import type { BenchOptions } from './options.js';
import { repoRoot } from '../harness/paths.js';
import { writeReport } from '../report/report.js';
import type { BuiltScripts } from '../harness/reference-build.js';
import { measureRun, type RunOptions, type RunResult } from '../harness/run.js';
import { variants, type VariantName } from './variants.js';
import { sleep } from '../../test/support/wait.js';

export interface ModeContext {
  readonly options: BenchOptions;
  readonly machine: MachineInfo;
  readonly scripts: BuiltScripts;
  readonly outFile: string;
  readonly command: string;
}

/** What a mode adds to a run: flags and environment for the pipeline's processes, hooks around the measured users. */
export type ModeAdditions = Pick<RunOptions, 'nodeArgs' | 'extraEnv' | 'measuredPhase'>;

/** One closed-loop run of `name` as the bench's options say, with the mode's additions. */
export function runVariantOnce(
  { options, scripts }: ModeContext,
  name: VariantName,
  additions: ModeAdditions,
): Promise<RunResult> {
  return measureRun({
    variant: variants[name],
    scripts,
    users: options.users,
    warmup: options.warmup,
    load: { kind: 'closed', connections: options.connections },
    pollMs: options.pollMs,
    keepLogs: options.keepLogs,
    ...additions,
  });
}

/** Writes the mode's JSON: when and how it ran, on what, and each variant's results by name. */
export async function writeModeReport(
  { options, machine, outFile, command }: ModeContext,
  results: Record<string, unknown>,
): Promise<void> {
  await writeReport(outFile, { date: new Date().toISOString(), command, machine, users: options.users, results });
  console.log(`\nbench: wrote ${path.relative(repoRoot, outFile)}`);
}

/** Which V8 profiler bench/modes/phase-profiler.mjs starts around the measured users. */
export type PhaseProfileKind = 'cpu' | 'allocations';

const phaseProfiler = path.join(repoRoot, 'bench/modes/phase-profiler.mjs');
const extensions: Record<PhaseProfileKind, string> = { cpu: 'cpuprofile', allocations: 'heapprofile' };

/**
 * One closed-loop run of `name` with a V8 profiler running in each of its processes over the measured users
 * only (started and stopped by SIGUSR2): the run's results and each process's profile, parsed.
 */
export async function runWithPhaseProfile(
  context: ModeContext,
  name: VariantName,
  kind: PhaseProfileKind,
): Promise<{ run: RunResult; profiles: unknown[] }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `ackstate-bench-${kind}-`));
  try {
    const signal = async (pids: readonly number[]) => {
      for (const pid of pids) process.kill(pid, 'SIGUSR2');
    };
    let profiled: readonly number[] = [];
    const run = await runVariantOnce(context, name, {
      nodeArgs: ['--import', phaseProfiler],
      extraEnv: { ACKSTATE_BENCH_PHASE_PROFILE: dir, ACKSTATE_BENCH_PHASE_KIND: kind },
      measuredPhase: {
        started: signal,
        ended: async (pids) => {
          profiled = pids;
          await signal(pids);
        },
      },
    });
    return { run, profiles: await profilesIn(dir, profiled, extensions[kind]) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Waits (30 s at most) for each process's profile, then parses them; a profiler's error stops the mode. */
async function profilesIn(dir: string, pids: readonly number[], extension: string): Promise<unknown[]> {
  const wanted = pids.map((pid) => `${pid}.${extension}`);
  for (let waited = 0; waited < 30_000; waited += 200) {
    const present = await readdir(dir);
    if (wanted.every((file) => present.includes(file))) break;
    await sleep(200);
  }
  return Promise.all(
    wanted.map(async (file) => {
      const profile = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as { error?: string };
      if (profile.error !== undefined) throw new Error(`profile ${file}: ${profile.error}`);
      return profile;
    }),
  );
}
