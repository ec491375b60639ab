/**
 * Statements per user, counted on the wire: a TCP proxy in front of PostgreSQL that reads the frontend
 * messages of every connection and counts simple queries ('Q') and extended-protocol executions ('E'),
 * BEGIN and COMMIT included. It sits in the path only in the bench's separate statements pass, never in
 * the timed rounds (it costs the bench process CPU and each round trip a hop).
 */
import net from 'node:net';

export interface StatementCounter {
  readonly port: number;
  /** Statements seen since the start (or the last reset). */
  readonly statements: number;
  reset(): void;
  close(): Promise<void>;
}

/** Counts 'Q' and 'E' messages in a client's byte stream, whatever the chunking. */
class FrontendParser {
  #startupDone = false;
  #header = Buffer.alloc(0);
  #skip = 0;

  constructor(private readonly count: () => void) {}

  feed(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#skip > 0) {
        const skipped = Math.min(this.#skip, chunk.length - offset);
        this.#skip -= skipped;
        offset += skipped;
        continue;
      }
      const headerLength = this.#startupDone ? 5 : 4;
      const needed = headerLength - this.#header.length;
      const taken = chunk.subarray(offset, offset + needed);
      this.#header = Buffer.concat([this.#header, taken]);
      offset += taken.length;
      if (this.#header.length < headerLength) return;
      if (this.#startupDone) {
        const type = String.fromCharCode(this.#header[0]!);
        if (type === 'Q' || type === 'E') this.count();
        this.#skip = this.#header.readInt32BE(1) - 4;
      } else {
        const length = this.#header.readInt32BE(0);
        this.#skip = length - 4;
        // An SSLRequest (length 8) is answered 'N' by a trust-only server and followed by the real startup.
        this.#startupDone = length !== 8;
      }
      this.#header = Buffer.alloc(0);
    }
  }
}

export async function startStatementCounter(upstreamHost: string, upstreamPort: number): Promise<StatementCounter> {
  let statements = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, upstreamHost);
    sockets.add(client).add(upstream);
    const parser = new FrontendParser(() => (statements += 1));
    client.on('data', (chunk: Buffer) => {
      parser.feed(chunk);
      upstream.write(chunk);
    });
    upstream.pipe(client);
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
    get statements() {
      return statements;
    },
    reset() {
      statements = 0;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
