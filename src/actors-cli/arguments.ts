/** The `ackstate actors …` command line, read into one command with node's own `util.parseArgs`. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../dead-letters/cli/arguments.js';
import {
  actorsCommandNames,
  actorsCommandUsage,
  actorsUsage,
  defaultListLimit,
  type ActorsCommandName,
} from './usage.js';

interface Database {
  /** From --database; otherwise DATABASE_URL decides. */
  readonly database: string | undefined;
}

export type ActorsCommand =
  | { readonly kind: 'help'; readonly text: string }
  | ({
      readonly kind: 'list';
      readonly actor: string;
      readonly state: string | undefined;
      readonly limit: number;
    } & Database)
  | ({ readonly kind: 'show'; readonly actor: string; readonly instanceId: string } & Database);

const common = {
  help: { type: 'boolean', short: 'h' },
  database: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

const commandOptions = {
  list: { ...common, state: { type: 'string' }, limit: { type: 'string' } },
  show: common,
} as const satisfies Record<ActorsCommandName, ParseArgsConfig['options']>;

const positionalNames: Readonly<Record<ActorsCommandName, readonly string[]>> = {
  list: ['<actor>'],
  show: ['<actor>', '<instance-id>'],
};

const isCommandName = (word: string | undefined): word is ActorsCommandName =>
  actorsCommandNames.includes(word as ActorsCommandName);

/** Reads the words after `ackstate actors`. Throws a `UsageError` (with the usage to print) when they are wrong. */
export function parseActorsCommandLine(args: readonly string[]): ActorsCommand {
  const [name, ...rest] = args;
  if (name === '--help' || name === '-h') return { kind: 'help', text: actorsUsage };
  if (name === undefined) throw new UsageError('no actors command given', actorsUsage);
  if (!isCommandName(name)) throw new UsageError(`unknown actors command "${name}"`, actorsUsage);
  return parseCommand(name, rest);
}

function parseCommand(name: ActorsCommandName, args: readonly string[]): ActorsCommand {
  const usage = actorsCommandUsage[name];
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: commandOptions[name], allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), usage);
  }
  const values = parsed.values as { help?: boolean; database?: string; state?: string; limit?: string };
  if (values.help) return { kind: 'help', text: usage };
  const expected = positionalNames[name];
  const positionals = parsed.positionals;
  if (positionals.length < expected.length) {
    throw new UsageError(`missing ${expected.slice(positionals.length).join(' ')}`, usage);
  }
  if (positionals.length > expected.length) {
    throw new UsageError(`unexpected argument "${positionals[expected.length]}"`, usage);
  }
  const actor = nonEmpty(positionals[0]!, '<actor>', usage);
  const database = values.database;
  if (database !== undefined) nonEmpty(database, '--database', usage);
  if (name === 'show') {
    return { kind: 'show', actor, instanceId: nonEmpty(positionals[1]!, '<instance-id>', usage), database };
  }
  const state = values.state === undefined ? undefined : nonEmpty(values.state, '--state', usage);
  return { kind: 'list', actor, state, limit: listLimit(values.limit, usage), database };
}

function nonEmpty(value: string, what: string, usage: string): string {
  if (value.trim() === '') throw new UsageError(`${what} is empty`, usage);
  return value;
}

/** Bounded so that the query (which reads one more, to tell whether more exist) stays a small one. */
const maxListLimit = 10_000;

function listLimit(value: string | undefined, usage: string): number {
  if (value === undefined) return defaultListLimit;
  const count = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(count) || count < 1 || count > maxListLimit) {
    throw new UsageError(`--limit must be a whole number from 1 to ${maxListLimit}`, usage);
  }
  return count;
}
