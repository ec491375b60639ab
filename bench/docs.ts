/**
 * `npm run bench:docs`: renders bench/results/latest.json (and instances.json, soak.json, profile.json,
 * baseline.json where present) into docs/benchmarks.md, between the marker comments `<!-- bench:NAME:start -->` and
 * `<!-- bench:NAME:end -->`; each sweep-NAME.json into its section `sweep-NAME`, and sweep-ackstate.json also into the
 * chart docs/benchmarks-sweep.svg. `--check` only reports whether the page and the chart are up to date (exit 1 if not).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderedFiles, renderedSections, replaceSections } from './report/docs-sections.js';
import { repoRoot } from './harness/paths.js';

const page = path.join(repoRoot, 'docs/benchmarks.md');
const current = await readFile(page, 'utf8');
const updated = replaceSections(current, await renderedSections(path.join(repoRoot, 'bench/results')));
const files = await renderedFiles(path.join(repoRoot, 'bench/results'));
const stale: string[] = [];
for (const [file, text] of Object.entries(files)) {
  const absolute = path.join(repoRoot, file);
  if ((await readFile(absolute, 'utf8').catch(() => '')) === text) continue;
  stale.push(file);
  if (!process.argv.includes('--check')) await writeFile(absolute, text);
}
if (process.argv.includes('--check')) {
  if (stale.length > 0) {
    console.error(
      `bench:docs: ${stale.join(', ')} differ from what bench/results/*.json render; run npm run bench:docs`,
    );
    process.exit(1);
  }
  if (updated !== current) {
    console.error(
      'bench:docs: docs/benchmarks.md differs from what bench/results/*.json render; run npm run bench:docs',
    );
    process.exit(1);
  }
  console.log('bench:docs: docs/benchmarks.md is up to date');
} else {
  await writeFile(page, updated);
  console.log(`bench:docs: ${updated === current ? 'unchanged' : 'updated'} docs/benchmarks.md`);
  if (stale.length > 0) console.log(`bench:docs: wrote ${stale.join(', ')}`);
}
