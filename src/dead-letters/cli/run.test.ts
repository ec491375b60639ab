import test from 'ava';
import type { CliIo } from './io.js';
import { runCli } from './run.js';

function fakeIo(overrides: Partial<CliIo> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    env: {},
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    stdinIsTerminal: false,
    ask: () => Promise.reject(new Error('no terminal')),
    now: () => new Date(0),
    ...overrides,
  };
  return { io, out, err };
}

test('help goes to stdout with status 0; bad arguments to stderr with the usage and status 2', async (t) => {
  const help = fakeIo();
  t.is(await runCli(['dlq', '--help'], help.io), 0);
  t.regex(help.out.join(''), /^Usage: ackstate dlq/);
  const bad = fakeIo();
  t.is(await runCli(['dlq', 'list'], bad.io), 2);
  t.regex(bad.err.join(''), /^ackstate: missing <queue>\n\nUsage: ackstate dlq list/);
  t.deepEqual(bad.out, []);
});

test('purge without --yes and without a terminal is refused before connecting', async (t) => {
  const { io, err } = fakeIo({ env: { AMQP_URL: 'amqp://u:p@192.0.2.1:1' } });
  t.is(await runCli(['dlq', 'purge', 'user_queue'], io), 2);
  t.regex(err.join(''), /refusing to purge user_queue\.dead: stdin is not a terminal.*--yes/);
});

test('a bad AMQP_URL is a settings error, status 2', async (t) => {
  const { io, err } = fakeIo({ env: { AMQP_URL: 'http://u:secret@h' } });
  t.is(await runCli(['dlq', 'list', 'q'], io), 2);
  t.regex(err.join(''), /^ackstate: AMQP_URL: must be/);
  t.false(err.join('').includes('secret'));
});
