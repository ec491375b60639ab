/**
 * The dead-letter tool, run as an operator runs it (`node dist/cli.js dlq …`), against the local broker.
 * Each test has queues of its own, filled with dead letters carrying the headers the runtime writes
 * (deadLetterHeaders), or, in the last test, with real dead letters from a running card service.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import test from 'ava';
import amqplib, { type GetMessage } from 'amqplib';
import { deadLetterHeader, deadLetterHeaders, replayHeader } from '../src/policies/dead-letter.js';
import { peekQueue, publishRaw } from './support/broker.js';
import { amqpUrl, createTestEnvironment, delayQueuesOf, query } from './support/environment.js';
import { repoRoot, startService } from './support/service-process.js';
import { waitUntil } from './support/wait.js';

const cliScript = path.join(repoRoot, 'dist/cli.js');

interface CliResult {
  readonly code: number | string;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs the built tool with stdin not a terminal (/dev/null), as in a script or CI job. */
async function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  const started = Date.now();
  const child = spawn(process.execPath, [cliScript, ...args], {
    env: { PATH: process.env.PATH ?? '', AMQP_URL: amqpUrl, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | string>((resolve) =>
    child.on('close', (exit, signal) => resolve(exit ?? signal ?? 'unknown')),
  );
  clearTimeout(killer);
  return { code, stdout, stderr, ms: Date.now() - started };
}

/**
 * A local port that refuses connections (ECONNREFUSED) for as long as the test runs. A port found free and
 * then closed may be handed to another test's server meanwhile. This one is the local end of a connection
 * kept open to a server of the test's own: nothing listens on it, and while the connection holds it, no
 * listen(0) is given it and a listen on it fails (EADDRINUSE).
 */
async function refusingPort(t: ExecutionContext): Promise<number> {
  const accepted = new Set<Socket>();
  const server = createServer((socket) => accepted.add(socket.on('error', () => {})));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const holder = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => holder.once('connect', resolve).once('error', reject));
  holder.on('error', () => {});
  t.teardown(() => {
    holder.destroy();
    for (const socket of accepted) socket.destroy();
    server.close();
  });
  return holder.localPort!;
}

/** A queue name of this test's own; the queue, its dead-letter queue and any `others` are deleted afterwards. */
function uniqueQueue(t: ExecutionContext, label: string, others: string[] = []): string {
  const queue = `t_dlq_${label}_${randomBytes(4).toString('hex')}`;
  t.teardown(async () => {
    const connection = await amqplib.connect(amqpUrl);
    try {
      const channel = await connection.createChannel();
      for (const name of [queue, `${queue}.dead`, ...delayQueuesOf(queue), ...others]) await channel.deleteQueue(name);
      await channel.close();
    } finally {
      await connection.close();
    }
  });
  return queue;
}

async function queueExists(queue: string): Promise<boolean> {
  const connection = await amqplib.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    try {
      await channel.checkQueue(queue);
      await channel.close();
      return true;
    } catch {
      return false;
    }
  } finally {
    await connection.close();
  }
}

/** Declares a queue as the services do (classic: durable, no arguments). */
const declareQueue = (queue: string) => publishRaw(queue, []);

interface DeadLetterSpec {
  readonly messageId: string;
  readonly body: string | Buffer;
  readonly reason?: string;
  readonly kind?: 'poison' | 'transient';
  readonly attempts?: number;
  readonly originalQueue?: string;
  readonly headers?: Record<string, unknown>;
  readonly deadLetteredAt?: Date;
}

