import test from 'ava';
import { deadLetterHeader, deadLetterHeaders, replayHeader } from '../policies/dead-letter.js';
import { replayPublication } from './replay-message.js';

const replayedAt = new Date('2026-11-28T12:00:00.000Z');
const context = { deadLetterQueue: 'user_queue.dead', fallbackQueue: 'user_queue', replayedAt };

function deadLetter(
  source: { messageId?: string; contentType?: string; headers?: Record<string, unknown> },
  properties = {},
) {
  const headers = deadLetterHeaders(
    {
      queue: 'user_queue',
      messageId: source.messageId,
      contentType: source.contentType,
      redelivered: false,
      headers: source.headers ?? {},
    },
    { kind: 'poison', reason: 'body is not JSON' },
    1,
  );
  return {
    content: Buffer.from('{"id":1}'),
    properties: {
      messageId: source.messageId ?? 'dead-letter-own-id',
      contentType: source.contentType ?? 'application/octet-stream',
      headers,
      ...properties,
    } as never,
  };
}

test('a replay keeps body, content type, message id and other headers; drops the dead-letter headers; adds the replay headers', (t) => {
  const letter = deadLetter({ messageId: 'm-1', contentType: 'application/json', headers: { 'x-trace': 'abc' } });
  const publication = replayPublication(letter, context);
  t.is(publication.queue, 'user_queue');
  t.is(publication.content, letter.content);
  t.like(publication.options, { persistent: true, mandatory: true, contentType: 'application/json', messageId: 'm-1' });
  t.is(publication.options.timestamp, Math.floor(replayedAt.getTime() / 1000));
  t.deepEqual(publication.options.headers, {
    'x-trace': 'abc',
    [replayHeader.replayedAt]: '2026-11-28T12:00:00.000Z',
    [replayHeader.count]: 1,
    [replayHeader.from]: 'user_queue.dead',
  });
});

test('the replay count goes on from the count the dead letter carries', (t) => {
  const letter = deadLetter({
    messageId: 'm',
    headers: { [replayHeader.count]: 2, [replayHeader.replayedAt]: 'earlier' },
  });
  const headers = replayPublication(letter, context).options.headers;
  t.is(headers[replayHeader.count], 3);
  t.is(headers[replayHeader.replayedAt], '2026-11-28T12:00:00.000Z');
  const forged = deadLetter({ messageId: 'm', headers: { [replayHeader.count]: 'many' } });
  t.is(replayPublication(forged, context).options.headers[replayHeader.count], 1);
});

test('a message that had no content type or id gets none and the dead letter’s own id', (t) => {
  const publication = replayPublication(deadLetter({}), context);
  t.false('contentType' in publication.options);
  t.is(publication.options.messageId, 'dead-letter-own-id');
});

test('without the original-queue header it goes to the queue the broker dead-lettered it from, else the given queue', (t) => {
  const bare = {
    content: Buffer.from('x'),
    properties: { headers: { 'x-first-death-queue': 'card_queue', 'x-delivery-count': 4 } } as never,
  };
  const publication = replayPublication(bare, context);
  t.is(publication.queue, 'card_queue');
  t.false('x-delivery-count' in publication.options.headers, "the quorum queue's delivery count is not the message's");
  const nothing = { content: Buffer.from('x'), properties: { headers: undefined } as never };
  t.is(replayPublication(nothing, context).queue, 'user_queue');
  const other = deadLetter({ messageId: 'm' });
  (other.properties as { headers: Record<string, unknown> }).headers[deadLetterHeader.queue] = 'elsewhere';
  t.is(replayPublication(other, context).queue, 'elsewhere');
});
