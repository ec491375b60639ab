// The pictures in docs/machines/ are what the README shows: they must be what `npm run viz` draws from the
// machines as they are now. A machine changed without re-running `npm run viz` fails here.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { runtimeMachines } from '../../src/viz/charts/machines.js';
import { renderMachines } from '../../src/viz/charts/render.js';
import { repoRoot } from '../support/service-process.js';

test('docs/machines holds the current picture and definition of every machine (run `npm run viz` after changing one)', async (t) => {
  for (const machine of await renderMachines(runtimeMachines)) {
    const { svg, ...definition } = machine;
    const file = (extension: string) =>
      readFile(path.join(repoRoot, 'docs/machines', `${machine.id}.${extension}`), 'utf8');
    t.is(await file('svg'), svg, `docs/machines/${machine.id}.svg is stale`);
    t.is(await file('json'), `${JSON.stringify(definition, null, 2)}\n`, `docs/machines/${machine.id}.json is stale`);
  }
});
