// A publish right after a commit that fails defers its outbox rows and wakes the relay (which may be idling at
// its longest interval); a failed publish of rows the relay claimed itself does not.
import { randomUUID } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import amqp from 'amqp-connection-manager';
import { ConfirmPublisher } from '../src/actors/broker/publisher.js';
import { Outbox } from '../src/actors/outbox/outbox-relay.js';
import { insertOutbox, type OutgoingMessage } from '../src/db/messaging-queries.js';
import { query } from './support/environment.js';
import { messagingDatabase } from './support/messaging-database.js';

const topology = { queues: [] };

async function outboxWithoutBroker(t: ExecutionContext, label: string) {
  const { db, url } = await messagingDatabase(t, label);
  // Nothing listens on port 1: the publisher never connects, so every publish fails at once.
  const connection = amqp.connect(['amqp://guest:guest@127.0.0.1:1'], { reconnectTimeInSeconds: 60 });
  connection.on('connectFailed', () => {});
  const publisher = new ConfirmPublisher(connection, topology, 1_000);
  t.teardown(async () => {
    await publisher.close();
    await connection.close();
  });
  let wakes = 0;
  const outbox = new Outbox(db, publisher, { leaseMs: 60_000, whenDeferred: () => (wakes += 1) });
  const row: OutgoingMessage = { id: randomUUID(), exchange: '', routingKey: 'nowhere', body: '{}', headers: null };
  const trx = await db.startTransaction().execute();
  await insertOutbox(trx, [row], 60_000);
  await trx.commit().execute();
  const rowState = async () =>
    (
      await query<{ last_error: string | null; sent: boolean }>(
        url,
        'SELECT last_error, sent_at IS NOT NULL AS sent FROM outbox WHERE id = $1',
        [row.id],
      )
    )[0];
  return { outbox, row, rowState, wakes: () => wakes };
}

test('a failed publish after a commit defers the row with its reason and wakes the relay once', async (t) => {
  const { outbox, row, rowState, wakes } = await outboxWithoutBroker(t, 'defer-now');
  await t.throwsAsync(outbox.publish([row]), { message: /publish failed: .*not connected/ });
  t.is(wakes(), 1);
  t.like(await rowState(), { sent: false, last_error: 'not connected to the broker' });
});

test("a failed publish of the relay's own rows defers them without waking the relay", async (t) => {
  const { outbox, row, rowState, wakes } = await outboxWithoutBroker(t, 'defer-relayed');
  await t.throwsAsync(outbox.publish([row], true), { message: /publish failed/ });
  t.is(wakes(), 0);
  t.like(await rowState(), { sent: false, last_error: 'not connected to the broker' });
});
