import test from 'ava';
import { parseCommandLine, UsageError } from './arguments.js';
import { commandUsage, dlqUsage, topUsage } from './usage.js';

const usageError = (argv: string[]) => {
  try {
    parseCommandLine(argv);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
};

test('help at every level, listing the commands', (t) => {
  t.deepEqual(parseCommandLine(['--help']), { kind: 'help', text: topUsage });
  t.deepEqual(parseCommandLine(['dlq', '-h']), { kind: 'help', text: dlqUsage });
  t.deepEqual(parseCommandLine(['dlq', 'replay', '--help']), { kind: 'help', text: commandUsage.replay });
  t.deepEqual(parseCommandLine(['dlq', 'purge', 'q', '-h']), { kind: 'help', text: commandUsage.purge });
  for (const name of ['list', 'show', 'replay', 'purge']) {
    t.regex(topUsage, new RegExp(`dlq ${name} `));
    t.regex(dlqUsage, new RegExp(`\\n  ${name} `));
  }
  t.regex(commandUsage.replay, /inbox/, 'replay --help says why a repeat is safe');
});

test('each command with its arguments', (t) => {
  t.deepEqual(parseCommandLine(['dlq', 'list', 'user_queue']), {
    kind: 'list',
    queue: 'user_queue',
    json: false,
    url: undefined,
  });
  t.deepEqual(parseCommandLine(['dlq', 'list', 'user_queue', '--json', '--url', 'amqp://h']), {
    kind: 'list',
    queue: 'user_queue',
    json: true,
    url: 'amqp://h',
  });
  t.deepEqual(parseCommandLine(['dlq', 'show', 'q', '3']), {
    kind: 'show',
    queue: 'q',
    target: '3',
    json: false,
    url: undefined,
  });
  t.deepEqual(parseCommandLine(['dlq', 'replay', 'q', '--id', 'a', '--id', 'b', '--id', 'a']), {
    kind: 'replay',
    queue: 'q',
    selection: { kind: 'ids', ids: ['a', 'b'] },
    json: false,
    url: undefined,
  });
  t.deepEqual(parseCommandLine(['dlq', 'replay', 'q', '--all']), {
    kind: 'replay',
    queue: 'q',
    selection: { kind: 'all' },
    json: false,
    url: undefined,
  });
  t.like(parseCommandLine(['dlq', 'replay', 'q', '--limit', '20']), { selection: { kind: 'first', count: 20 } });
  t.deepEqual(parseCommandLine(['dlq', 'purge', 'q', '-y']), { kind: 'purge', queue: 'q', yes: true, url: undefined });
});

test('wrong arguments are usage errors that carry the right usage', (t) => {
  t.is(usageError([]).usage, topUsage);
  t.regex(usageError(['queue']).message, /unknown command "queue"/);
  t.is(usageError(['dlq']).usage, dlqUsage);
  t.regex(usageError(['dlq', 'drop', 'q']).message, /unknown dlq command "drop"/);
  t.regex(usageError(['dlq', 'list']).message, /missing <queue>/);
  t.is(usageError(['dlq', 'list']).usage, commandUsage.list);
  t.regex(usageError(['dlq', 'show', 'q']).message, /missing <message-id\|position>/);
  t.regex(usageError(['dlq', 'list', 'q', 'extra']).message, /unexpected argument "extra"/);
  t.regex(usageError(['dlq', 'list', 'q', '--yes']).message, /Unknown option '--yes'/);
  t.regex(usageError(['dlq', 'list', 'bad queue!']).message, /<queue> may hold only/);
  t.regex(usageError(['dlq', 'list', 'q', '--url', ' ']).message, /--url is empty/);
  t.regex(usageError(['dlq', 'list', 'q', '--url']).message, /argument missing/);
});

test('replay needs exactly one selection, and a positive whole --limit', (t) => {
  t.regex(usageError(['dlq', 'replay', 'q']).message, /exactly one of --id, --all and --limit/);
  t.regex(usageError(['dlq', 'replay', 'q', '--all', '--limit', '2']).message, /exactly one/);
  t.regex(usageError(['dlq', 'replay', 'q', '--all', '--id', 'x']).message, /exactly one/);
  for (const limit of ['0', '-1', '1.5', 'ten', '']) {
    t.regex(usageError(['dlq', 'replay', 'q', `--limit=${limit}`]).message, /--limit must be a whole number/, limit);
  }
  t.regex(usageError(['dlq', 'replay', 'q', '--id=']).message, /--id is empty/);
});
