import test from 'ava';
import { escapeForTerminal, escapeJsonForTerminal } from './terminal-text.js';

test('terminal escape sequences, line breaks and C1 controls are escaped; ordinary text is kept', (t) => {
  t.is(escapeForTerminal('plain text, ünïcødé, 日本'), 'plain text, ünïcødé, 日本');
  t.is(escapeForTerminal('\u001b[31mred\u001b[0m'), '\\u001b[31mred\\u001b[0m');
  t.is(escapeForTerminal('a\nb\tc\rd'), 'a\\nb\\tc\\rd');
  t.is(escapeForTerminal('csi\u009b2J del\u007f'), 'csi\\u009b2J del\\u007f');
});

test('bidi overrides, line separators and lone surrogates are escaped; pairs are kept', (t) => {
  t.is(escapeForTerminal('abc\u202edcba'), 'abc\\u202edcba');
  t.is(escapeForTerminal('x\u2028y'), 'x\\u2028y');
  t.is(escapeForTerminal('lone \ud800 and \udc00'), 'lone \\ud800 and \\udc00');
  t.is(escapeForTerminal('pair 😀'), 'pair 😀');
});

test('a backslash is escaped too, so an escape in the output always means an escaped character', (t) => {
  t.is(escapeForTerminal('C:\\u001b'), 'C:\\\\u001b');
});

test('escaped JSON is still the same JSON', (t) => {
  const value = { text: 'csi\u009b2J \u202e bidi \u2028 sep' };
  const escaped = escapeJsonForTerminal(JSON.stringify(value));
  t.false(/[\u0080-\u009f\u202e\u2028]/.test(escaped));
  t.deepEqual(JSON.parse(escaped), value);
});