/** Dead letters as the runtime publishes them (src/actors/consumer/consumer.ts): original body, id and content type, and its headers. */
async function putDeadLetters(queue: string, letters: readonly DeadLetterSpec[]): Promise<void> {
  const connection = await amqplib.connect(amqpUrl);
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(`${queue}.dead`, { durable: true });
    for (const letter of letters) {
      const headers = deadLetterHeaders(
        {
          queue: letter.originalQueue ?? queue,
          messageId: letter.messageId,
          contentType: 'application/json',
          redelivered: false,
          headers: letter.headers ?? {},
        },
        { kind: letter.kind ?? 'poison', reason: letter.reason ?? 'body is not JSON: Unexpected token' },
        letter.attempts ?? 1,
        letter.deadLetteredAt,
      );
      channel.sendToQueue(`${queue}.dead`, Buffer.from(letter.body), {
        persistent: true,
        messageId: letter.messageId,
        contentType: 'application/json',
        headers,
      });
    }
    await channel.waitForConfirms();
    await channel.close();
  } finally {
    await connection.close();
  }
}

const idsOf = (messages: readonly GetMessage[]) => messages.map((message) => message.properties.messageId as string);

test('list shows each dead letter with its reason, kind and attempts, and leaves the queue as it was, in order', async (t) => {
  const queue = uniqueQueue(t, 'list');
  await putDeadLetters(queue, [
    { messageId: 'd-1', body: 'this is { not JSON', reason: 'body is not JSON: Unexpected token h' },
    {
      messageId: 'd-2',
      body: '{"id":"u-2"}',
      kind: 'transient',
      attempts: 5,
      reason: 'could not serialize access due to concurrent update',
      deadLetteredAt: new Date(Date.now() - 3_600_000),
    },
    { messageId: 'd-3', body: Buffer.from([0xff, 0x00, 0x10]), reason: 'body is not JSON: bad\nline' },
  ]);
  const before = await peekQueue(`${queue}.dead`);

  const listed = await runCli(['dlq', 'list', queue]);
  t.is(listed.code, 0, listed.stderr);
  const lines = listed.stdout.trimEnd().split('\n');
  t.is(lines[0], `3 dead letters in ${queue}.dead`);
  t.regex(lines[1]!, /^POS +MESSAGE ID +KIND +ATTEMPTS +AGE +SIZE +REPLAYS +REASON$/);
  t.regex(lines[2]!, /^1 +d-1 +poison +1 +\d+s +18 B +0 +body is not JSON: Unexpected token h$/);
  t.regex(lines[3]!, /^2 +d-2 +transient +5 +1h00m +12 B +0 +could not serialize access due to concurrent update$/);
  t.regex(lines[4]!, /^3 +d-3 +poison +1 +\d+s +3 B +0 +body is not JSON: bad\\nline$/);

  const json = await runCli(['dlq', 'list', queue, '--json']);
  t.is(json.code, 0, json.stderr);
  const document = JSON.parse(json.stdout) as { count: number; deadLetters: Record<string, unknown>[] };
  t.is(document.count, 3);
  t.deepEqual(
    document.deadLetters.map(({ position, messageId, failureKind, attempts, originalQueue, size }) => ({
      position,
      messageId,
      failureKind,
      attempts,
      originalQueue,
      size,
    })),
    [
      { position: 1, messageId: 'd-1', failureKind: 'poison', attempts: 1, originalQueue: queue, size: 18 },
      { position: 2, messageId: 'd-2', failureKind: 'transient', attempts: 5, originalQueue: queue, size: 12 },
      { position: 3, messageId: 'd-3', failureKind: 'poison', attempts: 1, originalQueue: queue, size: 3 },
    ],
  );
  t.true((document.deadLetters[1]!.ageSeconds as number) >= 3_600);

  const after = await peekQueue(`${queue}.dead`);
  t.deepEqual(idsOf(after), ['d-1', 'd-2', 'd-3'], 'same dead letters, same order');
  t.deepEqual(
    after.map((message) => message.content.toString('base64')),
    before.map((message) => message.content.toString('base64')),
  );
});

