/**
 * Places a chart's states and arrows with ELK's layered algorithm (elkjs, which runs in-process: no network,
 * no worker). States become boxes sized for their text, compound states contain their children, a filled
 * dot marks each initial state, and a transition defined on a compound state towards its own descendants
 * (or on the machine itself, such as `STOP` from any state) leaves from an "any state" marker inside it.
 * Transitions between the same two states share one arrow, each on its own label line.
 */
import type { ELK, ElkExtendedEdge, ElkLabel, ElkNode } from 'elkjs/lib/elk-api.js';
import { type Chart, type ChartState, type ChartTransition } from './chart.js';
import {
  font,
  normalised,
  type Diagram,
  type NodeLine,
  type PlacedEdge,
  type PlacedMarker,
  type PlacedState,
} from './diagram.js';
import { countRoom, lineWidth, linesOf } from './state-text.js';
import { textWidth } from './text-width.js';

/** ELK is loaded on first use, so that a process that never draws a chart does not pay for loading it. */
let elk: Promise<ELK> | undefined;
const loadElk = () =>
  (elk ??= import('elkjs/lib/elk.bundled.js').then((module) => {
    const ElkConstructor = module.default.default;
    return new ElkConstructor();
  }));

export interface LayoutOptions {
  readonly direction?: 'DOWN' | 'RIGHT';
  /** Reserve room for live counts (on the served page), or not (for the exported pictures). */
  readonly live?: boolean;
}

const labelLineHeight = font.label + 4;
const markerSize = { initial: 12, anyHeight: 22 };

const nodeId = (path: string) => `s:${path}`;
const initialId = (path: string) => `i:${path}`;
const anyId = (path: string) => `a:${path}`;

const isDescendant = (path: string, ancestor: string) =>
  ancestor === '' ? path !== '' : path.startsWith(`${ancestor}.`);

function parentPath(path: string): string {
  const index = path.lastIndexOf('.');
  return index < 0 ? '' : path.slice(0, index);
}

interface EdgeSpec {
  id: string;
  sourceElk: string;
  targetElk: string;
  source: string;
  target: string;
  kind: 'transition' | 'initial';
  transitions: ChartTransition[];
  container: string;
}

function commonContainer(a: string, b: string): string {
  // The container of an edge is the deepest state holding both ends.
  const aParts = a === '' ? [] : a.split('.');
  const bParts = b === '' ? [] : b.split('.');
  const common: string[] = [];
  for (let i = 0; i < Math.min(aParts.length, bParts.length) && aParts[i] === bParts[i]; i++) common.push(aParts[i]!);
  return common.join('.');
}

/** Layered-algorithm settings, given to the graph and to every compound state (ELK reads some per container). */
const layeredOptions = {
  // Depth first from the initial state: a retry loop points back up instead of pulling later states above.
  'elk.layered.cycleBreaking.strategy': 'DEPTH_FIRST',
} as const;

/** A chart's transitions sorted out for the layout. */
interface SortedTransitions {
  /** Targetless transitions, written inside their state's box, by state. */
  readonly internalBySource: ReadonlyMap<string, ChartTransition[]>;
  /** One arrow per pair of ends, carrying every transition between them. */
  readonly edgeSpecs: ReadonlyMap<string, EdgeSpec>;
  /** The states whose transitions towards their own descendants leave from an "any state" marker. */
  readonly needsAnyMarker: ReadonlySet<string>;
}

function sortTransitions(chart: Chart): SortedTransitions {
  const internalBySource = new Map<string, ChartTransition[]>();
  const edgeSpecs = new Map<string, EdgeSpec>();
  const needsAnyMarker = new Set<string>();
  for (const transition of chart.transitions) {
    if (transition.targets.length === 0) {
      internalBySource.set(transition.source, [...(internalBySource.get(transition.source) ?? []), transition]);
      continue;
    }
    for (const target of transition.targets) {
      const fromMarker = transition.source === '' || isDescendant(target, transition.source);
      if (fromMarker) needsAnyMarker.add(transition.source);
      const sourceElk = fromMarker ? anyId(transition.source) : nodeId(transition.source);
      const id = `${sourceElk}->${target}`;
      const existing = edgeSpecs.get(id);
      if (existing) existing.transitions.push(transition);
      else {
        edgeSpecs.set(id, {
          id,
          sourceElk,
          targetElk: nodeId(target),
          source: transition.source,
          target,
          kind: 'transition',
          transitions: [transition],
          container: fromMarker
            ? transition.source
            : commonContainer(parentPath(transition.source), parentPath(target)),
        });
      }
    }
  }
  return { internalBySource, edgeSpecs, needsAnyMarker };
}

