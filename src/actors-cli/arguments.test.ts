import test from 'ava';
import { UsageError } from '../dead-letters/cli/arguments.js';
import { parseActorsCommandLine } from './arguments.js';
import { actorsCommandUsage, actorsUsage } from './usage.js';

test('list: the actor, an optional state, the default limit and --database', (t) => {
  t.deepEqual(parseActorsCommandLine(['list', 'card-activation']), {
    kind: 'list',
    actor: 'card-activation',
    state: undefined,
    limit: 50,
    database: undefined,
  });
  t.deepEqual(
    parseActorsCommandLine(['list', 'a', '--state', 'payment.pending', '--limit', '7', '--database', 'postgres://h/d']),
    { kind: 'list', actor: 'a', state: 'payment.pending', limit: 7, database: 'postgres://h/d' },
  );
});

test('show: the actor and the instance id', (t) => {
  t.deepEqual(parseActorsCommandLine(['show', 'a', 'card-1']), {
    kind: 'show',
    actor: 'a',
    instanceId: 'card-1',
    database: undefined,
  });
});

test('help: of the group and of each command', (t) => {
  t.deepEqual(parseActorsCommandLine(['--help']), { kind: 'help', text: actorsUsage });
  t.deepEqual(parseActorsCommandLine(['show', '-h']), { kind: 'help', text: actorsCommandUsage.show });
});

const refused = (args: string[], message: string | RegExp, usage: string) => (t: import('ava').ExecutionContext) => {
  const error = t.throws(() => parseActorsCommandLine(args), { instanceOf: UsageError });
  if (typeof message === 'string') t.is(error?.message, message);
  else t.regex(error?.message ?? '', message);
  t.is((error as UsageError | undefined)?.usage, usage);
};

test('no command', refused([], 'no actors command given', actorsUsage));
test('an unknown command', refused(['drop', 'a'], 'unknown actors command "drop"', actorsUsage));
test('list without the actor', refused(['list'], 'missing <actor>', actorsCommandUsage.list));
test('show without the id', refused(['show', 'a'], 'missing <instance-id>', actorsCommandUsage.show));
test('a word too many', refused(['list', 'a', 'b'], 'unexpected argument "b"', actorsCommandUsage.list));
test('an unknown option', refused(['show', 'a', 'b', '--state', 's'], /--state/, actorsCommandUsage.show));
test('an empty actor', refused(['list', ' '], '<actor> is empty', actorsCommandUsage.list));
test('an empty --state', refused(['list', 'a', '--state', ''], '--state is empty', actorsCommandUsage.list));
test('an empty --database', refused(['list', 'a', '--database', ''], '--database is empty', actorsCommandUsage.list));
for (const limit of ['0', '2.5', 'many', '10001']) {
  test(
    `--limit ${limit}`,
    refused(['list', 'a', '--limit', limit], '--limit must be a whole number from 1 to 10000', actorsCommandUsage.list),
  );
}
test('--limit -1 (read as an option)', refused(['list', 'a', '--limit', '-1'], /--limit/, actorsCommandUsage.list));