test('list and the other commands never create a missing queue: "no such queue", status 1', async (t) => {
  const queue = uniqueQueue(t, 'missing');
  for (const args of [
    ['list', queue],
    ['show', queue, '1'],
    ['replay', queue, '--all'],
    ['purge', queue, '--yes'],
  ]) {
    const result = await runCli(['dlq', ...args]);
    t.is(result.code, 1, args.join(' '));
    t.regex(result.stderr, new RegExp(`no such queue: ${queue}\\.dead`));
  }
  t.false(await queueExists(`${queue}.dead`));
  t.false(await queueExists(queue));
});

test('show prints one dead letter in full: properties, every header and the body', async (t) => {
  const queue = uniqueQueue(t, 'show');
  await putDeadLetters(queue, [
    {
      messageId: 'json-1',
      body: '{"id":"nope","name":"","email":"x","n":12345678901234567890}',
      headers: { 'x-origin': 'test' },
    },
    { messageId: 'text-2', body: 'plain \u001b[2J text', reason: 'body is not JSON: Unexpected token p' },
  ]);

  const byId = await runCli(['dlq', 'show', queue, 'json-1']);
  t.is(byId.code, 0, byId.stderr);
  t.regex(byId.stdout, new RegExp(`^dead letter 1 of 2 in ${queue}\\.dead\\n`));
  t.regex(byId.stdout, /\nmessage id: +json-1\n/);
  t.regex(byId.stdout, /\n {2}content-type: "application\/json"\n/);
  t.regex(byId.stdout, /\n {2}delivery-mode: 2\n/);
  t.regex(byId.stdout, /\n {2}x-origin: "test"\n/);
  t.regex(byId.stdout, /\n {2}x-ackstate-reason: "body is not JSON: Unexpected token"\n/);
  t.regex(byId.stdout, new RegExp(`\\n {2}x-ackstate-original-queue: "${queue}"\\n`));
  t.regex(byId.stdout, /\n {2}x-ackstate-dead-lettered-at: "\d{4}-\d\d-\d\dT[\d:.]+Z"\n/);
  t.true(
    byId.stdout.endsWith(
      'body (JSON, re-indented):\n{\n  "id": "nope",\n  "name": "",\n  "email": "x",\n  "n": 12345678901234567890\n}\n',
    ),
    byId.stdout,
  );

  const byPosition = await runCli(['dlq', 'show', queue, '2']);
  t.is(byPosition.code, 0, byPosition.stderr);
  t.regex(byPosition.stdout, /\nmessage id: +text-2\n/);
  t.true(byPosition.stdout.endsWith('body (UTF-8 text, control characters escaped):\nplain \\u001b[2J text\n'));
  t.false(byPosition.stdout.includes('\u001b'), 'no raw escape character reaches the terminal');

  const json = await runCli(['dlq', 'show', queue, 'text-2', '--json']);
  t.is(json.code, 0, json.stderr);
  const [shown] = JSON.parse(json.stdout) as { body: unknown; headers: Record<string, unknown> }[];
  t.deepEqual(shown!.body, { encoding: 'utf-8', data: 'plain \u001b[2J text', json: false });
  t.is(shown!.headers[deadLetterHeader.attempts], 1);

  const missing = await runCli(['dlq', 'show', queue, 'no-such-id']);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /no dead letter with message id or position no-such-id/);
  t.deepEqual(idsOf(await peekQueue(`${queue}.dead`)), ['json-1', 'text-2'], 'show removes nothing');
});

