#!/usr/bin/env node
/**
 * npm run viz [-- <folder>]
 * Writes every machine of the runtime as a picture (`<id>.svg`) and its definition (`<id>.json`: the chart
 * the picture is drawn from, and XState's own `machine.toJSON()`) into a folder, `docs/machines/` by
 * default. Starts no service and needs neither the broker nor the database.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runtimeMachines } from './viz/charts/machines.js';
import { renderMachines } from './viz/charts/render.js';

const folder = path.resolve(process.argv[2] ?? 'docs/machines');
await mkdir(folder, { recursive: true });
for (const machine of await renderMachines(runtimeMachines)) {
  const { svg, ...definition } = machine;
  await writeFile(path.join(folder, `${machine.id}.svg`), svg);
  await writeFile(path.join(folder, `${machine.id}.json`), `${JSON.stringify(definition, null, 2)}\n`);
  process.stdout.write(
    `${path.relative(process.cwd(), path.join(folder, machine.id))}.{svg,json}: ${machine.states.length} states\n`,
  );
}
