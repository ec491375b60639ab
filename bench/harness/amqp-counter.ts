/**
 * AMQP operations per user, counted on the wire: a TCP proxy in front of RabbitMQ that reads the frames of every
 * connection both ways and counts the methods (publishes, deliveries, acks, confirms, and every other method:
 * channel opens, qos, consumes, declares), the content frames and the bytes. Like the statement counter it sits
 * in the path only in the bench's separate statements pass, never in the timed rounds; unlike the broker's own
 * counters (the management plugin, off on this machine) it counts this run's connections and nobody else's.
 */
import net from 'node:net';

export interface AmqpCounts {
  /** basic.publish, client to broker. */
  readonly publishes: number;
  /** basic.ack and basic.nack, broker to client: publisher confirms (one may confirm many with `multiple`). */
  readonly confirms: number;
  /** basic.deliver, broker to client. */
  readonly deliveries: number;
  /** basic.ack, basic.nack and basic.reject, client to broker (one may settle many with `multiple`). */
  readonly acks: number;
  /** Every method frame, both ways: the above and the channel operations (open, qos, consume, declare, close…). */
  readonly methods: number;
  /** Every frame, both ways: methods, content headers and bodies, heartbeats. */
  readonly frames: number;
  readonly bytes: number;
}

const empty = (): Record<keyof AmqpCounts, number> => ({
  publishes: 0,
  confirms: 0,
  deliveries: 0,
  acks: 0,
  methods: 0,
  frames: 0,
  bytes: 0,
});

const basic = 60;
const methodNames: Record<'client' | 'broker', Record<number, keyof AmqpCounts>> = {
  client: { 40: 'publishes', 80: 'acks', 90: 'acks', 120: 'acks' },
  broker: { 60: 'deliveries', 80: 'confirms', 120: 'confirms' },
};

/** Reads AMQP 0-9-1 frames (type, channel, size, payload, end octet) from one direction's byte stream. */
class FrameParser {
  #buffer: Buffer = Buffer.alloc(0);
  #protocolHeader: boolean;

  constructor(
    private readonly side: 'client' | 'broker',
    private readonly counts: Record<keyof AmqpCounts, number>,
  ) {
    this.#protocolHeader = side === 'client';
  }

  feed(chunk: Buffer): void {
    this.counts.bytes += chunk.length;
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    if (this.#protocolHeader) {
      if (this.#buffer.length < 8) return;
      this.#buffer = this.#buffer.subarray(8); // "AMQP" 0 0 9 1
      this.#protocolHeader = false;
    }
    let offset = 0;
    while (this.#buffer.length - offset >= 7) {
      const size = this.#buffer.readUInt32BE(offset + 3);
      if (this.#buffer.length - offset < 8 + size) break;
      this.counts.frames += 1;
      if (this.#buffer[offset] === 1 && size >= 4) {
        this.counts.methods += 1;
        const classId = this.#buffer.readUInt16BE(offset + 7);
        const methodId = this.#buffer.readUInt16BE(offset + 9);
        const name = classId === basic ? methodNames[this.side][methodId] : undefined;
        if (name) this.counts[name] += 1;
      }
      offset += 8 + size;
    }
    this.#buffer = this.#buffer.subarray(offset);
  }
}

export interface AmqpCounter {
  readonly port: number;
  readonly counts: AmqpCounts;
  reset(): void;
  close(): Promise<void>;
}

export async function startAmqpCounter(upstreamHost: string, upstreamPort: number): Promise<AmqpCounter> {
  const counts = empty();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, upstreamHost);
    sockets.add(client).add(upstream);
    const fromClient = new FrameParser('client', counts);
    const fromBroker = new FrameParser('broker', counts);
    client.on('data', (chunk: Buffer) => {
      fromClient.feed(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      fromBroker.feed(chunk);
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    get counts() {
      return { ...counts };
    },
    reset() {
      // The parsers of open connections keep counting into the object they were given: zero it in place.
      for (const key of Object.keys(counts) as (keyof AmqpCounts)[]) counts[key] = 0;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const amqpCountsPerUser = (counts: AmqpCounts, users: number): AmqpCounts =>
  Object.fromEntries(
    Object.entries(counts).map(([key, value]) => [key, Math.round((value / users) * 1000) / 1000]),
  ) as unknown as AmqpCounts;