test('replay --id moves exactly that dead letter to its queue, with replay headers; --limit takes from the head', async (t) => {
  const queue = uniqueQueue(t, 'replayid');
  await declareQueue(queue);
  await putDeadLetters(queue, [
    { messageId: 'r-1', body: '{"n":1}' },
    { messageId: 'r-2', body: '{"n":2}', kind: 'transient', attempts: 5, headers: { 'x-trace': 'abc' } },
    { messageId: 'r-3', body: '{"n":3}' },
  ]);
  const startedAt = Date.now();

  const replayed = await runCli(['dlq', 'replay', queue, '--id', 'r-2']);
  t.is(replayed.code, 0, replayed.stderr);
  t.regex(
    replayed.stdout,
    new RegExp(`^replayed 1 of 1 selected dead letter from ${queue}\\.dead at \\S+Z \\(to ${queue}: 1\\)\\n$`),
  );
  t.is(replayed.stderr, '');

  const [republished, ...more] = await peekQueue(queue);
  t.is(more.length, 0);
  t.is(republished!.content.toString(), '{"n":2}');
  t.is(republished!.properties.messageId, 'r-2');
  t.is(republished!.properties.contentType, 'application/json');
  t.is(republished!.properties.deliveryMode, 2);
  const headers = republished!.properties.headers ?? {};
  t.is(headers['x-trace'], 'abc', 'original headers are kept');
  for (const name of Object.values(deadLetterHeader)) t.false(name in headers, `${name} is removed`);
  t.is(headers[replayHeader.count], 1);
  t.is(headers[replayHeader.from], `${queue}.dead`);
  const replayedAt = Date.parse(String(headers[replayHeader.replayedAt]));
  t.true(replayedAt >= startedAt - 1_000 && replayedAt <= Date.now(), String(headers[replayHeader.replayedAt]));
  t.deepEqual(idsOf(await peekQueue(`${queue}.dead`)), ['r-1', 'r-3'], 'only r-2 left, the others in order');

  const first = await runCli(['dlq', 'replay', queue, '--limit', '1']);
  t.is(first.code, 0, first.stderr);
  t.deepEqual(idsOf(await peekQueue(queue)), ['r-2', 'r-1']);
  t.deepEqual(idsOf(await peekQueue(`${queue}.dead`)), ['r-3']);

  const unknown = await runCli(['dlq', 'replay', queue, '--id', 'nobody']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, new RegExp(`not found in ${queue}\\.dead: nobody`));
  t.deepEqual(idsOf(await peekQueue(`${queue}.dead`)), ['r-3']);
});

test('replay --all moves every dead letter, in order, to the queue each names, with progress for many', async (t) => {
  const queue = uniqueQueue(t, 'replayall');
  const otherQueue = `${queue}_other`;
  t.teardown(async () => {
    const connection = await amqplib.connect(amqpUrl);
    await (await connection.createChannel()).deleteQueue(otherQueue);
    await connection.close();
  });
  await declareQueue(queue);
  await declareQueue(otherQueue);
  const ids = Array.from({ length: 120 }, (_, index) => `all-${index}`);
  await putDeadLetters(queue, [
    { messageId: 'elsewhere', body: '{}', originalQueue: otherQueue },
    {
      messageId: 'again',
      body: '{}',
      headers: { [replayHeader.count]: 2, [replayHeader.replayedAt]: '2026-01-01T00:00:00.000Z' },
    },
    ...ids.map((messageId) => ({ messageId, body: JSON.stringify({ messageId }) })),
  ]);

  const replayed = await runCli(['dlq', 'replay', queue, '--all']);
  t.is(replayed.code, 0, replayed.stderr);
  t.true(replayed.stderr.includes('replayed 100/122\n'), 'progress on stderr');
  t.regex(replayed.stderr, /^(replayed \d+\/122\n)+$/);
  t.regex(
    replayed.stdout,
    new RegExp(
      `^replayed 122 of 122 selected dead letters from ${queue}\\.dead at \\S+ \\(to ${otherQueue}: 1, ${queue}: 121\\)\\n$`,
    ),
  );

  t.deepEqual(await peekQueue(`${queue}.dead`), []);
  const main = await peekQueue(queue);
  t.deepEqual(idsOf(main), ['again', ...ids]);
  t.is(main[0]!.properties.headers?.[replayHeader.count], 3, 'the count goes on from earlier replays');
  t.is(main[1]!.properties.headers?.[replayHeader.count], 1);
  t.deepEqual(idsOf(await peekQueue(otherQueue)), ['elsewhere']);
});

