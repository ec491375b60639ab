/**
 * What the per-variant modes (`--profile`, `--allocations`) share: one closed-loop run of each variant named
 * in `--only`, with the bench's users, warm-up and connections and what the mode adds to the processes, and
 * one JSON report of all of them.
 */
import path from 'node:path';
import type { MachineInfo } from './machine.js';
import type { BenchOptions } from './options.js';
import { repoRoot } from './paths.js';
import { writeReport } from './report.js';
import type { BuiltScripts } from './reference-build.js';
import { measureRun, type RunOptions, type RunResult } from './run.js';
import { variants, type VariantName } from './variants.js';

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
