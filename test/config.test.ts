import { spawn } from 'node:child_process';
import test from 'ava';
import { ConfigError, loadConfig } from '../src/app/config.js';
import { mainScript } from './support/service-process.js';

test('the defaults run against the local broker and database, with the seed queue names', (t) => {
  const config = loadConfig({});
  t.is(config.AMQP_URL, 'amqp://guest:guest@127.0.0.1:5672');
  t.is(config.USER_QUEUE, 'user_queue');
  t.is(config.CARD_QUEUE, 'card_queue');
  t.is(config.HTTP_PORT, 3000);
  t.true(config.PREFETCH > 1);
});

const badSettings: [string, string][] = [
  ['PREFETCH', 'many'],
  ['PREFETCH', '0'],
  ['HTTP_PORT', '70000'],
  ['AMQP_URL', 'http://broker'],
  ['USER_DB_URL', 'mysql://db/x'],
  ['LOG_LEVEL', 'loud'],
  ['USER_QUEUE', 'has space'],
  ['MAX_ATTEMPTS', '-1'],
];

for (const [variable, value] of badSettings) {
  test(`${variable}=${value} is refused with a message naming ${variable}`, (t) => {
    const error = t.throws(() => loadConfig({ [variable]: value }), { instanceOf: ConfigError });
    t.regex(error!.message, new RegExp(variable));
  });
}

test('several broker URLs, separated by commas, are accepted', (t) => {
  t.notThrows(() => loadConfig({ AMQP_URL: 'amqp://a:b@h1:5672,amqps://a:b@h2:5671' }));
});

