/** Which JSON file renders into which marked section of docs/benchmarks.md, and the replacing itself. */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AllocationsReport } from '../modes/allocations.js';
import { renderBaseline, renderLatest } from './docs-tables.js';
import { renderAllocations, renderInstances, renderProfile, renderSoak, renderSweep } from './mode-tables.js';
import type { InstancesReport } from '../modes/instances.js';
import type { ProfileReport } from '../modes/profile.js';
import type { BenchReport } from './report.js';
import type { SoakReport } from '../modes/soak.js';
import type { SweepReport } from '../modes/sweep.js';
import { renderSweepChart } from './chart.js';

export type Sections = Record<string, string>;

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * The sections the committed results render: `latest` always; `instances`, `soak`, `profile`, `allocations` and
 * `baseline` when their JSON exists.
 */
export async function renderedSections(resultsDir: string): Promise<Sections> {
  const latest = await readJson<BenchReport>(path.join(resultsDir, 'latest.json'));
  if (!latest) throw new Error(`${resultsDir}/latest.json is missing: run npm run bench`);
  const sections: Sections = { latest: renderLatest(latest) };
  const instances = await readJson<InstancesReport>(path.join(resultsDir, 'instances.json'));
  if (instances) sections.instances = renderInstances(instances);
  const soak = await readJson<SoakReport>(path.join(resultsDir, 'soak.json'));
  if (soak) sections.soak = renderSoak(soak);
  const profile = await readJson<ProfileReport>(path.join(resultsDir, 'profile.json'));
  if (profile && 'command' in profile) sections.profile = renderProfile(profile);
  const allocations = await readJson<AllocationsReport>(path.join(resultsDir, 'allocations.json'));
  if (allocations) sections.allocations = renderAllocations(allocations);
  const baseline = await readJson<BenchReport>(path.join(resultsDir, 'baseline.json'));
  if (baseline) sections.baseline = renderBaseline(baseline);
  for (const file of (await readdir(resultsDir)).filter((name) => /^sweep-[a-z-]+\.json$/.test(name)).sort()) {
    const sweep = await readJson<SweepReport>(path.join(resultsDir, file));
    if (sweep) sections[file.replace(/\.json$/, '')] = renderSweep(sweep);
  }
  return sections;
}

/** The files the committed results render besides the page's sections (paths relative to the repository). */
export async function renderedFiles(resultsDir: string): Promise<Record<string, string>> {
  const sweep = await readJson<SweepReport>(path.join(resultsDir, 'sweep-ackstate.json'));
  return sweep ? { 'docs/benchmarks-sweep.svg': renderSweepChart(sweep) } : {};
}

const markers = (name: string) => [`<!-- bench:${name}:start -->`, `<!-- bench:${name}:end -->`] as const;

/** The text between one section's markers, or undefined when the page has no such markers. */
export function sectionOf(page: string, name: string): string | undefined {
  const [start, end] = markers(name);
  const from = page.indexOf(start);
  const to = page.indexOf(end);
  if (from < 0 || to < from) return undefined;
  return page
    .slice(from + start.length, to)
    .replace(/^\n/, '')
    .replace(/\n$/, '');
}

/** The page with each section's markers enclosing its rendered tables; a section without markers is left out. */
export function replaceSections(page: string, sections: Sections): string {
  let result = page;
  for (const [name, text] of Object.entries(sections)) {
    const [start, end] = markers(name);
    const from = result.indexOf(start);
    const to = result.indexOf(end);
    if (from < 0 || to < from) continue;
    result = `${result.slice(0, from + start.length)}\n${text}\n${result.slice(to)}`;
  }
  return result;
}
