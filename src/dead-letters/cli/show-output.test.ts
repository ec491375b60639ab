import test from 'ava';
import { deadLetterHeaders } from '../../policies/dead-letter.js';
import { formatShowJson, formatShowText, showJsonDocument } from './show-output.js';

const now = new Date('2026-11-28T12:01:00.000Z');
const headers = {
  ...deadLetterHeaders(
    {
      queue: 'user_queue',
      messageId: 'm-1',
      contentType: 'application/json',
      redelivered: true,
      headers: { 'x-bytes': Buffer.from([1, 2]) },
    },
    { kind: 'poison', reason: 'body fails validation: email: Invalid email address' },
    1,
    new Date('2026-11-28T12:00:00.000Z'),
  ),
};
const message = (content: Buffer) => ({
  content,
  properties: {
    messageId: 'm-1',
    contentType: 'application/json',
    deliveryMode: 2,
    timestamp: 1_764_331_200,
    headers,
  } as never,
});

test('show prints the summary, every property and header, and the body re-indented', (t) => {
  const text = formatShowText(
    'user_queue.dead',
    3,
    { message: message(Buffer.from('{"id":"nope","email":"x"}')), position: 2 },
    now,
  );
  t.regex(text, /^dead letter 2 of 3 in user_queue\.dead\n/);
  t.regex(text, /\nmessage id: +m-1\n/);
  t.regex(text, /\nreason: +body fails validation: email: Invalid email address\n/);
  t.regex(text, /\nattempts: +1\n/);
  t.regex(text, /\ndead-lettered: +2026-11-28T12:00:00.000Z \(1m00s ago\)\n/);
  t.regex(text, /\n {2}delivery-mode: 2\n/);
  t.regex(text, /\n {2}timestamp: 1764331200 \(2025-11-28T12:00:00.000Z\)\n/);
  t.regex(text, /\n {2}x-ackstate-failure-kind: "poison"\n/);
  t.regex(text, /\n {2}x-bytes: \{"base64":"AQI="\}\n/);
  t.regex(text, /\nbody \(JSON, re-indented\):\n\{\n {2}"id": "nope",\n {2}"email": "x"\n\}\n$/);
});

test('show --json is lossless: UTF-8 text, or base64 for other bytes', (t) => {
  const utf8 = JSON.parse(
    formatShowJson([showJsonDocument('q.dead', 1, { message: message(Buffer.from('hé')), position: 1 }, now)]),
  );
  t.like(utf8[0], {
    position: 1,
    messageId: 'm-1',
    ageSeconds: 60,
    body: { encoding: 'utf-8', data: 'hé', json: false },
  });
  t.is(utf8[0].headers['x-ackstate-reason'], 'body fails validation: email: Invalid email address');
  const binary = showJsonDocument('q.dead', 1, { message: message(Buffer.from([0xff, 0x00])), position: 1 }, now);
  t.deepEqual(binary.body, { encoding: 'base64', data: '/wA=', json: false });
});
