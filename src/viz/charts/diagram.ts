/**
 * A chart as placed by the layout and read by the SVG writer: boxes for the states and markers, arrows with
 * their label boxes, in one coordinate space that starts near the origin.
 */
import type { Chart, ChartState, ChartTransition } from './chart.js';

/** A point of the drawing, in pixels. */
export interface Point {
  readonly x: number;
  readonly y: number;
}

/** A rectangle of the drawing: its top-left corner and its size, in pixels. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** What a line of a state's text says, which decides its size and style. */
export type LineRole = 'name' | 'invoke' | 'action' | 'internal' | 'count';

/** One line of text inside a state's box, with the room it takes. */
export interface NodeLine {
  readonly text: string;
  readonly role: LineRole;
  /** For an internal transition: its key, where the live page shows how often it was taken. */
  readonly transition?: string;
  readonly size: number;
  readonly height: number;
}

/** A state's box, at its place. */
export interface PlacedState extends Box {
  readonly state: ChartState;
  readonly depth: number;
  /** A region of a parallel state. */
  readonly region: boolean;
  /** The text at the top of the box (the name first). */
  readonly lines: readonly NodeLine[];
}

/** A marker's box: an initial state's dot, or the "any state" marker that transitions of a compound state leave from. */
export interface PlacedMarker extends Box {
  readonly kind: 'initial' | 'any';
  /** The state the marker belongs to. */
  readonly owner: string;
  readonly text: string;
}

/** One line of an arrow's label: one transition. */
export interface LabelLine {
  readonly text: string;
  /** The transition key (or the initial key), for live counts. */
  readonly key: string;
}

/** An arrow between two states (or from a marker), with the transitions it stands for and its label box. */
export interface PlacedEdge {
  readonly id: string;
  readonly source: string;
  readonly target: string;
  readonly kind: 'transition' | 'initial';
  readonly transitions: readonly ChartTransition[];
  readonly points: readonly Point[];
  readonly label: (Box & { readonly lines: readonly LabelLine[] }) | undefined;
}

/** A whole chart, placed: what the SVG writer draws. */
export interface Diagram {
  readonly chart: Chart;
  readonly width: number;
  readonly height: number;
  readonly states: readonly PlacedState[];
  readonly markers: readonly PlacedMarker[];
  readonly edges: readonly PlacedEdge[];
}

/** Font sizes and paddings (pixels) shared by the layout, which sizes boxes, and the SVG writer. */
export const font = {
  name: 13,
  detail: 11,
  label: 11,
  lineGap: 4,
  padX: 12,
  padY: 8,
} as const;

/** Moves everything so that the drawing starts at a small margin from the origin, and measures it. */
export function normalised(diagram: Diagram, margin = 2): Diagram {
  const boxes: Box[] = [
    ...diagram.states,
    ...diagram.markers,
    ...diagram.edges.flatMap((edge) => (edge.label ? [edge.label] : [])),
  ];
  const points = diagram.edges.flatMap((edge) => edge.points);
  const xs = [...boxes.flatMap((box) => [box.x, box.x + box.width]), ...points.map((point) => point.x)];
  const ys = [...boxes.flatMap((box) => [box.y, box.y + box.height]), ...points.map((point) => point.y)];
  const left = Math.min(...xs) - margin;
  const top = Math.min(...ys) - margin;
  const move = <T extends Point>(item: T): T => ({ ...item, x: item.x - left, y: item.y - top });
  return {
    chart: diagram.chart,
    width: Math.ceil(Math.max(...xs) - left + margin),
    height: Math.ceil(Math.max(...ys) - top + margin),
    states: diagram.states.map(move),
    markers: diagram.markers.map(move),
    edges: diagram.edges.map((edge) => ({
      ...edge,
      points: edge.points.map(move),
      label: edge.label && move(edge.label),
    })),
  };
}