test('replay to a queue that does not exist leaves the dead letters in place, in order, and fails', async (t) => {
  const queue = uniqueQueue(t, 'unroutable');
  await putDeadLetters(queue, [
    { messageId: 'u-1', body: '{"n":1}' },
    { messageId: 'u-2', body: '{"n":2}' },
  ]);
  t.false(await queueExists(queue));

  const replayed = await runCli(['dlq', 'replay', queue, '--all']);
  t.is(replayed.code, 1);
  t.regex(
    replayed.stderr,
    new RegExp(`not replayed \\(left in ${queue}\\.dead\\): position 1, message id u-1, to ${queue}: unroutable`),
  );
  t.regex(replayed.stderr, /position 2, message id u-2/);
  t.regex(replayed.stdout, /^replayed 0 of 2 selected dead letters/);
  t.deepEqual(idsOf(await peekQueue(`${queue}.dead`)), ['u-1', 'u-2']);
  t.false(await queueExists(queue), 'the target queue was not created');
});

/** Runs the tool on a pseudo-terminal (util-linux `script`), typing `input` into it. */
async function runCliOnTerminal(
  args: readonly string[],
  input: string,
): Promise<{ code: number | string; output: string }> {
  const command = [process.execPath, cliScript, ...args].map((word) => `'${word}'`).join(' ');
  const child = spawn('script', ['--quiet', '--return', '--command', command, '/dev/null'], {
    env: { PATH: process.env.PATH ?? '', AMQP_URL: amqpUrl },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stdin.end(input);
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | string>((resolve) =>
    child.on('close', (exit, signal) => resolve(exit ?? signal ?? 'unknown')),
  );
  clearTimeout(killer);
  return { code, output };
}

test('purge refuses without --yes when stdin is not a terminal, asks on a terminal, and with --yes empties the queue', async (t) => {
  const queue = uniqueQueue(t, 'purge');
  await putDeadLetters(queue, [
    { messageId: 'p-1', body: '1' },
    { messageId: 'p-2', body: '2' },
    { messageId: 'p-3', body: '3' },
  ]);

  const refused = await runCli(['dlq', 'purge', queue]);
  t.is(refused.code, 2);
  t.regex(refused.stderr, /refusing to purge .*stdin is not a terminal.*--yes/);
  t.is(refused.stdout, '');
  t.deepEqual(idsOf(await peekQueue(`${queue}.dead`)), ['p-1', 'p-2', 'p-3']);

  const wrongAnswer = await runCliOnTerminal(['dlq', 'purge', queue], `${queue}\n`);
  t.is(wrongAnswer.code, 2, wrongAnswer.output);
  t.regex(wrongAnswer.output, new RegExp(`This deletes the 3 dead letter\\(s\\) now in ${queue}\\.dead`));
  t.regex(wrongAnswer.output, /not confirmed; nothing purged/);
  t.deepEqual(idsOf(await peekQueue(`${queue}.dead`)), ['p-1', 'p-2', 'p-3']);

  const confirmed = await runCliOnTerminal(['dlq', 'purge', queue], `${queue}.dead\n`);
  t.is(confirmed.code, 0, confirmed.output);
  t.regex(confirmed.output, new RegExp(`purged 3 dead letters from ${queue}\\.dead`));
  t.deepEqual(await peekQueue(`${queue}.dead`), []);

  await putDeadLetters(queue, [{ messageId: 'p-4', body: '4' }]);
  const purged = await runCli(['dlq', 'purge', queue, '--yes']);
  t.is(purged.code, 0, purged.stderr);
  t.is(purged.stdout, `purged 1 dead letter from ${queue}.dead\n`);
  t.deepEqual(await peekQueue(`${queue}.dead`), []);
  t.true(await queueExists(`${queue}.dead`), 'purged, not deleted');
});

test('a broker that takes the connection but never answers is given up after the connect timeout', async (t) => {
  const accepted = new Set<Socket>();
  const silent = createServer((socket) => accepted.add(socket.on('error', () => {})));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of accepted) socket.destroy();
    silent.close();
  });
  const { port } = silent.address() as AddressInfo;
  const result = await runCli(['dlq', 'list', 'user_queue', '--url', `amqp://guest:guest@127.0.0.1:${port}`]);
  t.is(result.code, 1);
  t.regex(
    result.stderr,
    /cannot connect to the broker \(amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+: no answer within 10000 ms\)/,
  );
  t.true(result.ms < 20_000, `took ${result.ms} ms`);
});