/** What the ELK graph was made from, by id: read back when ELK's result becomes a diagram. */
interface GraphIndex {
  readonly stateByPath: Map<string, ChartState>;
  readonly depthByPath: Map<string, number>;
  readonly linesByPath: Map<string, NodeLine[]>;
  readonly regions: Set<string>;
  readonly elkEdges: Map<string, EdgeSpec>;
}

/** The graph's own settings: the layered algorithm, its spacings, and coordinates relative to the root. */
function graphOptions(direction: 'DOWN' | 'RIGHT'): Record<string, string> {
  return {
    'elk.algorithm': 'layered',
    'elk.direction': direction,
    'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
    'elk.edgeRouting': 'ORTHOGONAL',
    ...layeredOptions,
    // Only here: set on a compound state too, it crashes ELK 0.12's crossing minimisation.
    'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
    'elk.layered.spacing.nodeNodeBetweenLayers': '36',
    'elk.spacing.nodeNode': '28',
    'elk.spacing.edgeNode': '16',
    'elk.spacing.edgeEdge': '10',
    'elk.spacing.edgeLabel': '4',
    'elk.layered.spacing.edgeNodeBetweenLayers': '16',
    'elk.layered.spacing.edgeEdgeBetweenLayers': '10',
    'elk.edgeLabels.placement': 'CENTER',
    'elk.padding': '[top=8,left=8,bottom=8,right=8]',
    'elk.json.edgeCoords': 'ROOT',
    'elk.json.shapeCoords': 'ROOT',
  };
}

/** The ELK graph of a chart: a node per state (compound states holding their children) and its markers. */
function graphOf(
  chart: Chart,
  { internalBySource, edgeSpecs, needsAnyMarker }: SortedTransitions,
  { direction, live }: Required<LayoutOptions>,
): { graph: ElkNode; index: GraphIndex } {
  const index: GraphIndex = {
    stateByPath: new Map(),
    depthByPath: new Map(),
    linesByPath: new Map(),
    regions: new Set(),
    elkEdges: new Map(),
  };
  const edgesByContainer = new Map<string, EdgeSpec[]>();
  const addEdge = (spec: EdgeSpec) =>
    edgesByContainer.set(spec.container, [...(edgesByContainer.get(spec.container) ?? []), spec]);

  function toElk(state: ChartState, depth: number): ElkNode {
    const isRoot = depth === 0;
    index.stateByPath.set(state.path, state);
    index.depthByPath.set(state.path, depth);
    const lines = linesOf(state, internalBySource.get(state.path) ?? [], isRoot, live);
    index.linesByPath.set(state.path, lines);
    const textHeight = lines.reduce((sum, entry) => sum + entry.height, 0);
    const width = Math.ceil(Math.max(...lines.map(lineWidth)) + 2 * font.padX);
    if (state.kind === 'history') {
      return { id: nodeId(state.path), width: 28, height: 28 };
    }
    if (state.children.length === 0) {
      return { id: nodeId(state.path), width: Math.max(width, 96), height: Math.ceil(textHeight + 2 * font.padY) };
    }
    const children: ElkNode[] = [];
    if (state.initial !== undefined) {
      children.push({ id: initialId(state.path), width: markerSize.initial, height: markerSize.initial });
      addEdge({
        id: `${initialId(state.path)}->${state.initial}`,
        sourceElk: initialId(state.path),
        targetElk: nodeId(state.initial),
        source: state.path,
        target: state.initial,
        kind: 'initial',
        transitions: [],
        container: state.path,
      });
    }
    if (needsAnyMarker.has(state.path)) {
      const text = isRoot ? 'any state' : `any state of ${state.key}`;
      children.push({
        id: anyId(state.path),
        width: Math.ceil(textWidth(text, { size: font.detail }) + 2 * font.padX),
        height: markerSize.anyHeight,
      });
    }
    if (state.kind === 'parallel') state.children.forEach((child) => index.regions.add(child.path));
    children.push(...state.children.map((child) => toElk(child, depth + 1)));
    return {
      id: nodeId(state.path),
      children,
      layoutOptions: {
        'elk.padding': `[top=${Math.ceil(textHeight + 2 * font.padY)},left=16,bottom=16,right=16]`,
        'elk.nodeSize.constraints': 'MINIMUM_SIZE',
        'elk.nodeSize.minimum': `(${width}, ${Math.ceil(textHeight + 2 * font.padY)})`,
        ...layeredOptions,
        ...(state.kind === 'parallel' ? { 'elk.direction': 'RIGHT' } : {}),
      },
    };
  }

  const rootNode = toElk(chart.root, 0);
  for (const spec of edgeSpecs.values()) addEdge(spec);
  attachEdges(rootNode, edgesByContainer, index.elkEdges, live);
  return { graph: { id: 'graph', layoutOptions: graphOptions(direction), children: [rootNode] }, index };
}

