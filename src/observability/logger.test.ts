import test from 'ava';
import { Writable } from 'node:stream';
import { createLogger } from './logger.js';

/** A logger writing into memory, and the lines it has written once its batch has left. */
function capture() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger('info', stream);
  const lines = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    return chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  };
  return { logger, lines };
}

test('a line is one JSON object with its level, message, fields and an ISO timestamp', async (t) => {
  const { logger, lines } = capture();
  const before = Date.now();
  logger.info('transition', { machine: 'delivery', from: 'persisting', to: 'acking', ms: 1.5 });
  const after = Date.now();
  const [line] = await lines();
  t.like(line, {
    level: 'info',
    message: 'transition',
    machine: 'delivery',
    from: 'persisting',
    to: 'acking',
    ms: 1.5,
  });
  t.regex(String(line!.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const at = Date.parse(String(line!.timestamp));
  t.true(at >= before && at <= after, `${String(line!.timestamp)} is when the line was logged`);
});

test('a password in any string field is redacted; the other fields are kept as they were', async (t) => {
  const { logger, lines } = capture();
  logger.warn('transition', {
    url: 'amqp://ackstate:s3cret@127.0.0.1:5672',
    error: 'connect failed: postgres://app:hunter2@db/app',
    dsn: 'postgres://db/app?sslmode=require&password=hunter3',
    queue: 'user_queue',
  });
  const [line] = await lines();
  const text = JSON.stringify(line);
  t.false(text.includes('s3cret'), text);
  t.false(text.includes('hunter2'), text);
  t.false(text.includes('hunter3'), text);
  t.is(line!.queue, 'user_queue');
  t.true(String(line!.url).startsWith('amqp://ackstate:'));
});

test('a line that cannot be serialised as it is (a BigInt) is still written, and still redacted', async (t) => {
  const { logger, lines } = capture();
  logger.info('odd', { count: 10n, url: 'amqp://guest:topsecret@127.0.0.1' });
  const [line] = await lines();
  t.is(line!.message, 'odd');
  t.false(JSON.stringify(line).includes('topsecret'));
});

test('lines below the level are not written', async (t) => {
  const { logger, lines } = capture();
  logger.debug('quiet');
  logger.info('loud');
  t.deepEqual(
    (await lines()).map((line) => line.message),
    ['loud'],
  );
});
