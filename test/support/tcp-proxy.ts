/**
 * A TCP proxy on loopback that a test can cut: every open connection is reset and new ones are reset
 * on arrival until it is restored. Put between a service and PostgreSQL or RabbitMQ, it breaks exactly
 * that service's links, as a network fault would, and nothing else. `blackHole` drops traffic without
 * telling anyone, as a host that lost its power would; `moveTo` points it at another port, as a virtual
 * IP or a database endpoint moved by a failover manager would.
 */
import net from 'node:net';

export interface TcpProxy {
  readonly port: number;
  readonly connections: number;
  cut(): void;
  restore(): void;
  /**
   * Nothing passes any more and nobody is told, as when the host behind an address loses power: open
   * connections and new ones are kept open, and whatever arrives on them is dropped. Lasts until `moveTo`.
   */
  blackHole(): void;
  /**
   * New connections go to `targetPort` from now on. Open ones are reset, as a failover manager ends the
   * sessions of the old primary, unless `reset` is false: then black-holed ones stay hung.
   */
  moveTo(targetPort: number, options?: { reset?: boolean }): void;
  close(): Promise<void>;
}

export async function startTcpProxy(initialPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let mode: 'open' | 'cut' | 'blackHole' = 'open';
  let targetPort = initialPort;
  const sockets = new Set<net.Socket>();
  /** Client sockets whose traffic is dropped, each with how to detach it from its upstream. */
  const forwarded = new Map<net.Socket, () => void>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  };
  const drop = (client: net.Socket) => {
    client.on('data', () => {});
    client.resume();
  };
  const server = net.createServer((client) => {
    track(client);
    if (mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    if (mode === 'blackHole') {
      drop(client);
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    let attached = true;
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => {
      if (attached) client.destroy();
    });
    forwarded.set(client, () => {
      attached = false;
      client.unpipe(upstream);
      upstream.unpipe(client);
      upstream.destroy();
      drop(client);
    });
    client.on('close', () => forwarded.delete(client));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    get connections() {
      return sockets.size;
    },
    cut() {
      mode = 'cut';
      for (const socket of sockets) socket.resetAndDestroy();
    },
    restore() {
      mode = 'open';
    },
    blackHole() {
      mode = 'blackHole';
      for (const detach of forwarded.values()) detach();
      forwarded.clear();
    },
    moveTo(port, { reset = true } = {}) {
      targetPort = port;
      mode = 'open';
      if (reset) for (const socket of sockets) socket.resetAndDestroy();
    },
    async close() {
      mode = 'cut';
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The same URL, pointing at the proxy's port instead. */
export function throughProxy(url: string, proxy: TcpProxy): string {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(proxy.port);
  return parsed.toString();
}
