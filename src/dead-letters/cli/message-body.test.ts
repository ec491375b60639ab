import test from 'ava';
import { reindentJson, renderBody } from './message-body.js';

test('a JSON body is re-indented, keeping every token exactly as sent', (t) => {
  const sent =
    '{"id": 12345678901234567890, "name":"A \\"quoted\\" \\u00e9", "tags":[1,2.50,{}], "empty": [], "n":null}';
  const shown = renderBody(Buffer.from(sent));
  t.is(shown.encoding, 'json');
  t.is(
    shown.text,
    [
      '{',
      '  "id": 12345678901234567890,',
      '  "name": "A \\"quoted\\" \\u00e9",',
      '  "tags": [',
      '    1,',
      '    2.50,',
      '    {}',
      '  ],',
      '  "empty": [],',
      '  "n": null',
      '}',
    ].join('\n'),
  );
});

test('re-indenting keeps brackets, commas and colons inside strings', (t) => {
  const sent = '{"a":"{[,:]}","b":"\\\\"}';
  t.deepEqual(JSON.parse(reindentJson(sent)), JSON.parse(sent));
  t.true(reindentJson(sent).includes('"{[,:]}"'));
});

test('UTF-8 text that is not JSON is shown escaped', (t) => {
  const shown = renderBody(Buffer.from('this is { not JSON\n\u001b[2J'));
  t.is(shown.encoding, 'text');
  t.is(shown.text, 'this is { not JSON\\n\\u001b[2J');
});

test('a body that is not UTF-8 is shown as base64', (t) => {
  const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
  t.deepEqual(renderBody(bytes), { encoding: 'base64', text: bytes.toString('base64') });
});

test('an empty body is text, not JSON', (t) => {
  t.deepEqual(renderBody(Buffer.alloc(0)), { encoding: 'text', text: '' });
});

test('C1 controls inside a JSON string are escaped and the JSON stays valid', (t) => {
  const shown = renderBody(Buffer.from('{"x":"\u009b2J"}'));
  t.is(shown.encoding, 'json');
  t.false(shown.text.includes('\u009b'));
  t.deepEqual(JSON.parse(shown.text), { x: '\u009b2J' });
});
