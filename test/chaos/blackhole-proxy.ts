/**
 * A loopback TCP proxy that can black-hole its traffic: connections stay open (and new ones are accepted) but
 * nothing is forwarded either way, so requests hang until the client's own timeout, as behind a dropped route,
 * unlike a refused connection. Used to cut one EXAS instance off from etcd while it still reaches GC.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface BlackholeProxy {
  readonly url: string;
  /** Stops forwarding: open and new connections stall. */
  blackhole(): void;
  /** Drops the stalled connections and forwards again. */
  restore(): void;
  readonly blackholed: boolean;
  close(): Promise<void>;
}

export async function startBlackholeProxy(targetPort: number, host = '127.0.0.1'): Promise<BlackholeProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket | undefined }>();
  let holed = false;
  const server: Server = createServer((client) => {
    const pair: { client: Socket; upstream: Socket | undefined } = { client, upstream: undefined };
    pairs.add(pair);
    const drop = (): void => {
      pairs.delete(pair);
      client.destroy();
      pair.upstream?.destroy();
    };
    client.on('error', drop).on('close', drop);
    // A connection made while black-holed is accepted and read from, but never forwarded.
    if (holed) {
      client.on('data', () => undefined);
      return;
    }
    const upstream = createConnection({ host, port: targetPort });
    pair.upstream = upstream;
    upstream.on('error', drop).on('close', drop);
    client.on('data', (chunk) => {
      if (!holed) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!holed) client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://${host}:${port}`,
    blackhole() {
      holed = true;
    },
    restore() {
      holed = false;
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream?.destroy();
      }
      pairs.clear();
    },
    get blackholed() {
      return holed;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const pair of pairs) {
          pair.client.destroy();
          pair.upstream?.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
