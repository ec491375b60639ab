/**
 * From a machine to its description (the chart read from the definition, no layout needed) and to its
 * picture (laid out and drawn). Used by `npm run viz` (files for the docs) and by the live page (the same
 * pictures with room for counts).
 */
import type { AnyStateMachine } from 'xstate';
import { chartOf, statesOf, type Chart } from './chart.js';
import { layoutChart } from './layout.js';
import type { MachineEntry } from './machines.js';
import { renderSvg } from './svg.js';

export interface DescribedMachine {
  readonly id: string;
  readonly title: string;
  readonly summary: string;
  readonly source: string;
  readonly chart: Chart;
  /** Every state path, the root (`""`) left out. */
  readonly states: readonly string[];
  /** `machine.toJSON()`: XState's own serialisation of the definition. */
  readonly definition: unknown;
}

export interface RenderedMachine extends DescribedMachine {
  readonly svg: string;
}

export interface RenderOptions {
  readonly live?: boolean;
}

export function describeMachine(entry: MachineEntry): DescribedMachine {
  const chart = chartOf(entry.machine);
  return {
    id: entry.id,
    title: entry.title,
    summary: entry.summary,
    source: entry.source,
    chart,
    states: statesOf(chart)
      .map((state) => state.path)
      .filter((path) => path !== ''),
    definition: definitionOf(entry.machine),
  };
}

export async function renderMachine(
  entry: MachineEntry,
  { live = false }: RenderOptions = {},
): Promise<RenderedMachine> {
  const described = describeMachine(entry);
  const diagram = await layoutChart(described.chart, { direction: entry.direction, live });
  return { ...described, svg: renderSvg(diagram, { live, title: `${entry.title} state machine (${entry.source})` }) };
}

/**
 * One machine after the other, letting other work run in between: a layout holds the thread while it runs
 * (ELK computes synchronously), so a running process handles its messages between two charts.
 */
export async function renderMachines(
  entries: readonly MachineEntry[],
  options: RenderOptions = {},
): Promise<RenderedMachine[]> {
  const rendered: RenderedMachine[] = [];
  for (const entry of entries) {
    rendered.push(await renderMachine(entry, options));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return rendered;
}

/** `machine.toJSON()` made plain (it holds functions for inline actions; JSON drops them). */
export function definitionOf(machine: AnyStateMachine): unknown {
  return JSON.parse(JSON.stringify(machine.toJSON()));
}
