/**
 * A loopback TCP proxy that can refuse connections: closing its listener (and every open connection) is
 * "connection refused" for EXAS, which the emulators alone cannot do without losing their state.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface RefusableProxy {
  readonly port: number;
  readonly url: string;
  /** Closes the listener and every proxied connection: new connections are refused. */
  refuse(): Promise<void>;
  /** Listens again on the same port. */
  accept(): Promise<void>;
  close(): Promise<void>;
}

export async function startRefusableProxy(targetPort: number, host = '127.0.0.1'): Promise<RefusableProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = async (): Promise<void> => {
    const next = createServer((client) => {
      const upstream = createConnection({ host, port: targetPort });
      sockets.add(client);
      sockets.add(upstream);
      const drop = (): void => {
        sockets.delete(client);
        sockets.delete(upstream);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, host, () => resolve());
    });
    const address = next.address();
    if (address !== null && typeof address === 'object') port = address.port;
    server = next;
  };
  const refuse = async (): Promise<void> => {
    const current = server;
    server = undefined;
    if (current === undefined) return;
    const closed = new Promise<void>((resolve) => current.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await closed;
  };
  await listen();
  return {
    get port() {
      return port;
    },
    get url() {
      return `http://${host}:${port}`;
    },
    refuse,
    accept: async () => {
      if (server === undefined) await listen();
    },
    close: refuse,
  };
}
