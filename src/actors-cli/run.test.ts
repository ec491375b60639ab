import test from 'ava';
import type { CliIo } from '../dead-letters/cli/io.js';
import { runCli } from '../dead-letters/cli/run.js';

function fakeIo(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    env,
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    stdinIsTerminal: false,
    ask: () => Promise.reject(new Error('no terminal')),
    now: () => new Date(0),
  };
  return { io, out, err };
}

test('ackstate --help lists both tools', async (t) => {
  const { io, out } = fakeIo();
  t.is(await runCli(['--help'], io), 0);
  t.regex(out.join(''), /^Usage: ackstate [^]*dlq list <queue>[^]*actors list <actor>[^]*actors show <actor>/);
});

test('actors help to stdout, status 0; bad arguments to stderr with the usage, status 2', async (t) => {
  const help = fakeIo();
  t.is(await runCli(['actors', 'list', '--help'], help.io), 0);
  t.regex(help.out.join(''), /^Usage: ackstate actors list <actor>/);
  const bad = fakeIo();
  t.is(await runCli(['actors', 'show', 'a'], bad.io), 2);
  t.regex(bad.err.join(''), /^ackstate: missing <instance-id>\n\nUsage: ackstate actors show/);
  t.deepEqual(bad.out, []);
});

test('no database is status 2 before connecting; an unreachable one is status 1, without its password', async (t) => {
  const none = fakeIo();
  t.is(await runCli(['actors', 'list', 'a'], none.io), 2);
  t.is(none.err.join(''), 'ackstate: no database: give --database <postgres-url> or set DATABASE_URL\n');
  const unreachable = fakeIo({ DATABASE_URL: 'postgres://u:secret@127.0.0.1:1/x' });
  t.is(await runCli(['actors', 'list', 'a'], unreachable.io), 1);
  t.regex(unreachable.err.join(''), /^ackstate: .*ECONNREFUSED/);
  t.false(unreachable.err.join('').includes('secret'));
});
