/**
 * The chart of ackstate's sweep (docs/benchmarks-sweep.svg), drawn from bench/results/sweep-ackstate.json only,
 * like the tables: throughput and p50 against the batch size, a line per prefetch and batches at once, the
 * sweep's reference (`ref-limit`) as a dashed line, ackstate's defaults ringed.
 */
import type { SweepReport } from '../modes/sweep.js';
import { ackstateDefaults } from '../modes/variants.js';

const palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];
const width = 860;
const height = 400;
const panel = { top: 66, bottom: 80, left: 60, width: 330, gap: 80 };

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fixed = (value: number) => Math.round(value * 10) / 10;

/** Round tick steps (1, 2, 5 × 10^n) giving about five ticks up to `max`. */
function ticks(max: number): number[] {
  const raw = max / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((each) => each * power).find((each) => each >= raw)!;
  return Array.from({ length: Math.floor(max / step) + 1 }, (_, index) => index * step);
}

export function renderSweepChart(report: SweepReport): string {
  const batches = [...new Set(report.points.map((point) => point.settings.MAX_BATCH))].sort((a, b) => a - b);
  const series = [
    ...new Set(report.points.map((point) => `${point.settings.PREFETCH}/${point.settings.BATCH_CONCURRENCY}`)),
  ];
  const panels = [
    { title: 'throughput, users/s (higher is better)', pick: (m: SweepReport['referenceMedians']) => m.usersPerSecond },
    { title: 'p50 end to end, ms (lower is better)', pick: (m: SweepReport['referenceMedians']) => m.p50Ms },
  ];
  const plotHeight = height - panel.top - panel.bottom;
  const parts: string[] = [];
  panels.forEach((each, index) => {
    const left = panel.left + index * (panel.width + panel.gap);
    const values = [...report.points.map((point) => each.pick(point.medians)), each.pick(report.referenceMedians)];
    const yTicks = ticks(Math.max(...values.filter(Number.isFinite)) * 1.1);
    const top = yTicks.at(-1)! || 1;
    const x = (batch: number) => left + ((batches.indexOf(batch) + 0.5) / batches.length) * panel.width;
    const y = (value: number) => panel.top + plotHeight - (value / top) * plotHeight;
    parts.push(`<text x="${left}" y="${panel.top - 14}" class="title">${escape(each.title)}</text>`);
    for (const tick of yTicks) {
      parts.push(
        `<line x1="${left}" x2="${left + panel.width}" y1="${fixed(y(tick))}" y2="${fixed(y(tick))}" class="grid"/>`,
        `<text x="${left - 6}" y="${fixed(y(tick)) + 4}" class="tick" text-anchor="end">${tick}</text>`,
      );
    }
    for (const batch of batches)
      parts.push(
        `<text x="${fixed(x(batch))}" y="${panel.top + plotHeight + 18}" class="tick" text-anchor="middle">${batch}</text>`,
      );
    parts.push(
      `<text x="${left + panel.width / 2}" y="${panel.top + plotHeight + 36}" class="axis" text-anchor="middle">MAX_BATCH</text>`,
    );
    const limit = each.pick(report.referenceMedians);
    parts.push(
      `<line x1="${left}" x2="${left + panel.width}" y1="${fixed(y(limit))}" y2="${fixed(y(limit))}" class="limit"/>`,
      `<text x="${left + panel.width - 4}" y="${fixed(y(limit)) - 5}" class="limit-label" text-anchor="end">${escape(report.reference)} ${limit}</text>`,
    );
    series.forEach((name, seriesIndex) => {
      const colour = palette[seriesIndex % palette.length]!;
      const points = report.points
        .filter((point) => `${point.settings.PREFETCH}/${point.settings.BATCH_CONCURRENCY}` === name)
        .sort((a, b) => a.settings.MAX_BATCH - b.settings.MAX_BATCH);
      const coordinates = points.map(
        (point) => `${fixed(x(point.settings.MAX_BATCH))},${fixed(y(each.pick(point.medians)))}`,
      );
      parts.push(`<polyline points="${coordinates.join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`);
      for (const point of points) {
        const cx = fixed(x(point.settings.MAX_BATCH));
        const cy = fixed(y(each.pick(point.medians)));
        parts.push(`<circle cx="${cx}" cy="${cy}" r="3.5" fill="${colour}"/>`);
        const defaults =
          point.settings.PREFETCH === ackstateDefaults.PREFETCH &&
          point.settings.MAX_BATCH === ackstateDefaults.MAX_BATCH &&
          point.settings.BATCH_CONCURRENCY === ackstateDefaults.BATCH_CONCURRENCY;
        if (defaults) parts.push(`<circle cx="${cx}" cy="${cy}" r="8" fill="none" stroke="#000" stroke-width="1.5"/>`);
      }
    });
  });
  series.forEach((name, index) => {
    const [prefetch, concurrency] = name.split('/');
    const x = panel.left + (index % 2) * (panel.width + panel.gap);
    const legendY = height - 30 + Math.floor(index / 2) * 18;
    parts.push(
      `<line x1="${x}" x2="${x + 18}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${palette[index % palette.length]!}" stroke-width="2"/>`,
      `<text x="${x + 22}" y="${legendY}" class="tick">PREFETCH=${prefetch} BATCH_CONCURRENCY=${concurrency}</text>`,
    );
  });
  const caption = [
    `ackstate's sweep: medians of ${String(report.options.rounds)} rounds of ${String(report.options.users)} users, ` +
      `commit ${report.machine.commit ?? '?'}, closed loop (wrk, ${String(report.options.connections)} connections)`,
    `ringed: ackstate's defaults (PREFETCH=${ackstateDefaults.PREFETCH} MAX_BATCH=${ackstateDefaults.MAX_BATCH} ` +
      `BATCH_CONCURRENCY=${ackstateDefaults.BATCH_CONCURRENCY}); dashed: ${report.reference}, the median of its runs in the sweep`,
  ];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height + 20}" viewBox="0 0 ${width} ${height + 20}" font-family="sans-serif">`,
    '<style>.title{font-size:13px;font-weight:bold}.tick{font-size:11px;fill:#333}.axis{font-size:12px}.grid{stroke:#ddd}.limit{stroke:#000;stroke-dasharray:6 4;stroke-width:1.5}.limit-label{font-size:11px}.caption{font-size:11px;fill:#555}</style>',
    `<rect width="${width}" height="${height + 20}" fill="#fff"/>`,
    ...caption.map(
      (line, index) => `<text x="${panel.left}" y="${16 + index * 15}" class="caption">${escape(line)}</text>`,
    ),
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
