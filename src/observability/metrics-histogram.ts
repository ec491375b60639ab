/**
 * Prometheus series fed on every state transition, without cost per observation beyond a few additions.
 * prom-client's labelled `observe` validates and hashes the labels into a new string on every call (about
 * 0.4 µs and several allocations); here each label set is a `HistogramCell`, made once and kept by the
 * caller, and the text is produced only when scraped. Both families register in a prom-client `Registry`
 * and render exactly as prom-client's own histogram and counter would.
 */
import type { Metric, Registry } from 'prom-client';

export type Labels = Readonly<Record<string, string>>;

/** One label set's observations. `observe` allocates nothing. */
export class HistogramCell {
  readonly labels: Labels;
  readonly bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(labels: Labels, bounds: readonly number[]) {
    this.labels = labels;
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let index = 0;
    while (index < bounds.length && value > bounds[index]!) index += 1;
    this.counts[index] = this.counts[index]! + 1;
    this.sum += value;
    this.count += 1;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

/** A sample as prom-client's registry formats it: `labels` first, then the label set it shares. */
interface Sample {
  /** Absent for a sample named as the metric. */
  readonly metricName?: string;
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly sharedLabels: Labels;
}

/** What a prom-client `Registry` reads from a metric (`getForPromString` for text, `get` for JSON). */
abstract class PulledMetric {
  readonly name: string;
  readonly help: string;
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum';

  constructor(registry: Registry, name: string, help: string) {
    this.name = name;
    this.help = help;
    registry.registerMetric(this as unknown as Metric);
  }

  protected abstract samples(): Sample[];

  async getForPromString() {
    return { name: this.name, help: this.help, type: this.type, values: this.samples(), aggregator: this.aggregator };
  }

  async get() {
    const values = this.samples().map(({ metricName, value, labels, sharedLabels }) => ({
      ...(metricName === undefined ? {} : { metricName }),
      value,
      labels: { ...labels, ...sharedLabels },
    }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  abstract reset(): void;
}

export interface CellHistogramOptions<Label extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly Label[];
  /** Upper bounds, ascending (+Inf is implied). */
  readonly buckets: readonly number[];
}

export class CellHistogram<Label extends string> extends PulledMetric {
  readonly type = 'histogram';
  readonly #labelNames: readonly Label[];
  readonly #bounds: readonly number[];
  readonly #cells = new Map<string, HistogramCell>();

  constructor(registry: Registry, { name, help, labelNames, buckets }: CellHistogramOptions<Label>) {
    super(registry, name, help);
    this.#labelNames = labelNames;
    this.#bounds = [...buckets];
  }

  /** The cell of one label set, made on first use. Look it up once and keep it: this builds a key. */
  cell(labels: Readonly<Record<Label, string>>): HistogramCell {
    const key = this.#labelNames.map((name) => labels[name]).join('\u0000');
    let cell = this.#cells.get(key);
    if (!cell) {
      const own: Record<string, string> = {};
      for (const name of this.#labelNames) own[name] = labels[name];
      cell = new HistogramCell(own, this.#bounds);
      this.#cells.set(key, cell);
    }
    return cell;
  }

  cells(): IterableIterator<HistogramCell> {
    return this.#cells.values();
  }

  protected samples(): Sample[] {
    const samples: Sample[] = [];
    const bucket = `${this.name}_bucket`;
    for (const cell of this.#cells.values()) {
      let cumulative = 0;
      for (let index = 0; index < this.#bounds.length; index += 1) {
        cumulative += cell.counts[index]!;
        samples.push({
          metricName: bucket,
          value: cumulative,
          labels: { le: this.#bounds[index]! },
          sharedLabels: cell.labels,
        });
      }
      samples.push(
        { metricName: bucket, value: cell.count, labels: { le: '+Inf' }, sharedLabels: cell.labels },
        { metricName: `${this.name}_sum`, value: cell.sum, labels: {}, sharedLabels: cell.labels },
        { metricName: `${this.name}_count`, value: cell.count, labels: {}, sharedLabels: cell.labels },
      );
    }
    return samples;
  }

  reset(): void {
    for (const cell of this.#cells.values()) cell.reset();
  }
}

/** A counter whose values are the observation counts of a histogram's cells (deliveries, from their durations). */
export class CellCountCounter extends PulledMetric {
  readonly type = 'counter';
  readonly #source: { cells(): IterableIterator<HistogramCell> };

  constructor(registry: Registry, name: string, help: string, source: { cells(): IterableIterator<HistogramCell> }) {
    super(registry, name, help);
    this.#source = source;
  }

  protected samples(): Sample[] {
    return [...this.#source.cells()].map((cell) => ({ value: cell.count, labels: {}, sharedLabels: cell.labels }));
  }

  /** Its values belong to the histogram: resetting that resets this. */
  reset(): void {}
}
