/**
 * `--allocations`: one closed-loop run of each variant (`--only`) with V8's sampling heap profiler counting
 * every allocation of the measured users (bench/modes/phase-profiler.mjs, started and stopped by signal around
 * the measured phase); prints and records the bytes allocated per user, by package. What a pipeline allocates
 * is what its garbage collector and V8's helper threads work through: see the runs' "off the main thread".
 */
import type { MachineInfo } from '../harness/machine.js';
import { runWithPhaseProfile, writeModeReport, type ModeContext } from './variant-modes.js';

interface HeapProfileNode {
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly selfSize: number;
  readonly children?: readonly HeapProfileNode[];
}

export interface AllocationsByPackage {
  readonly name: string;
  readonly kibPerUser: number;
}

/** What bench/results/allocations.json holds, and what `npm run bench:docs` renders of it. */
export interface AllocationsReport {
  readonly date: string;
  readonly command: string;
  readonly machine: MachineInfo;
  readonly users: number;
  readonly results: Record<
    string,
    {
      readonly run: {
        readonly usersPerSecond: number;
        readonly cpuMsPerUser: number;
        readonly helperThreadsCpuShare: number;
      };
      readonly kibPerUser: number;
      readonly byPackage: readonly AllocationsByPackage[];
    }
  >;
}

/**
 * Where an allocation is charged: the npm package or file of ours whose code made it, or, for Node's own
 * code and the engine's builtins, the package that called them (a `Set` made by xstate is xstate's).
 */
export function chargedTo(url: string, caller: string | undefined): string {
  const reference = /\/ackstate-bench\/(.*)$/.exec(url);
  if (reference) return reference[1]!;
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (modules) return modules[1]!;
  const ours = /\/dist\/(.*)$/.exec(url);
  if (ours) return `dist/${ours[1]}`;
  return caller ?? 'node (its own code)';
}

/** Bytes allocated by package over a profile's samples. */
export function allocationsByPackage(root: HeapProfileNode): Map<string, number> {
  const bytes = new Map<string, number>();
  const walk = (node: HeapProfileNode, caller: string | undefined) => {
    const charged = chargedTo(node.callFrame.url, caller);
    if (node.selfSize > 0) bytes.set(charged, (bytes.get(charged) ?? 0) + node.selfSize);
    for (const child of node.children ?? []) walk(child, charged);
  };
  walk(root, undefined);
  return bytes;
}

export async function runAllocations(context: ModeContext): Promise<void> {
  const results: Record<string, unknown> = {};
  for (const name of context.options.only) {
    const { run, profiles } = await runWithPhaseProfile(context, name, 'allocations');
    const bytes = new Map<string, number>();
    for (const profile of profiles as { head?: HeapProfileNode }[]) {
      const head = profile.head;
      if (!head) throw new Error(`${name}: an allocation profile without samples`);
      for (const [where, size] of allocationsByPackage(head)) bytes.set(where, (bytes.get(where) ?? 0) + size);
    }
    const kib = (size: number) => Math.round((size / 1024 / run.users) * 10) / 10;
    const total = [...bytes.values()].reduce((sum, size) => sum + size, 0);
    const byPackage = [...bytes.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([where, size]) => ({ name: where, kibPerUser: kib(size) }))
      .filter((entry) => entry.kibPerUser >= 0.1);
    results[name] = {
      run: {
        usersPerSecond: run.usersPerSecond,
        cpuMsPerUser: run.cpuMsPerUser,
        helperThreadsCpuShare: run.helperThreadsCpuShare,
      },
      kibPerUser: kib(total),
      byPackage,
    };
    console.log(
      `\n${name}: ${kib(total)} KiB allocated per user; ${run.cpuMsPerUser} CPU ms per user (sampling), ` +
        `${Math.round(run.helperThreadsCpuShare * 100)}% of it off the main thread`,
    );
    for (const entry of byPackage.slice(0, 20))
      console.log(`    ${String(entry.kibPerUser).padStart(7)} KiB  ${entry.name}`);
  }
  await writeModeReport(context, results);
}
