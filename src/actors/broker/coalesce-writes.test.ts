import test from 'ava';
import type { Socket } from 'node:net';
import { coalesceWrites, socketOf } from './coalesce-writes.js';

/** A socket that records its writes and corks; written chunks count as sent when it is not corked. */
function recordingSocket() {
  const calls: string[] = [];
  let corks = 0;
  const socket = {
    write: (chunk: string) => (calls.push(`${corks > 0 ? 'held' : 'sent'} ${chunk}`), true),
    cork: () => ((corks += 1), calls.push('cork')),
    uncork: () => ((corks -= 1), calls.push('uncork')),
  };
  return { socket, calls };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

test("a turn's writes are held together and leave at its end, once per turn", async (t) => {
  const { socket, calls } = recordingSocket();
  coalesceWrites(socket as unknown as Socket);

  socket.write('ack');
  socket.write('publish');
  await nextTurn();
  socket.write('heartbeat');
  await nextTurn();

  t.deepEqual(calls, ['cork', 'held ack', 'held publish', 'uncork', 'cork', 'held heartbeat', 'uncork']);
});

test("the socket is found under amqplib's connection, and nothing else is taken for one", (t) => {
  const { socket } = recordingSocket();
  t.is(socketOf({ connection: { stream: socket } }), socket as unknown as Socket);
  t.is(socketOf({ connection: { stream: {} } }), undefined);
  t.is(socketOf(undefined), undefined);
});