/** Attaches each edge to its container node, with one label line per transition. */
function attachEdges(
  node: ElkNode,
  edgesByContainer: ReadonlyMap<string, readonly EdgeSpec[]>,
  elkEdges: Map<string, EdgeSpec>,
  live: boolean,
): void {
  const path = node.id.slice(2);
  if (node.id.startsWith('s:')) {
    node.edges = (edgesByContainer.get(path) ?? []).map((spec): ElkExtendedEdge => {
      elkEdges.set(spec.id, spec);
      const labels: ElkLabel[] = [];
      if (spec.transitions.length > 0) {
        const texts = spec.transitions.map((transition) => transition.label + (live ? countRoom : ''));
        labels.push({
          id: `${spec.id}:label`,
          text: texts.join('\n'),
          width: Math.ceil(Math.max(...texts.map((text) => textWidth(text, { size: font.label }))) + 8),
          height: texts.length * labelLineHeight + 4,
        });
      }
      return { id: spec.id, sources: [spec.sourceElk], targets: [spec.targetElk], labels };
    });
  }
  node.children?.forEach((child) => attachEdges(child, edgesByContainer, elkEdges, live));
}

/** An arrow as ELK routed it: its points, and its label's box with a line per transition. */
function placedEdge(edge: ElkExtendedEdge, spec: EdgeSpec): PlacedEdge {
  const points = (edge.sections ?? []).flatMap((section) => [
    section.startPoint,
    ...(section.bendPoints ?? []),
    section.endPoint,
  ]);
  const label = edge.labels?.[0];
  return {
    id: spec.id,
    source: spec.source,
    target: spec.target,
    kind: spec.kind,
    transitions: spec.transitions,
    points,
    label: label
      ? {
          x: label.x ?? 0,
          y: label.y ?? 0,
          width: label.width ?? 0,
          height: label.height ?? 0,
          lines: spec.transitions.map((transition) => ({ text: transition.label, key: transition.key })),
        }
      : undefined,
  };
}

/** ELK's result read back: the states, markers and arrows at the places it gave them. */
function placed(result: ElkNode, index: GraphIndex): Pick<Diagram, 'states' | 'markers' | 'edges'> {
  const states: PlacedState[] = [];
  const markers: PlacedMarker[] = [];
  const edges: PlacedEdge[] = [];
  const visit = (node: ElkNode) => {
    const box = { x: node.x ?? 0, y: node.y ?? 0, width: node.width ?? 0, height: node.height ?? 0 };
    const path = node.id.slice(2);
    if (node.id.startsWith('s:')) {
      states.push({
        ...box,
        state: index.stateByPath.get(path)!,
        depth: index.depthByPath.get(path)!,
        region: index.regions.has(path),
        lines: index.linesByPath.get(path)!,
      });
    } else if (node.id.startsWith('i:')) {
      markers.push({ ...box, kind: 'initial', owner: path, text: '' });
    } else if (node.id.startsWith('a:')) {
      markers.push({
        ...box,
        kind: 'any',
        owner: path,
        text: path === '' ? 'any state' : `any state of ${index.stateByPath.get(path)?.key ?? path}`,
      });
    }
    for (const edge of (node.edges ?? []) as ElkExtendedEdge[])
      edges.push(placedEdge(edge, index.elkEdges.get(edge.id)!));
    node.children?.forEach(visit);
  };
  result.children?.forEach(visit);
  return { states, markers, edges };
}

/** Lays a chart out: every state, marker and arrow placed, the drawing starting near the origin. */
export async function layoutChart(
  chart: Chart,
  { direction = 'DOWN', live = false }: LayoutOptions = {},
): Promise<Diagram> {
  const { graph, index } = graphOf(chart, sortTransitions(chart), { direction, live });
  const result = await layoutWithFallback(await loadElk(), graph);
  return normalised({ chart, width: 0, height: 0, ...placed(result, index) });
}

async function layoutWithFallback(elk: ELK, graph: ElkNode): Promise<ElkNode> {
  try {
    return await elk.layout(structuredClone(graph));
  } catch {
    const untuned = (node: ElkNode): ElkNode => ({
      ...node,
      layoutOptions: Object.fromEntries(
        Object.entries(node.layoutOptions ?? {}).filter(
          ([key]) => !key.startsWith('elk.layered.considerModelOrder') && !key.startsWith('elk.layered.cycleBreaking'),
        ),
      ),
      ...(node.children ? { children: node.children.map(untuned) } : {}),
    });
    return elk.layout(untuned(structuredClone(graph)));
  }
}