test('a bad setting stops the process at start-up with the variable named, and prints no password', async (t) => {
  const child = spawn(process.execPath, [mainScript], {
    env: { PATH: process.env.PATH ?? '', PREFETCH: 'lots', AMQP_URL: 'amqp://app:hunter2@127.0.0.1:5672' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  t.is(code, 1);
  t.regex(output, /PREFETCH/);
  t.false(output.includes('hunter2'));
});

test('an unknown mode is refused with the usage', async (t) => {
  const child = spawn(process.execPath, [mainScript, 'cards'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.on('data', (chunk) => (output += chunk));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  t.is(code, 2);
  t.regex(output, /usage: node dist\/main\.js \[both\|user\|card\]/);
});

test('ADMIN_PORT is optional and checked; ADMIN_HOST defaults to loopback', (t) => {
  const config = loadConfig({});
  t.is(config.ADMIN_PORT, undefined);
  t.is(config.ADMIN_HOST, '127.0.0.1');
  t.is(loadConfig({ ADMIN_PORT: '9100' }).ADMIN_PORT, 9100);
  t.regex(t.throws(() => loadConfig({ ADMIN_PORT: '99999' }), { instanceOf: ConfigError })!.message, /ADMIN_PORT/);
});

test('OUTBOX_MAX_POLL_MS is optional (the runtime then picks 5 s or OUTBOX_POLL_MS) and not below OUTBOX_POLL_MS', (t) => {
  t.is(loadConfig({}).OUTBOX_MAX_POLL_MS, undefined);
  t.like(loadConfig({ OUTBOX_POLL_MS: '200', OUTBOX_MAX_POLL_MS: '200' }), {
    OUTBOX_POLL_MS: 200,
    OUTBOX_MAX_POLL_MS: 200,
  });
  t.regex(
    t.throws(() => loadConfig({ OUTBOX_POLL_MS: '2000', OUTBOX_MAX_POLL_MS: '1000' }), { instanceOf: ConfigError })!
      .message,
    /OUTBOX_POLL_MS must not exceed OUTBOX_MAX_POLL_MS/,
  );
  t.regex(
    t.throws(() => loadConfig({ OUTBOX_MAX_POLL_MS: '0' }), { instanceOf: ConfigError })!.message,
    /OUTBOX_MAX_POLL_MS/,
  );
});

test('QUEUE_TYPE defaults to classic, the seed-compatible queues, and accepts quorum', (t) => {
  t.is(loadConfig({}).QUEUE_TYPE, 'classic');
  t.is(loadConfig({ QUEUE_TYPE: 'quorum' }).QUEUE_TYPE, 'quorum');
  t.regex(t.throws(() => loadConfig({ QUEUE_TYPE: 'stream' }), { instanceOf: ConfigError })!.message, /QUEUE_TYPE/);
});

test('QUORUM_DELIVERY_LIMIT defaults well above MAX_ATTEMPTS', (t) => {
  const config = loadConfig({ QUEUE_TYPE: 'quorum' });
  t.true(config.QUORUM_DELIVERY_LIMIT >= 10 * config.MAX_ATTEMPTS);
  t.regex(
    t.throws(() => loadConfig({ QUORUM_DELIVERY_LIMIT: 'ten' }), { instanceOf: ConfigError })!.message,
    /QUORUM_DELIVERY_LIMIT/,
  );
});

test('with quorum queues, a delivery limit not above MAX_ATTEMPTS is refused with a clear message', (t) => {
  for (const limit of ['5', '4']) {
    const error = t.throws(
      () => loadConfig({ QUEUE_TYPE: 'quorum', MAX_ATTEMPTS: '5', QUORUM_DELIVERY_LIMIT: limit }),
      {
        instanceOf: ConfigError,
      },
    );
    t.regex(error!.message, /QUORUM_DELIVERY_LIMIT must be greater than MAX_ATTEMPTS/);
  }
  t.is(loadConfig({ QUEUE_TYPE: 'quorum', MAX_ATTEMPTS: '5', QUORUM_DELIVERY_LIMIT: '6' }).QUORUM_DELIVERY_LIMIT, 6);
  t.is(loadConfig({ QUEUE_TYPE: 'quorum', MAX_ATTEMPTS: '200', QUORUM_DELIVERY_LIMIT: '1000' }).MAX_ATTEMPTS, 200);
});

test('with classic queues the delivery limit is not used, so MAX_ATTEMPTS may exceed it', (t) => {
  t.notThrows(() => loadConfig({ MAX_ATTEMPTS: '1000' }));
  t.notThrows(() => loadConfig({ QUEUE_TYPE: 'classic', MAX_ATTEMPTS: '5', QUORUM_DELIVERY_LIMIT: '3' }));
});

test('the retention settings default to a week, a day and a minute; a window not longer than the retries is refused', (t) => {
  t.like(loadConfig({}), {
    DEDUPLICATION_WINDOW_MS: 7 * 86_400_000,
    SENT_OUTBOX_GRACE_MS: 86_400_000,
    RETENTION_INTERVAL_MS: 60_000,
  });
  const error = t.throws(
    () => loadConfig({ DEDUPLICATION_WINDOW_MS: '150000', MAX_ATTEMPTS: '5', RETRY_MAX_MS: '30000' }),
    { instanceOf: ConfigError },
  );
  t.regex(error!.message, /DEDUPLICATION_WINDOW_MS must be longer than MAX_ATTEMPTS × RETRY_MAX_MS/);
  t.is(loadConfig({ DEDUPLICATION_WINDOW_MS: '150001' }).DEDUPLICATION_WINDOW_MS, 150_001);
  t.regex(
    t.throws(() => loadConfig({ SENT_OUTBOX_GRACE_MS: '-1' }), { instanceOf: ConfigError })!.message,
    /SENT_OUTBOX_GRACE_MS/,
  );
});

test('DELAYED_RETRY_SECONDS lists the delay levels in seconds; none keeps every retry in process', (t) => {
  t.deepEqual(loadConfig({}).DELAYED_RETRY_SECONDS, [10, 60, 300]);
  t.is(loadConfig({}).IMMEDIATE_RETRIES, 3);
  t.deepEqual(loadConfig({ DELAYED_RETRY_SECONDS: '5,30' }).DELAYED_RETRY_SECONDS, [5, 30]);
  t.deepEqual(loadConfig({ DELAYED_RETRY_SECONDS: 'none' }).DELAYED_RETRY_SECONDS, []);
  for (const bad of ['0', '5,,30', 'ten', '86401', '1.5']) {
    t.throws(() => loadConfig({ DELAYED_RETRY_SECONDS: bad }), { message: /DELAYED_RETRY_SECONDS/ }, bad);
  }
});

test('DB_PREPARED_STATEMENTS defaults to true and takes only true or false', (t) => {
  t.true(loadConfig({}).DB_PREPARED_STATEMENTS);
  t.false(loadConfig({ DB_PREPARED_STATEMENTS: 'false' }).DB_PREPARED_STATEMENTS);
  t.true(loadConfig({ DB_PREPARED_STATEMENTS: 'true' }).DB_PREPARED_STATEMENTS);
  const error = t.throws(() => loadConfig({ DB_PREPARED_STATEMENTS: 'no' }), { instanceOf: ConfigError });
  t.regex(error!.message, /DB_PREPARED_STATEMENTS: must be true or false/);
});
