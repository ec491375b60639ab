// A batch's transaction against a real database when some handlers throw: the batch runs again with a
// savepoint around each handler, the others commit (their effects, inbox rows and outbox rows), and the
// failing ones are set aside with nothing of theirs left behind; an outage's error fails the whole batch.
import test, { type ExecutionContext } from 'ava';
import type { Transaction } from 'kysely';
import { z } from 'zod';
import { defineConsumer, type Consumer } from '../src/api/consumer.js';
import { persistBatch } from '../src/actors/consumer/batch-transaction.js';
import { DeclaredDestinations } from '../src/actors/outbox/outgoing.js';
import { createFailpoints } from '../src/failpoints.js';
import { PersistFailure, type Decoded, type Delivery } from '../src/machines/delivery.js';
import { query } from './support/environment.js';
import { messagingDatabase } from './support/messaging-database.js';

interface NotesDatabase {
  notes: { n: number };
}

const note = z.object({
  n: z.number(),
  fails: z.enum(['no', 'early', 'bug', 'constraint', 'outage', 'unawaited', 'late']),
});
type Note = z.infer<typeof note>;

/** An error as the pg driver gives it for a terminated connection: an outage, not the message's. */
const connectionFailure = () =>
  Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });

async function setUp(t: ExecutionContext, label: string) {
  const { db, url } = await messagingDatabase(t, label);
  await query(url, 'CREATE TABLE notes (n integer PRIMARY KEY)');
  await query(url, 'INSERT INTO notes (n) VALUES (-1)');
  const consumer = defineConsumer({
    queue: 'notes',
    schema: note,
    key: (message) => `note:${message.n}`,
    publishes: [{ queue: 'noted' }],
    async handle(trx: Transaction<NotesDatabase>, message, out) {
      out.publish({ queue: 'noted' }, { n: message.n });
      if (message.fails === 'early') throw new Error(`no price for ${message.n}, found before writing`);
      const write = () => trx.insertInto('notes').values({ n: message.n }).execute();
      if (message.fails === 'unawaited') {
        void write().catch(() => {});
        throw new Error(`no price for ${message.n}, thrown while its write was under way`);
      }
      if (message.fails === 'late') {
        // A turn after the handler threw, while the batch is still running the next handler's statement.
        setImmediate(() => void write().catch(() => {}));
        throw new Error(`no price for ${message.n}, and a write started after the throw`);
      }
      if (message.fails === 'constraint') {
        await trx.insertInto('notes').values({ n: -1 }).execute(); // a unique violation: the transaction is aborted
      }
      await trx.insertInto('notes').values({ n: message.n }).execute();
      if (message.fails === 'bug') throw new Error(`no price for ${message.n}`);
      if (message.fails === 'outage') throw connectionFailure();
      return message.n;
    },
  });
  const options = {
    db,
    // As the runtime holds it: the service's tables erased.
    consumer: consumer as unknown as Consumer<unknown>,
    destinations: new DeclaredDestinations({ queues: ['notes', 'noted'] }),
    failpoints: createFailpoints(''),
    service: 'notes',
    leaseMs: 30_000,
  };
  const run = (messages: readonly Note[]) => {
    const deliveries: Delivery[] = messages.map((message, index) => ({
      queue: 'notes',
      deliveryTag: index + 1,
      redelivered: false,
      messageId: undefined,
      contentType: 'application/json',
      headers: {},
      content: new TextEncoder().encode(JSON.stringify(message)),
    }));
    const decoded: Decoded[] = messages.map((message) => ({ key: `note:${message.n}`, message }));
    return persistBatch(options, deliveries, decoded);
  };
  const rows = async (sqlText: string) => (await query<{ v: string }>(url, sqlText)).map((row) => row.v);
  const state = async () => ({
    notes: await rows('SELECT n::text AS v FROM notes WHERE n >= 0 ORDER BY n'),
    inbox: await rows('SELECT message_key AS v FROM inbox ORDER BY message_key'),
    outbox: await rows(`SELECT body::json->>'n' AS v FROM outbox ORDER BY 1`),
    attempts: await rows(`SELECT message_key || ' ' || attempts AS v FROM delivery_attempts ORDER BY 1`),
  });
  return { run, state };
}

test('handlers that throw before writing: the others commit in the same pass, those are set aside with an attempt counted', async (t) => {
  const { run, state } = await setUp(t, 'set_aside');

  const persisted = await run([
    { n: 20, fails: 'no' },
    { n: 21, fails: 'early' },
    { n: 22, fails: 'no' },
    { n: 23, fails: 'early' },
  ]);

  t.deepEqual(
    persisted.setAside.map(({ index, recorded }) => [index, recorded.attempts, recorded.reasons]),
    [
      [1, 1, ['no price for 21, found before writing']],
      [3, 1, ['no price for 23, found before writing']],
    ],
  );
  t.deepEqual(persisted.results, [20, undefined, 22, undefined]);
  t.deepEqual(await state(), {
    notes: ['20', '22'],
    inbox: ['note:20', 'note:22'],
    outbox: ['20', '22'],
    attempts: ['note:21 1', 'note:23 1'],
  });

  const again = await run([
    { n: 20, fails: 'no' },
    { n: 21, fails: 'early' },
    { n: 23, fails: 'early' },
  ]);
  t.deepEqual(again.duplicates, [true, false, false]);
  t.deepEqual(
    again.setAside.map(({ index, recorded }) => [index, recorded.attempts, recorded.reasons.length]),
    [
      [1, 2, 2],
      [2, 2, 2],
    ],
    'a second failure counts a second attempt, with both reasons',
  );
});

