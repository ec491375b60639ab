/**
 * Reads the option tables of docs/configuration.md and says what their Default and Accepted cells must
 * hold, from the options' own zod schema (through its JSON Schema) and the defaults the code fills in, so
 * that the page cannot drift from the code.
 */

/** One row of a Markdown table whose first cell names one or more options in backticks. */
export interface OptionRow {
  readonly names: readonly string[];
  readonly defaultCell: string;
  readonly acceptedCell: string;
}

/** The part of a JSON Schema that the tables describe. */
export interface SchemaNode {
  readonly type?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly maxItems?: number;
  readonly enum?: readonly (string | number)[];
  readonly items?: SchemaNode;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
}

/** The text of a page between `## <heading>` and the next `## `, or '' when there is no such heading. */
export function sectionOf(page: string, heading: string): string {
  const start = page.split('\n').findIndex((line) => line === `## ${heading}`);
  if (start < 0) return '';
  const rest = page.split('\n').slice(start + 1);
  const end = rest.findIndex((line) => line.startsWith('## '));
  return (end < 0 ? rest : rest.slice(0, end)).join('\n');
}

/** The rows of the first table in a section whose header row starts with `| <firstColumn> |`. */
export function optionRows(section: string, firstColumn: string): OptionRow[] {
  const lines = section.split('\n');
  const header = lines.findIndex((line) => line.startsWith(`| ${firstColumn} |`));
  if (header < 0) return [];
  const columns = cells(lines[header] ?? '');
  const at = (name: string) => columns.indexOf(name);
  const rows: OptionRow[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const row = cells(line);
    rows.push({
      names: [...(row[0] ?? '').matchAll(/`([^`]+)`/g)].map((match) => match[1] ?? ''),
      defaultCell: row[at('Default')] ?? '',
      acceptedCell: row[at('Accepted')] ?? '',
    });
  }
  return rows;
}

// A `|` inside backticks belongs to the cell, not the table.
function cells(line: string): string[] {
  const found: string[] = [];
  let current = '';
  let inCode = false;
  for (const char of line.slice(1)) {
    if (char === '`') inCode = !inCode;
    if (char === '|' && !inCode) {
      found.push(current.trim());
      current = '';
    } else current += char;
  }
  return found;
}

/** Every leaf of an object schema by its dotted path (`broker.urls`, `consumers.retry.baseMs`). */
export function schemaLeaves(schema: SchemaNode, prefix = ''): Map<string, SchemaNode> {
  const leaves = new Map<string, SchemaNode>();
  for (const [key, node] of Object.entries(schema.properties ?? {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (node.properties) for (const [inner, leaf] of schemaLeaves(node, path)) leaves.set(inner, leaf);
    else leaves.set(path, node);
  }
  return leaves;
}

const count = (value: number) => value.toLocaleString('en-US');

/**
 * What the Accepted cell of an option must say, or undefined when the schema says nothing a table could
 * check (free text, a URL, a logger): integers as `min – max`, enums as their values, lists of integers
 * with their length and range.
 */
export function acceptedText(node: SchemaNode): string | undefined {
  if (node.enum) return node.enum.map((value) => `\`${value}\``).join(', ');
  if (node.type === 'integer' && node.minimum !== undefined && node.maximum !== undefined) {
    return `${count(node.minimum)} – ${count(node.maximum)}`;
  }
  if (node.type === 'array' && node.items && node.maxItems !== undefined) {
    const each = acceptedText(node.items);
    return each && `up to ${node.maxItems}, each ${each}`;
  }
  return undefined;
}

/** A default as the first backticked text of a Default cell shows it. */
export function defaultText(value: unknown, lists: 'json' | 'commas'): string | undefined {
  if (value === '') return 'empty';
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return lists === 'json' ? JSON.stringify(value) : value.join(',');
  return undefined;
}

/** The first backticked text of a cell, or the cell itself when it has none (`unset`, `required`). */
export function firstCode(cell: string): string {
  return /`([^`]*)`/.exec(cell)?.[1] ?? cell;
}

/** The value at a dotted path of a nested object, or undefined. */
export function valueAt(object: unknown, path: string): unknown {
  let current = object;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
