// docs/configuration.md's two tables against the code: the library's options (src/api/options.ts) and the
// example application's environment (src/app/config.ts). Every option has a row and no row names something
// the code does not read; each row's default is the one the code fills in, and its accepted range is the
// schema's.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { z } from 'zod';
import { optionsSchema, resolveOptions } from '../src/api/options.js';
import { configSchema, configVariables, loadConfig } from '../src/app/config.js';
import {
  acceptedText,
  defaultText,
  firstCode,
  optionRows,
  schemaLeaves,
  sectionOf,
  valueAt,
  type OptionRow,
  type SchemaNode,
} from './support/options-table.js';

const page = readFileSync(path.join(import.meta.dirname, '..', 'docs', 'configuration.md'), 'utf8');
const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as SchemaNode;

const rowsByName = (rows: readonly OptionRow[]) =>
  new Map(rows.flatMap((row) => row.names.map((name) => [name, row] as const)));

function mismatches(
  rows: readonly OptionRow[],
  leaves: ReadonlyMap<string, SchemaNode>,
  expectedDefault: (name: string) => string | undefined,
): string[] {
  const byName = rowsByName(rows);
  const problems: string[] = [];
  for (const [name, node] of leaves) {
    const row = byName.get(name);
    if (!row) {
      problems.push(`${name}: no row`);
      continue;
    }
    const accepted = acceptedText(node);
    if (accepted !== undefined && row.acceptedCell !== accepted) {
      problems.push(`${name}: Accepted says "${row.acceptedCell}", the schema "${accepted}"`);
    }
    const fallback = expectedDefault(name);
    if (fallback !== undefined && firstCode(row.defaultCell) !== fallback) {
      problems.push(`${name}: Default says "${row.defaultCell}", the code fills in "${fallback}"`);
    }
  }
  for (const name of byName.keys()) if (!leaves.has(name)) problems.push(`${name}: a row for no option`);
  return problems;
}

test('the Runtime options table names every option of startRuntime, with its default and accepted range', (t) => {
  const rows = optionRows(sectionOf(page, 'Runtime options'), 'Option');
  t.true(rows.length > 20, 'docs/configuration.md has a Runtime options table');
  const leaves = schemaLeaves(jsonSchema(optionsSchema));
  const resolved = resolveOptions({ broker: { urls: 'amqp://broker' }, services: [] });
  const required = new Set(['broker.urls', 'services', 'admin.port']);
  const expected = (name: string) => (required.has(name) ? 'required' : defaultText(valueAt(resolved, name), 'json'));
  t.deepEqual(mismatches(rows, leaves, expected), []);
});

test('the Environment table names every variable the example application reads, with its default and accepted range', (t) => {
  const rows = optionRows(sectionOf(page, 'Environment of the example application'), 'Variable');
  t.true(rows.length > 20, 'docs/configuration.md has an Environment table');
  const leaves = schemaLeaves(jsonSchema(configSchema));
  t.deepEqual([...leaves.keys()].sort(), [...configVariables].sort(), 'the JSON Schema has every variable');
  const defaults = loadConfig({});
  const expected = (name: string) => {
    const value = valueAt(defaults, name);
    return value === undefined ? 'unset' : defaultText(value, 'commas');
  };
  t.deepEqual(mismatches(rows, leaves, expected), []);
});

test('the table reader keeps a | inside backticks in its cell and reads each column by its header', (t) => {
  const section = [
    '| Option | Accepted | Default | Meaning |',
    '|---|---|---|---|',
    '| `a.b`, `a.c` | 1 – 2 | `x|y` (why) | text |',
    '',
    '| Option | Default |',
  ].join('\n');
  t.deepEqual(optionRows(section, 'Option'), [
    { names: ['a.b', 'a.c'], defaultCell: '`x|y` (why)', acceptedCell: '1 – 2' },
  ]);
  t.is(firstCode('`x|y` (why)'), 'x|y');
  t.is(acceptedText({ type: 'integer', minimum: 1000, maximum: 86_400_000 }), '1,000 – 86,400,000');
  t.is(acceptedText({ type: 'string' }), undefined);
});
