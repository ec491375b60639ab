/**
 * amqplib's multiplexer writes every frame to the socket on its own: one system call per ack, per publish
 * (its method, header and body frames) and per nack. On this kind of machine a system call is among the
 * largest costs of a message (see docs/benchmarks.md), and a busy consumer acks and publishes many times
 * in one turn of the event loop. Corked while the multiplexer writes out what its channels have queued,
 * the socket sends that turn's frames in one write. Frame order and content are unchanged; nothing waits
 * longer than it did (the multiplexer already runs once per turn).
 */

interface Corkable {
  cork(): void;
  uncork(): void;
}

interface AmqplibInternals {
  readonly connection?: {
    readonly stream?: Partial<Corkable>;
    readonly muxer?: { _readIncoming?: () => void };
  };
}

const coalesced = new WeakSet<object>();

/**
 * Makes the frames that amqplib's connection under `model` (an amqplib `ChannelModel`, as
 * amqp-connection-manager's `connect` event hands it) writes in one turn leave in one socket write. Does
 * nothing to a connection it cannot recognise (another amqplib version): frames then leave one by one, as
 * before.
 */
export function coalesceFrames(model: unknown): void {
  const inner = (model as AmqplibInternals | undefined)?.connection;
  const muxer = inner?.muxer;
  const stream = inner?.stream;
  if (!muxer?._readIncoming || typeof stream?.cork !== 'function' || typeof stream.uncork !== 'function') return;
  if (coalesced.has(muxer)) return;
  coalesced.add(muxer);
  const socket = stream as Corkable;
  const readIncoming = muxer._readIncoming.bind(muxer);
  muxer._readIncoming = () => {
    socket.cork();
    try {
      readIncoming();
    } finally {
      socket.uncork();
    }
  };
}
