/**
 * A TCP proxy on loopback that a test can cut: every open connection is reset and new ones are reset
 * on arrival until it is restored. Put between a service and PostgreSQL or RabbitMQ, it breaks exactly
 * that service's links, as a network fault would, and nothing else. `moveTo` points it at another port
 * and drops the connections to the old one, as a virtual IP or a database endpoint moved by a failover
 * manager would.
 */
import net from 'node:net';

export interface TcpProxy {
  readonly port: number;
  readonly connections: number;
  cut(): void;
  restore(): void;
  /** New connections go to `targetPort` from now on; every open one is reset. */
  moveTo(targetPort: number): void;
  close(): Promise<void>;
}

export async function startTcpProxy(initialPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let open = true;
  let targetPort = initialPort;
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  };
  const server = net.createServer((client) => {
    track(client);
    if (!open) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    get connections() {
      return sockets.size;
    },
    cut() {
      open = false;
      for (const socket of sockets) socket.resetAndDestroy();
    },
    restore() {
      open = true;
    },
    moveTo(port) {
      targetPort = port;
      for (const socket of sockets) socket.resetAndDestroy();
    },
    async close() {
      open = false;
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
