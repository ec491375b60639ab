/**
 * With TCP_NODELAY each write to a socket leaves as a segment of its own, and amqplib writes every frame
 * separately (an ack, a publish's method, header and body). Corked from the first write of a turn of the
 * event loop until that turn's synchronous work is done, the socket sends the turn's frames in one write,
 * as Nagle's algorithm would merge them, but without Nagle's wait for the broker's delayed TCP ack.
 */
import type { Socket } from 'node:net';

/** The socket's writes of one turn of the event loop, sent together at its end. */
export function coalesceWrites(socket: Pick<Socket, 'write' | 'cork' | 'uncork'>): void {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = ((...args: unknown[]) => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  }) as Socket['write'];
}

/** The socket under an amqplib connection (`ChannelModel.connection.stream`), when it is one. */
export function socketOf(model: unknown): Socket | undefined {
  const stream = (model as { connection?: { stream?: unknown } } | undefined)?.connection?.stream;
  const candidate = stream as Partial<Socket> | undefined;
  return typeof candidate?.cork === 'function' && typeof candidate.uncork === 'function'
    ? (stream as Socket)
    : undefined;
}