test('bad arguments print the usage on stderr with status 2; --help lists the commands', async (t) => {
  const help = await runCli(['--help']);
  t.is(help.code, 0);
  for (const command of ['list', 'show', 'replay', 'purge']) t.regex(help.stdout, new RegExp(`dlq ${command} <queue>`));
  const replayHelp = await runCli(['dlq', 'replay', '--help']);
  t.regex(replayHelp.stdout, /inbox/);
  for (const args of [[], ['dlq'], ['dlq', 'list'], ['dlq', 'replay', 'q'], ['dlq', 'list', 'q', '--nope']]) {
    const result = await runCli(args);
    t.is(result.code, 2, args.join(' '));
    t.regex(result.stderr, /^ackstate: .*\n\nUsage: ackstate/, args.join(' '));
    t.is(result.stdout, '');
  }
});

test('no password from AMQP_URL or --url is ever printed, and an unreachable broker fails fast with status 1', async (t) => {
  const password = `pw${randomBytes(12).toString('hex')}`;
  const closedPort = await refusingPort(t);
  const printed = (result: CliResult) => `${result.stdout}\n${result.stderr}`;
  const absent = (result: CliResult, label: string) => {
    t.false(printed(result).includes(password), `${label}: ${printed(result)}`);
    t.false(printed(result).includes(encodeURIComponent(password).slice(2)), label);
  };

  const refused = await runCli(['dlq', 'list', 'user_queue'], {
    AMQP_URL: `amqp://guest:${password}@127.0.0.1:${closedPort}`,
  });
  t.is(refused.code, 1);
  t.regex(
    refused.stderr,
    new RegExp(`cannot connect to the broker \\(amqp://guest:\\*\\*\\*@127\\.0\\.0\\.1:${closedPort}: .*ECONNREFUSED`),
  );
  t.true(refused.ms < 15_000, `took ${refused.ms} ms`);
  absent(refused, 'refused');

  const wrongPassword = await runCli([
    'dlq',
    'replay',
    'user_queue',
    '--all',
    '--url',
    `amqp://guest:${password}@127.0.0.1:5672`,
  ]);
  t.is(wrongPassword.code, 1);
  t.regex(wrongPassword.stderr, /ACCESS.REFUSED/);
  absent(wrongPassword, 'wrong password');

  const list = `amqp://a:${password}@127.0.0.1:${closedPort}, amqp://guest:${password}@127.0.0.1:5672`;
  const failover = await runCli(['dlq', 'show', 'user_queue', '1'], { AMQP_URL: list });
  t.is(failover.code, 1);
  t.regex(failover.stderr, /a:\*\*\*@.*ECONNREFUSED.*guest:\*\*\*@.*ACCESS.REFUSED/);
  absent(failover, 'several URLs');

  const malformed = await runCli([
    'dlq',
    'purge',
    'user_queue',
    '--yes',
    '--url',
    `http://guest:${password}@127.0.0.1`,
  ]);
  t.is(malformed.code, 2);
  t.regex(malformed.stderr, /--url: must be/);
  absent(malformed, 'malformed');
});

