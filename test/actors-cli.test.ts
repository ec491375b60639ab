/**
 * `ackstate actors list|show` against a database of the test's own, filled with the actors' queries (no
 * broker): the printed output and the exit statuses, in-process and once through the built bin.
 */
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import {
  appendHistory,
  insertInstances,
  setTimers,
  updateInstances,
  type ActorInstanceWrite,
} from '../src/db/actor-queries.js';
import type { CliIo } from '../src/dead-letters/cli/io.js';
import { runCli } from '../src/dead-letters/cli/run.js';
import { actorDatabase, type ActorDatabase } from './support/actor-database.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const actor = 'card-activation';
/** The output with every time replaced by a placeholder of the same width, so that alignment still shows. */
const shape = (text: string) => text.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/g, 'YYYY-MM-DDTHH:MM:SSZ');

const write = (instanceId: string, state = 'waiting', status: 'active' | 'done' = 'active'): ActorInstanceWrite => ({
  instanceId,
  state,
  snapshot: { value: state },
  definitionVersion: 1,
  status,
});

/** Three cards: c-1 activated (closed), c-2 reminded with a timer, c-3 waiting with two timers. */
async function filled(t: ExecutionContext, label: string): Promise<ActorDatabase> {
  const database = await actorDatabase(t, label);
  const { db } = database;
  for (const id of ['c-1', 'c-2', 'c-3']) await insertInstances(db, actor, [write(id)]);
  const trx = await db.startTransaction().execute();
  await updateInstances(trx, actor, [write('c-1', 'active', 'done'), write('c-2', 'reminded')]);
  await setTimers(trx, actor, [
    {
      instanceId: 'c-2',
      timerId: 'xstate.after.5d.reminded',
      event: { type: 'expire' },
      delayMs: 5 * 86_400_000 + 30_000,
    },
    {
      instanceId: 'c-3',
      timerId: 'xstate.after.2d.waiting',
      event: { type: 'remind' },
      delayMs: 2 * 86_400_000 + 30_000,
    },
    { instanceId: 'c-3', timerId: 'nudge', event: { type: 'nudge' }, delayMs: 3_600_000 + 30_000 },
  ]);
  await appendHistory(trx, actor, [
    {
      instanceId: 'c-1',
      eventType: 'card.issued',
      fromState: null,
      toState: 'waiting',
      messageId: 'm-1',
      published: [],
    },
    {
      instanceId: 'c-1',
      eventType: 'card.activated',
      fromState: 'waiting',
      toState: 'active',
      messageId: 'm-4',
      published: ['o-1', 'o-2'],
    },
    {
      instanceId: 'c-2',
      eventType: 'card.issued',
      fromState: null,
      toState: 'waiting',
      messageId: 'm-2',
      published: [],
    },
    {
      instanceId: 'c-2',
      eventType: 'xstate.after.2d.waiting',
      fromState: 'waiting',
      toState: 'reminded',
      messageId: null,
      published: ['o-3'],
    },
  ]);
  await trx.commit().execute();
  return database;
}

async function ackstate(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    env,
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    stdinIsTerminal: false,
    ask: () => Promise.reject(new Error('no terminal')),
    now: () => new Date(),
  };
  const code = await runCli(args, io);
  return { code, out: out.join(''), err: err.join('') };
}

test('list: newest first, aligned, filtered by state, bounded with a line saying more exist', async (t) => {
  const { url } = await filled(t, 'list');
  const all = await ackstate(['actors', 'list', actor, '--database', url]);
  t.is(all.code, 0, all.err);
  t.is(
    shape(all.out),
    [
      '3 instances of card-activation',
      'ID   STATE     STATUS  VERSION  ROW  CREATED               UPDATED               CLOSED',
      'c-3  waiting   active  1        1    YYYY-MM-DDTHH:MM:SSZ  YYYY-MM-DDTHH:MM:SSZ  -',
      'c-2  reminded  active  1        2    YYYY-MM-DDTHH:MM:SSZ  YYYY-MM-DDTHH:MM:SSZ  -',
      'c-1  active    done    1        2    YYYY-MM-DDTHH:MM:SSZ  YYYY-MM-DDTHH:MM:SSZ  YYYY-MM-DDTHH:MM:SSZ',
      '',
    ].join('\n'),
  );

  const reminded = await ackstate(['actors', 'list', actor, '--state', 'reminded'], { DATABASE_URL: url });
  t.is(reminded.code, 0, reminded.err);
  t.deepEqual(shape(reminded.out).split('\n').slice(0, 3), [
    '1 instance of card-activation in state reminded',
    'ID   STATE     STATUS  VERSION  ROW  CREATED               UPDATED               CLOSED',
    'c-2  reminded  active  1        2    YYYY-MM-DDTHH:MM:SSZ  YYYY-MM-DDTHH:MM:SSZ  -',
  ]);

  const bounded = await ackstate(['actors', 'list', actor, '--limit', '2', '--database', url]);
  t.is(bounded.code, 0, bounded.err);
  const lines = bounded.out.trimEnd().split('\n');
  t.is(lines[0], 'the newest 2 instances of card-activation');
  t.deepEqual(
    lines.slice(2, 4).map((line) => line.split(' ')[0]),
    ['c-3', 'c-2'],
  );
  t.is(lines[4], 'more exist: raise --limit (now 2) or narrow with --state');
  t.is(lines.length, 5);
});

