/**
 * Draws a laid-out chart as a standalone SVG document (styles inside, no external fonts or scripts), usable
 * as a picture in the docs and inline in the live page. Every state carries `data-state="<path>"`, every
 * transition label line `data-transition="<key>"`, and the live page writes its counts into the elements
 * marked `data-count-state` and `data-count-transition`.
 */
import { initialKey, type ChartTransition, type TransitionKind } from './chart.js';
import {
  font,
  type Diagram,
  type NodeLine,
  type PlacedEdge,
  type PlacedMarker,
  type PlacedState,
  type Point,
} from './diagram.js';

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

const n = (value: number) => String(Math.round(value * 10) / 10);

const fontFamily = "Helvetica, Arial, 'Liberation Sans', sans-serif";

function styles(id: string): string {
  const scope = `svg[data-machine="${id}"]`;
  return `
${scope} text { font-family: ${fontFamily}; }
${scope} .state > rect { fill: #ffffff; stroke: #475569; stroke-width: 1.2; }
${scope} .state-compound > rect, ${scope} .state-parallel > rect { fill: #f8fafc; }
${scope} .state-root > rect { fill: #f1f5f9; stroke: #94a3b8; }
${scope} .state-region > rect { stroke-dasharray: 6 4; }
${scope} .state-final > rect.final-inner { fill: none; }
${scope} .state-name { font-size: ${font.name}px; font-weight: bold; fill: #0f172a; }
${scope} .state-invoke, ${scope} .state-action, ${scope} .state-internal { font-size: ${font.detail}px; fill: #475569; }
${scope} .state-invoke { font-style: italic; }
${scope} .state-count { font-size: ${font.detail}px; fill: #92400e; }
${scope} .edge path { fill: none; stroke: #64748b; stroke-width: 1.3; }
${scope} .edge-error path { stroke: #b91c1c; }
${scope} .edge-after path { stroke-dasharray: 6 3; }
${scope} .edge-always path { stroke-dasharray: 2 3; }
${scope} .edge-label rect { fill: #ffffff; fill-opacity: 0.88; }
${scope} .edge-label text { font-size: ${font.label}px; fill: #334155; }
${scope} .edge-label text.kind-error { fill: #b91c1c; }
${scope} .edge-label text.kind-after { fill: #7c3aed; }
${scope} .transition-count { fill: #92400e; font-weight: bold; }
${scope} .marker-initial { fill: #0f172a; }
${scope} .marker-any rect { fill: #ffffff; stroke: #94a3b8; stroke-dasharray: 3 2; }
${scope} .marker-any text { font-size: ${font.detail}px; fill: #64748b; font-style: italic; }
`;
}

function roundedPath(points: readonly Point[], radius = 6): string {
  if (points.length === 0) return '';
  const [first, ...rest] = points;
  let d = `M${n(first!.x)},${n(first!.y)}`;
  for (let i = 0; i < rest.length; i++) {
    const point = rest[i]!;
    const previous = points[i]!;
    const next = rest[i + 1];
    if (!next) {
      d += ` L${n(point.x)},${n(point.y)}`;
      break;
    }
    const toPrevious = Math.hypot(previous.x - point.x, previous.y - point.y);
    const toNext = Math.hypot(next.x - point.x, next.y - point.y);
    const r = Math.min(radius, toPrevious / 2, toNext / 2);
    if (r <= 0.5) {
      d += ` L${n(point.x)},${n(point.y)}`;
      continue;
    }
    const inX = point.x + ((previous.x - point.x) / toPrevious) * r;
    const inY = point.y + ((previous.y - point.y) / toPrevious) * r;
    const outX = point.x + ((next.x - point.x) / toNext) * r;
    const outY = point.y + ((next.y - point.y) / toNext) * r;
    d += ` L${n(inX)},${n(inY)} Q${n(point.x)},${n(point.y)} ${n(outX)},${n(outY)}`;
  }
  return d;
}

function edgeKind(transitions: readonly ChartTransition[]): TransitionKind | 'initial' | 'mixed' {
  if (transitions.length === 0) return 'initial';
  const kinds = new Set(transitions.map((transition) => transition.kind));
  return kinds.size === 1 ? transitions[0]!.kind : 'mixed';
}

function stateText(state: PlacedState, live: boolean): string {
  const isAtomic = state.state.children.length === 0;
  const anchor = isAtomic ? 'middle' : 'start';
  const x = isAtomic ? state.x + state.width / 2 : state.x + font.padX;
  let cursor = state.y + font.padY;
  return state.lines
    .map((line: NodeLine) => {
      const baseline = cursor + line.size * 0.9;
      cursor += line.height;
      const common = `x="${n(x)}" y="${n(baseline)}" text-anchor="${anchor}" class="state-${line.role}"`;
      if (line.role === 'count') {
        return `<text ${common} data-count-state="${escapeXml(state.state.path)}"></text>`;
      }
      if (line.role === 'internal' && line.transition) {
        // The room reserved for the count is not part of the text.
        const text = line.text.replace(/ ×0+$/, '');
        const count = live
          ? `<tspan class="transition-count" data-count-transition="${escapeXml(line.transition)}"></tspan>`
          : '';
        return `<text ${common} data-transition="${escapeXml(line.transition)}">${escapeXml(text)}${count}</text>`;
      }
      return `<text ${common}>${escapeXml(line.text)}</text>`;
    })
    .join('');
}

