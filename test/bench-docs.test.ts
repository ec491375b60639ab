// The benchmark's tables in docs/benchmarks.md are exactly what the committed results JSON renders
// (bench/results/latest.json, and instances.json, soak.json, profile.json, allocations.json, baseline.json and
// sweep-*.json where present), and so is the sweep's chart: `npm run bench:docs` wrote them, and nobody edited a
// figure by hand since.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { renderedFiles, renderedSections, replaceSections, sectionOf } from '../bench/report/docs-sections.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const page = await readFile(path.join(root, 'docs/benchmarks.md'), 'utf8');
const sections = await renderedSections(path.join(root, 'bench/results'));
const files = await renderedFiles(path.join(root, 'bench/results'));

for (const [name, rendered] of Object.entries(sections)) {
  test(`docs/benchmarks.md shows the ${name} tables that bench/results render`, (t) => {
    t.is(sectionOf(page, name), rendered, 'run npm run bench:docs');
  });
}

for (const [file, rendered] of Object.entries(files)) {
  test(`${file} is what bench/results render`, async (t) => {
    t.is(await readFile(path.join(root, file), 'utf8'), rendered, 'run npm run bench:docs');
  });
}

test('the latest tables name the limit, both references, the accounting and the targets', (t) => {
  const latest = sections.latest ?? '';
  t.regex(latest, /\| ref-limit \|/);
  t.regex(latest, /\| ref-batched \|/);
  t.regex(latest, /\| ref-unbatched \|/);
  t.regex(latest, /\| throughput \/ ref-limit \|/);
  t.regex(latest, /\| the pipeline's process \(node\) \|/);
  t.regex(latest, /\| RabbitMQ \(beam\.smp, shared\) \|/);
  t.regex(latest, /\| AMQP acks \(client acks, nacks\) \|/);
  t.regex(latest, /target \(issue 26\)/);
});

test('replacing the sections of an up-to-date page changes nothing, and a stale figure is replaced', (t) => {
  t.is(replaceSections(page, sections), page);
  const stale = page.replace('<!-- bench:latest:start -->\n', '<!-- bench:latest:start -->\n| 999 |\n');
  t.not(stale, page);
  t.is(replaceSections(stale, sections), page);
});

test('the baseline tables show the baseline commit and each variant against the baseline of its settings', (t) => {
  const baseline = sections.baseline ?? '';
  t.regex(baseline, /Baseline: commit `[0-9a-f]{7,}`/);
  t.regex(baseline, /\| ackstate \/ baseline \| [\d.]+× \| [\d.]+× \| [\d.]+× \|/);
  t.regex(baseline, /\| ackstate-batch1 \/ baseline-batch1 \| [\d.]+× \| [\d.]+× \| [\d.]+× \|/);
});