test('list: an empty state is no failure and names the states there are; an unknown actor is status 1', async (t) => {
  const { url } = await filled(t, 'empty');
  const none = await ackstate(['actors', 'list', actor, '--state', 'expired', '--database', url]);
  t.is(none.code, 0, none.err);
  t.is(none.out, `no instances of ${actor} in state expired (by state: active 1, reminded 1, waiting 1)\n`);
  const unknown = await ackstate(['actors', 'list', 'no-such-actor', '--database', url]);
  t.is(unknown.code, 1);
  t.is(unknown.out, '');
  t.regex(unknown.err, /^ackstate: no instances of actor no-such-actor in this database/);
});

test('show: the row, the pending timers earliest first with due times, the history in order', async (t) => {
  const { url } = await filled(t, 'show');
  const waiting = await ackstate(['actors', 'show', actor, 'c-3', '--database', url]);
  t.is(waiting.code, 0, waiting.err);
  t.is(
    shape(waiting.out),
    [
      'actor:              card-activation',
      'instance:           c-3',
      'state:              waiting',
      'status:             active',
      'definition version: 1',
      'row version:        1',
      'created:            YYYY-MM-DDTHH:MM:SSZ',
      'updated:            YYYY-MM-DDTHH:MM:SSZ',
      'closed:             -',
      '',
      '2 pending timers',
      'TIMER                    EVENT     DUE                   DUE IN    CLAIMED',
      'nudge                    (its id)  YYYY-MM-DDTHH:MM:SSZ  in 1h00m  -',
      'xstate.after.2d.waiting  remind    YYYY-MM-DDTHH:MM:SSZ  in 2d00h  -',
      '',
      'no history (retention may have removed it)',
      '',
    ].join('\n'),
  );

  const closed = await ackstate(['actors', 'show', actor, 'c-1', '--database', url]);
  t.is(closed.code, 0, closed.err);
  const [row, timers, history] = shape(closed.out).split('\n\n');
  t.regex(row!, /status: {13}done\n[^]*closed: {13}YYYY-MM-DDTHH:MM:SSZ$/);
  t.is(timers, 'no pending timers');
  t.is(
    history,
    [
      'history: 2 transitions, oldest first',
      '#  TIME                  EVENT           FROM     TO       MESSAGE ID  PUBLISHED',
      '1  YYYY-MM-DDTHH:MM:SSZ  card.issued     -        waiting  m-1         -',
      '2  YYYY-MM-DDTHH:MM:SSZ  card.activated  waiting  active   m-4         o-1,o-2',
      '',
    ].join('\n'),
  );

  const unknown = await ackstate(['actors', 'show', actor, 'c-9', '--database', url]);
  t.is(unknown.code, 1);
  t.is(unknown.out, '');
  t.regex(unknown.err, /^ackstate: no instance c-9 of actor card-activation in this database/);
});

test('no database given is status 2; a database without the actors tables or unreachable is status 1', async (t) => {
  const none = await ackstate(['actors', 'list', actor]);
  t.is(none.code, 2);
  t.is(none.err, 'ackstate: no database: give --database <postgres-url> or set DATABASE_URL\n');
  const { url } = await actorDatabase(t, 'bare', { migrated: false });
  const bare = await ackstate(['actors', 'list', actor, '--database', url]);
  t.is(bare.code, 1);
  t.regex(bare.err, /this database has no durable actors' tables/);
  const closedPort = await ackstate([
    'actors',
    'show',
    actor,
    'c-1',
    '--database',
    'postgres://u:secret@127.0.0.1:1/x',
  ]);
  t.is(closedPort.code, 1);
  t.regex(closedPort.err, /^ackstate: .*ECONNREFUSED/);
});

/** Runs the built bin and resolves with its status and output, whatever the status. */
function runBin(args: readonly string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [path.join(repoRoot, 'dist/cli.js'), ...args], { env }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

test('the built bin prints the same and exits with its status (npm run build first)', async (t) => {
  await access(path.join(repoRoot, 'dist/cli.js')).catch(() => {
    throw new Error('dist/cli.js is missing: run npm run build first');
  });
  const { url } = await filled(t, 'bin');
  const env = { ...process.env, DATABASE_URL: url };
  const listed = await runBin(['actors', 'list', actor, '--limit', '1'], env);
  t.is(listed.code, 0, listed.stderr);
  t.regex(listed.stdout, /^the newest 1 instances of card-activation\nID +STATE +STATUS[^]*\nmore exist: /);
  const shown = await runBin(['actors', 'show', actor, 'c-2'], env);
  t.is(shown.code, 0, shown.stderr);
  t.regex(shown.stdout, /\n1 pending timer\n[^]* expire [^]*\nhistory: 2 transitions, oldest first\n/);
  const missing = await runBin(['actors', 'show', actor, 'nope'], env);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /^ackstate: no instance nope of actor card-activation/);
  const usage = await runBin(['actors', 'list'], env);
  t.is(usage.code, 2);
  t.regex(usage.stderr, /^ackstate: missing <actor>\n\nUsage: ackstate actors list/);
  const help = await runBin(['--help'], env);
  t.is(help.code, 0);
  t.regex(help.stdout, /dlq list <queue>[^]*actors list <actor>[^]*actors show <actor> <instance-id>/);
});