function drawState(state: PlacedState, live: boolean): string {
  const kind = state.depth === 0 ? 'root' : state.state.kind;
  const rx = state.state.kind === 'history' ? state.width / 2 : 8;
  const inner =
    state.state.kind === 'final'
      ? `<rect class="final-inner" x="${n(state.x + 3)}" y="${n(state.y + 3)}" width="${n(state.width - 6)}" height="${n(state.height - 6)}" rx="${rx - 2}"/>`
      : '';
  const text =
    state.state.kind === 'history'
      ? `<text x="${n(state.x + state.width / 2)}" y="${n(state.y + state.height / 2 + 4)}" text-anchor="middle" class="state-name">H</text>`
      : stateText(state, live);
  const description = state.state.description ? `<title>${escapeXml(state.state.description)}</title>` : '';
  return (
    `<g class="state state-${kind}${state.region ? ' state-region' : ''}" data-state="${escapeXml(state.state.path)}" data-state-id="${escapeXml(state.state.id)}">` +
    `${description}<rect x="${n(state.x)}" y="${n(state.y)}" width="${n(state.width)}" height="${n(state.height)}" rx="${rx}"/>` +
    `${inner}${text}</g>`
  );
}

function drawMarker(marker: PlacedMarker): string {
  if (marker.kind === 'initial') {
    const r = marker.width / 2;
    return `<circle class="marker-initial" data-initial-of="${escapeXml(marker.owner)}" cx="${n(marker.x + r)}" cy="${n(marker.y + r)}" r="${n(r)}"/>`;
  }
  return (
    `<g class="marker-any" data-any-of="${escapeXml(marker.owner)}">` +
    `<rect x="${n(marker.x)}" y="${n(marker.y)}" width="${n(marker.width)}" height="${n(marker.height)}" rx="11"/>` +
    `<text x="${n(marker.x + marker.width / 2)}" y="${n(marker.y + marker.height / 2 + 4)}" text-anchor="middle">${escapeXml(marker.text)}</text></g>`
  );
}

function drawEdge(edge: PlacedEdge, id: string, live: boolean): string {
  const kind = edgeKind(edge.transitions);
  const arrow = kind === 'error' ? `arrow-error-${id}` : `arrow-${id}`;
  const keys =
    edge.kind === 'initial' ? [initialKey(edge.source)] : edge.transitions.map((transition) => transition.key);
  const path = `<path d="${roundedPath(edge.points)}" marker-end="url(#${arrow})"/>`;
  let label = '';
  if (edge.label) {
    const { x, y, width, height, lines } = edge.label;
    label =
      `<g class="edge-label"><rect x="${n(x)}" y="${n(y)}" width="${n(width)}" height="${n(height)}" rx="3"/>` +
      lines
        .map((line, index) => {
          const transition = edge.transitions[index]!;
          const count = live
            ? `<tspan class="transition-count" data-count-transition="${escapeXml(line.key)}"></tspan>`
            : '';
          return (
            `<text x="${n(x + 4)}" y="${n(y + 2 + (index + 1) * (font.label + 4) - 4)}" class="kind-${transition.kind}" data-transition="${escapeXml(line.key)}">` +
            `${escapeXml(line.text)}${count}</text>`
          );
        })
        .join('') +
      '</g>';
  }
  return (
    `<g class="edge edge-${kind}" data-edge="${escapeXml(edge.id)}" data-from="${escapeXml(edge.source)}" data-to="${escapeXml(edge.target)}" data-transitions="${escapeXml(keys.join(' '))}">` +
    `${path}${label}</g>`
  );
}

export interface SvgOptions {
  /** Leaves empty elements for live counts (the served page fills them). */
  readonly live?: boolean;
  readonly title?: string;
}

export function renderSvg(diagram: Diagram, { live = false, title }: SvgOptions = {}): string {
  const id = diagram.chart.id;
  const marker = (markerId: string, color: string) =>
    `<marker id="${markerId}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse">` +
    `<path d="M0,0 L10,5 L0,10 z" fill="${color}"/></marker>`;
  const states = [...diagram.states].sort((a, b) => a.depth - b.depth);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="statechart" data-machine="${escapeXml(id)}" ` +
    `viewBox="0 0 ${diagram.width} ${diagram.height}" width="${diagram.width}" height="${diagram.height}" role="img">` +
    `<title>${escapeXml(title ?? `${id} state machine`)}</title>` +
    `<style>${styles(id)}</style>` +
    `<defs>${marker(`arrow-${id}`, '#64748b')}${marker(`arrow-error-${id}`, '#b91c1c')}</defs>` +
    `<g class="states">${states.map((state) => drawState(state, live)).join('')}</g>` +
    `<g class="markers">${diagram.markers.map(drawMarker).join('')}</g>` +
    `<g class="edges">${diagram.edges.map((edge) => drawEdge(edge, id, live)).join('')}</g>` +
    `</svg>\n`
  );
}
