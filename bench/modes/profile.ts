/**
 * `--profile`: one closed-loop run of each variant (`--only`) with V8's CPU profiler sampling every 250 µs
 * over the measured users only (bench/modes/phase-profiler.mjs, started and stopped by signal: no start-up, no
 * warm-up); prints where each spends its CPU: by layer (bench/modes/profile-layers.ts) in µs per user, side by
 * side, then self time by package and by function. Profiles stay in bench/results/profiles/ (ignored by
 * git) for Chrome DevTools.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { MachineInfo } from '../harness/machine.js';
import { layersOf } from './profile-layers.js';
import { repoRoot, resultsDir } from '../harness/paths.js';
import { runWithPhaseProfile, writeModeReport, type ModeContext } from './variant-modes.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
export interface CpuProfile {
  /** Microseconds on the profiler's clock: Chrome DevTools needs both to open a profile. */
  startTime?: number;
  endTime?: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  readonly name: string;
  readonly ms: number;
  readonly percent: number;
}

/** Where a frame's code lives: an npm package, a file of ours, node's internals, or V8's pseudo-frames. */
function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const reference = /ackstate-bench\/reference\/(.*)$/.exec(url);
  if (reference) return `reference/${reference[1]}`;
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  if (url.startsWith('node:')) return 'node: internals';
  const ours = /\/(dist|bench)\/(.*)$/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  return url;
}

export function summarizeProfile(profile: CpuProfile, top: number) {
  const selfMs = new Map<number, number>();
  profile.samples.forEach((id, index) =>
    selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000),
  );
  let totalMs = 0;
  let idleMs = 0;
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const node of profile.nodes) {
    const ms = selfMs.get(node.id) ?? 0;
    if (ms === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    totalMs += ms;
    const where = packageOf(url, functionName);
    const name = `${functionName || '(anonymous)'} ${url ? `${where}:${lineNumber + 1}` : ''}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    byPackage.set(where, (byPackage.get(where) ?? 0) + ms);
  }
  const rank = (map: Map<string, number>): SelfTime[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms: Math.round(ms), percent: Math.round((ms / totalMs) * 1000) / 10 }));
  return {
    busyMs: Math.round(totalMs),
    idleMs: Math.round(idleMs),
    byPackage: rank(byPackage),
    byFunction: rank(byFunction),
  };
}

/** The profiles of a variant's processes as one (node ids made distinct), so its layers add up across them. */
export function mergedProfile(profiles: readonly CpuProfile[]): CpuProfile {
  const starts = profiles.flatMap((profile) => profile.startTime ?? []);
  const ends = profiles.flatMap((profile) => profile.endTime ?? []);
  const merged: CpuProfile = {
    ...(starts.length > 0 && { startTime: Math.min(...starts) }),
    ...(ends.length > 0 && { endTime: Math.max(...ends) }),
    nodes: [],
    samples: [],
    timeDeltas: [],
  };
  let offset = 0;
  for (const profile of profiles) {
    let highest = 0;
    for (const node of profile.nodes) {
      merged.nodes.push({ ...node, id: node.id + offset, children: node.children?.map((id) => id + offset) });
      highest = Math.max(highest, node.id);
    }
    // A loop, not push(...samples): a profile holds more samples than a call may take arguments.
    for (const sample of profile.samples) merged.samples.push(sample + offset);
    for (const delta of profile.timeDeltas) merged.timeDeltas.push(delta);
    offset += highest;
  }
  return merged;
}

/** The samples taken while the profiler was starting (inside bench/modes/phase-profiler.mjs) are the bench's, not the pipeline's. */
export function withoutProfilerStart(profile: CpuProfile): CpuProfile {
  const parentOf = new Map<number, ProfileNode>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);
  const inProfiler = new Set<number>();
  for (const node of profile.nodes) {
    for (let at: ProfileNode | undefined = node; at !== undefined; at = parentOf.get(at.id)) {
      if (at.callFrame.url.endsWith('/phase-profiler.mjs')) {
        inProfiler.add(node.id);
        break;
      }
    }
  }
  const samples: number[] = [];
  const timeDeltas: number[] = [];
  profile.samples.forEach((id, index) => {
    if (inProfiler.has(id)) return;
    samples.push(id);
    timeDeltas.push(profile.timeDeltas[index] ?? 0);
  });
  return { ...profile, samples, timeDeltas };
}

/** What bench/results/profile.json holds, and what `npm run bench:docs` renders of it. */
export interface ProfileReport {
  readonly date: string;
  readonly command: string;
  readonly machine: MachineInfo;
  readonly users: number;
  readonly results: Record<
    string,
    {
      readonly run: { readonly usersPerSecond: number; readonly cpuMsPerUser: number };
      readonly usersProfiled: number;
      readonly byLayer: readonly { readonly layer: string; readonly usPerUser: number }[];
    }
  >;
}

export async function runProfiles(context: ModeContext): Promise<void> {
  const { options } = context;
  const results: Record<string, unknown> = {};
  for (const name of options.only) {
    const dir = path.join(resultsDir, 'profiles', name);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const { run, profiles } = await runWithPhaseProfile(context, name, 'cpu');
    const profile = withoutProfilerStart(mergedProfile(profiles as CpuProfile[]));
    const file = path.join(dir, `${name}.cpuprofile`);
    await writeFile(file, JSON.stringify(profile));
    const summary = summarizeProfile(profile, 25);
    const usersProfiled = run.users;
    const byLayer = layersOf(profile).map(({ layer, ms }) => ({
      layer,
      usPerUser: Math.round((ms / usersProfiled) * 1000),
    }));
    results[name] = {
      run: { usersPerSecond: run.usersPerSecond, cpuMsPerUser: run.cpuMsPerUser },
      profile: path.relative(repoRoot, file),
      usersProfiled,
      byLayer,
      ...summary,
    };
    console.log(
      `\n${name}: ${run.usersPerSecond} users/s, ${run.cpuMsPerUser} CPU ms per user (under the profiler); busy ${summary.busyMs} ms, idle ${summary.idleMs} ms`,
    );
    console.log('  busy time by layer (µs per user, over the measured users):');
    for (const entry of byLayer) console.log(`    ${String(entry.usPerUser).padStart(6)} µs  ${entry.layer}`);
    console.log('  self time by package:');
    for (const entry of summary.byPackage.slice(0, 15))
      console.log(`    ${String(entry.percent).padStart(5)}%  ${String(entry.ms).padStart(6)} ms  ${entry.name}`);
    console.log('  self time by function:');
    for (const entry of summary.byFunction)
      console.log(`    ${String(entry.percent).padStart(5)}%  ${String(entry.ms).padStart(6)} ms  ${entry.name}`);
  }
  await writeModeReport(context, results);
}
