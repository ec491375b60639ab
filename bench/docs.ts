/**
 * `npm run bench:docs`: renders bench/results/latest.json (and instances.json, soak.json, profile.json,
 * baseline.json where present) into docs/benchmarks.md, between the marker comments `<!-- bench:NAME:start -->` and
 * `<!-- bench:NAME:end -->`. `--check` only reports whether the page is up to date (exit 1 if not).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderedSections, replaceSections } from './report/docs-sections.js';
import { repoRoot } from './harness/paths.js';

const page = path.join(repoRoot, 'docs/benchmarks.md');
const current = await readFile(page, 'utf8');
const updated = replaceSections(current, await renderedSections(path.join(repoRoot, 'bench/results')));
if (process.argv.includes('--check')) {
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
}
