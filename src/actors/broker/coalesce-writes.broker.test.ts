// coalesce-writes.ts against the real broker: what a fake socket cannot show is that amqplib's frames of
// one turn reach the kernel in one write and the broker takes them as before.
import test from 'ava';
import amqplib from 'amqplib';
import { randomBytes } from 'node:crypto';
import { coalesceWrites, socketOf } from './coalesce-writes.js';

const url = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

interface Socket {
  _write: (...args: unknown[]) => void;
  _writev: (...args: unknown[]) => void;
}

/** Counts the socket writes (each one a system call) of an amqplib connection. */
function countWrites(model: amqplib.ChannelModel): () => number {
  const socket = (model as unknown as { connection: { stream: Socket } }).connection.stream;
  let writes = 0;
  for (const method of ['_write', '_writev'] as const) {
    const original = socket[method].bind(socket);
    socket[method] = (...args: unknown[]) => {
      writes += 1;
      original(...args);
    };
  }
  return () => writes;
}

/** Publishes `count` messages in one turn to a fresh queue; returns the socket writes that took, and what arrived. */
async function publishInOneTurn(coalesce: boolean, count: number) {
  const model = await amqplib.connect(url);
  try {
    if (coalesce) coalesceWrites(socketOf(model)!);
    const channel = await model.createConfirmChannel();
    const queue = `t_coalesce_${randomBytes(4).toString('hex')}`;
    await channel.assertQueue(queue, { exclusive: true });
    const writes = countWrites(model);
    const before = writes();
    for (let index = 0; index < count; index += 1) channel.sendToQueue(queue, Buffer.from(`message ${index}`));
    await channel.waitForConfirms();
    const used = writes() - before;
    const arrived: string[] = [];
    for (let message = await channel.get(queue); message; message = await channel.get(queue)) {
      arrived.push(message.content.toString());
      channel.ack(message);
    }
    return { used, arrived };
  } finally {
    await model.close();
  }
}

test('on a real connection, the frames of one turn leave in one socket write, unchanged and in order', async (t) => {
  const count = 50;
  const expected = Array.from({ length: count }, (_, index) => `message ${index}`);
  const plain = await publishInOneTurn(false, count);
  const coalesced = await publishInOneTurn(true, count);
  t.deepEqual(plain.arrived, expected);
  t.deepEqual(coalesced.arrived, expected);
  t.log(`socket writes for ${count} publishes: ${plain.used} without, ${coalesced.used} with`);
  t.true(plain.used >= count, `without it, a write per publish at least (${plain.used})`);
  t.true(coalesced.used <= 2, `with it, the turn's publishes in one write (${coalesced.used})`);
});