test('handlers that throw after writing: the batch runs again without them, a savepoint around each handler after the first', async (t) => {
  const { run, state } = await setUp(t, 'isolate');

  const persisted = await run([
    { n: 0, fails: 'no' },
    { n: 1, fails: 'bug' },
    { n: 2, fails: 'no' },
    { n: 3, fails: 'constraint' },
    { n: 4, fails: 'no' },
  ]);

  t.deepEqual(
    persisted.setAside.map((each) => [each.index, String(each.error)]),
    [
      [1, 'Error: no price for 1'],
      [3, 'error: duplicate key value violates unique constraint "notes_pkey"'],
    ],
  );
  t.deepEqual(persisted.duplicates, [false, false, false, false, false]);
  t.deepEqual(persisted.results, [0, undefined, 2, undefined, 4]);
  t.is(persisted.outgoing.length, 3, 'only the committed handlers publish');
  t.deepEqual(await state(), {
    notes: ['0', '2', '4'],
    inbox: ['note:0', 'note:2', 'note:4'],
    outbox: ['0', '2', '4'],
    attempts: ['note:1 1', 'note:3 1'],
  });
});

test('a failing message delivered twice in one batch is set aside both times: its repeat is not taken for a duplicate', async (t) => {
  const { run, state } = await setUp(t, 'isolate_repeat');

  const persisted = await run([
    { n: 5, fails: 'bug' },
    { n: 6, fails: 'no' },
    { n: 5, fails: 'bug' },
  ]);

  t.deepEqual(
    persisted.setAside.map((each) => each.index),
    [0, 2],
  );
  t.deepEqual(persisted.duplicates, [false, false, false]);
  t.deepEqual(await state(), { notes: ['6'], inbox: ['note:6'], outbox: ['6'], attempts: ['note:5 1'] });
});

test("an outage's error in one handler fails the whole batch: nothing commits, nothing is set aside", async (t) => {
  const { run, state } = await setUp(t, 'isolate_outage');

  const error = await t.throwsAsync(
    run([
      { n: 7, fails: 'bug' },
      { n: 8, fails: 'no' },
      { n: 9, fails: 'outage' },
    ]),
  );

  t.true(error instanceof PersistFailure);
  t.is((error as PersistFailure).culprit, undefined, 'the failure is not one message’s');
  const transaction = (error as PersistFailure).transaction as { rollback(): Promise<void> } | undefined;
  await transaction?.rollback();
  t.deepEqual(await state(), { notes: [], inbox: [], outbox: [], attempts: [] });
});

test('a batch without a failing handler commits in one pass and sets nothing aside', async (t) => {
  const { run, state } = await setUp(t, 'isolate_clean');

  const persisted = await run([
    { n: 10, fails: 'no' },
    { n: 11, fails: 'no' },
  ]);

  t.deepEqual(persisted.setAside, []);
  t.deepEqual(await state(), {
    notes: ['10', '11'],
    inbox: ['note:10', 'note:11'],
    outbox: ['10', '11'],
    attempts: [],
  });
});

test('a handler that throws while its write is under way, or starts one after throwing, did write: the batch runs again without it', async (t) => {
  const { run, state } = await setUp(t, 'isolate_unawaited');

  const unawaited = await run([
    { n: 30, fails: 'no' },
    { n: 31, fails: 'unawaited' },
    { n: 32, fails: 'no' },
  ]);
  const late = await run([
    { n: 33, fails: 'late' },
    { n: 34, fails: 'no' },
    { n: 35, fails: 'no' },
  ]);

  t.deepEqual(
    [...unawaited.setAside, ...late.setAside].map((each) => [each.index, String(each.error)]),
    [
      [1, 'Error: no price for 31, thrown while its write was under way'],
      [0, 'Error: no price for 33, and a write started after the throw'],
    ],
  );
  t.deepEqual(
    [unawaited.results, late.results],
    [
      [30, undefined, 32],
      [undefined, 34, 35],
    ],
  );
  t.deepEqual(await state(), {
    notes: ['30', '32', '34', '35'],
    inbox: ['note:30', 'note:32', 'note:34', 'note:35'],
    outbox: ['30', '32', '34', '35'],
    attempts: ['note:31 1', 'note:33 1'],
  });
});
