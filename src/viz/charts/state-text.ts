/** The text inside a state's box, and how much room it takes. */
import type { ChartState, ChartTransition } from './chart.js';
import { font, type LineRole, type NodeLine } from './diagram.js';
import { textWidth } from './text-width.js';

/** Room kept after a transition's label for its live count (` ×n`). */
export const countRoom = ' ×000000';

function line(text: string, role: LineRole, transition?: string): NodeLine {
  const size = role === 'name' ? font.name : font.detail;
  return { text, role, size, height: size + font.lineGap, ...(transition ? { transition } : {}) };
}

/** How wide a line is drawn, in pixels. */
export function lineWidth(entry: NodeLine): number {
  return textWidth(entry.text, { size: entry.size, bold: entry.role === 'name' });
}

/** The state's own text: name, invoked actors, entry and exit actions, targetless transitions, live counts. */
export function linesOf(
  state: ChartState,
  internal: readonly ChartTransition[],
  isRoot: boolean,
  live: boolean,
): NodeLine[] {
  const lines = [line(isRoot ? state.id : state.key, 'name')];
  for (const src of state.invokes) lines.push(line(`invoke ${src}`, 'invoke'));
  if (state.entry.length) lines.push(line(`entry / ${state.entry.join(', ')}`, 'action'));
  if (state.exit.length) lines.push(line(`exit / ${state.exit.join(', ')}`, 'action'));
  for (const transition of internal) {
    const actions = transition.actions.length ? ` / ${transition.actions.join(', ')}` : '';
    lines.push(line(`↻ ${transition.label}${actions}${live ? countRoom : ''}`, 'internal', transition.key));
  }
  if (live && !isRoot) lines.push(line('now 00000 · total 0000000', 'count'));
  return lines;
}
