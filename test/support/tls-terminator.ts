/**
 * A TLS listener on loopback in front of a plain TCP service (the local RabbitMQ): it stands in for a broker
 * with a TLS port, which the shared broker cannot be given without a restart. It asks for a client
 * certificate signed by the given CA and refuses connections without one.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

export interface TlsTerminator {
  readonly port: number;
  /** Connections whose TLS handshake succeeded, with a client certificate the CA signed. */
  readonly authorized: number;
  close(): Promise<void>;
}

export async function startTlsTerminator(
  { cert, key, ca }: { cert: string; key: string; ca: string },
  target: { host: string; port: number },
): Promise<TlsTerminator> {
  let authorized = 0;
  const sockets = new Set<net.Socket>();
  const server = tls.createServer(
    {
      cert: readFileSync(cert),
      key: readFileSync(key),
      ca: readFileSync(ca),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (client) => {
      authorized += 1;
      const upstream = net.connect(target.port, target.host);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => sockets.delete(socket));
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    },
  );
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get authorized() {
      return authorized;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