test('real dead letters from the running card service: listed, shown, and processed once replayed after the cause passed', async (t) => {
  // The first two persists fail (a failpoint standing in for a passing outage): with MAX_ATTEMPTS=2 the
  // valid user is dead-lettered as transient. The not-JSON message is dead-lettered as poison at once.
  // Three failures: two dead-letter the user; the third meets its replay, which has attempts of its own left.
  const environment = createTestEnvironment('dlqsystem', { MAX_ATTEMPTS: '2', FAILPOINTS: 'card.persist=error*3' });
  t.teardown(() => environment.cleanUp());
  const service = await startService(environment.env, 'card');
  t.teardown(() => service.stop());
  const deadQueue = `${environment.userQueue}.dead`;
  const userId = randomUUID();
  const user = { id: userId, name: 'Ada', email: `${userId}@example.com`, created_at: new Date().toISOString() };

  await publishRaw(environment.userQueue, ['this is { not JSON'], { messageId: 'real-poison' });
  await waitUntil(async () => (await peekQueue(deadQueue)).length === 1, {
    what: 'the poison message in the dead-letter queue',
  });
  await publishRaw(environment.userQueue, [JSON.stringify(user)], {
    messageId: 'real-user',
    contentType: 'application/json',
  });
  await waitUntil(async () => (await peekQueue(deadQueue)).length === 2, {
    what: 'the failing user in the dead-letter queue',
  });

  const cli = (...args: string[]) => runCli(['dlq', ...args], { AMQP_URL: environment.env.AMQP_URL! });
  const listed = await cli('list', environment.userQueue);
  t.is(listed.code, 0, listed.stderr);
  const [, , poisonLine, userLine] = listed.stdout.trimEnd().split('\n');
  t.regex(poisonLine!, /^1 +real-poison +poison +1 +\d+s +18 B +0 +body is not JSON/);
  t.regex(userLine!, /^2 +real-user +transient +2 +\d+s +\d+ B +0 +.*failpoint card\.persist/);
  t.deepEqual(idsOf(await peekQueue(deadQueue)), ['real-poison', 'real-user']);

  const shown = await cli('show', environment.userQueue, 'real-user');
  t.is(shown.code, 0, shown.stderr);
  t.true(shown.stdout.includes(`  "id": "${userId}",`));
  t.regex(shown.stdout, new RegExp(`\\n {2}x-ackstate-original-queue: "${environment.userQueue}"\\n`));

  t.deepEqual(await query(environment.cardDbUrl, 'SELECT id FROM cards WHERE user_id = $1', [userId]), []);
  const replayed = await cli('replay', environment.userQueue, '--id', 'real-user');
  t.is(replayed.code, 0, replayed.stderr);
  await waitUntil(
    async () => (await query(environment.cardDbUrl, 'SELECT id FROM cards WHERE user_id = $1', [userId])).length === 1,
    { what: 'the card of the replayed user' },
  );
  await waitUntil(
    () => service.logs.some((line) => line.messageId === 'real-user' && line.to === 'done' && line.outcome === 'acked'),
    { what: 'the replayed user acked by the card service' },
  );
  const userSteps = service.logs
    .filter((line) => line.messageId === 'real-user' && line.to === 'done')
    .map((line) => line.outcome);
  t.deepEqual(
    userSteps,
    ['retried', 'dead-lettered', 'retried', 'acked'],
    'the replay failed once more and was retried, not dead-lettered',
  );

  // The poison's cause still holds: replayed, it comes back with its replay count.
  const poisonReplay = await cli('replay', environment.userQueue, '--id', 'real-poison');
  t.is(poisonReplay.code, 0, poisonReplay.stderr);
  const [again] = await waitUntil(
    async () => {
      const messages = await peekQueue(deadQueue);
      return messages.length === 1 && messages[0]!.properties.headers?.[replayHeader.count] === 1
        ? messages
        : undefined;
    },
    { what: 'the replayed poison message back in the dead-letter queue, counted' },
  );
  t.is(again!.properties.messageId, 'real-poison');
  t.regex(String(again!.properties.headers?.[deadLetterHeader.reason]), /not JSON/);
  t.is((await query(environment.cardDbUrl, 'SELECT count(*)::int AS n FROM cards'))[0]?.n, 1);
});
