/** The command line, read into one command, with node's own `util.parseArgs`. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Selection as ReplaySelection } from '../replay.js';
import { brokerNameProblem } from '../../policies/broker-names.js';
import { commandNames, commandUsage, dlqUsage, topUsage, type CommandName } from './usage.js';

interface Connection {
  /** From --url; otherwise AMQP_URL or the default decide. */
  readonly url: string | undefined;
}

export type Command =
  | { readonly kind: 'help'; readonly text: string }
  | ({ readonly kind: 'list'; readonly queue: string; readonly json: boolean } & Connection)
  | ({ readonly kind: 'show'; readonly queue: string; readonly target: string; readonly json: boolean } & Connection)
  | ({
      readonly kind: 'replay';
      readonly queue: string;
      readonly selection: ReplaySelection;
      readonly json: boolean;
    } & Connection)
  | ({ readonly kind: 'purge'; readonly queue: string; readonly yes: boolean } & Connection);

/** Wrong arguments: the problem, and the usage to print with it. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

const common = {
  help: { type: 'boolean', short: 'h' },
  url: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

const commandOptions = {
  list: { ...common, json: { type: 'boolean' } },
  show: { ...common, json: { type: 'boolean' } },
  replay: {
    ...common,
    json: { type: 'boolean' },
    id: { type: 'string', multiple: true },
    all: { type: 'boolean' },
    limit: { type: 'string' },
  },
  purge: { ...common, yes: { type: 'boolean', short: 'y' } },
} as const satisfies Record<CommandName, ParseArgsConfig['options']>;

const positionalNames: Readonly<Record<CommandName, readonly string[]>> = {
  list: ['<queue>'],
  show: ['<queue>', '<message-id|position>'],
  replay: ['<queue>'],
  purge: ['<queue>'],
};

const isCommandName = (word: string | undefined): word is CommandName => commandNames.includes(word as CommandName);
const asksForHelp = (word: string | undefined) => word === '--help' || word === '-h';

export function parseCommandLine(argv: readonly string[]): Command {
  const [group, name, ...rest] = argv;
  if (asksForHelp(group)) return { kind: 'help', text: topUsage };
  if (group === undefined) throw new UsageError('no command given', topUsage);
  if (group !== 'dlq') throw new UsageError(`unknown command "${group}"`, topUsage);
  if (asksForHelp(name)) return { kind: 'help', text: dlqUsage };
  if (name === undefined) throw new UsageError('no dlq command given', dlqUsage);
  if (!isCommandName(name)) throw new UsageError(`unknown dlq command "${name}"`, dlqUsage);
  return parseDlqCommand(name, rest);
}

function parseDlqCommand(name: CommandName, args: readonly string[]): Command {
  const usage = commandUsage[name];
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: commandOptions[name], allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), usage);
  }
  const values = parsed.values as {
    help?: boolean;
    url?: string;
    json?: boolean;
    yes?: boolean;
    id?: string[];
    all?: boolean;
    limit?: string;
  };
  if (values.help) return { kind: 'help', text: usage };
  const expected = positionalNames[name];
  if (parsed.positionals.length < expected.length) {
    throw new UsageError(`missing ${expected.slice(parsed.positionals.length).join(' ')}`, usage);
  }
  if (parsed.positionals.length > expected.length) {
    throw new UsageError(`unexpected argument "${parsed.positionals[expected.length]}"`, usage);
  }
  const queue = queueName(parsed.positionals[0]!, usage);
  const url = values.url;
  if (url !== undefined && url.trim() === '') throw new UsageError('--url is empty', usage);
  switch (name) {
    case 'list':
      return { kind: 'list', queue, json: values.json ?? false, url };
    case 'show':
      return { kind: 'show', queue, target: parsed.positionals[1]!, json: values.json ?? false, url };
    case 'replay':
      return { kind: 'replay', queue, selection: replaySelection(values, usage), json: values.json ?? false, url };
    case 'purge':
      return { kind: 'purge', queue, yes: values.yes ?? false, url };
  }
}

/** The runtime accepts only these names, so any other cannot have dead letters of its consumers. */
function queueName(value: string, usage: string): string {
  const problem = brokerNameProblem(value);
  if (problem !== undefined) throw new UsageError(`<queue> ${problem}`, usage);
  return value;
}

function replaySelection(values: { id?: string[]; all?: boolean; limit?: string }, usage: string): ReplaySelection {
  const given = [values.id !== undefined, values.all === true, values.limit !== undefined].filter(Boolean).length;
  if (given !== 1) throw new UsageError('give exactly one of --id, --all and --limit', usage);
  if (values.all) return { kind: 'all' };
  if (values.limit !== undefined) {
    const count = /^\d+$/.test(values.limit) ? Number(values.limit) : Number.NaN;
    if (!Number.isSafeInteger(count) || count < 1)
      throw new UsageError('--limit must be a whole number of at least 1', usage);
    return { kind: 'first', count };
  }
  const ids = [...new Set(values.id)];
  if (ids.some((id) => id === '')) throw new UsageError('--id is empty', usage);
  return { kind: 'ids', ids };
}
