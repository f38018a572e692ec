/**
 * @module
 * Serves a fetch-style handler (a Hono app's `fetch`) on a `node:http` server, which both Node and Deno
 * provide, so emulators and the sidecar share one way to listen. WebSocket endpoints hook the `upgrade` event.
 *
 * @example
 * const server = await serve(app.fetch, { host: '127.0.0.1', port: 0 });
 * console.log(server.url); // http://127.0.0.1:40123
 * await server.close();
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { getRequestListener } from '@hono/node-server';

export type FetchHandler = (request: Request) => Response | Promise<Response>;
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface ServeOptions {
  /** Address to bind. Defaults to loopback: nothing is exposed unless asked for. */
  host?: string;
  /** 0 picks a free ephemeral port. */
  port?: number;
  /** Handles HTTP upgrade requests (WebSocket); without it upgrades are refused. */
  onUpgrade?: UpgradeHandler;
}

export interface RunningServer {
  readonly host: string;
  readonly port: number;
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  readonly server: Server;
  /** Stops accepting, ends open connections, and resolves when the port is free. */
  close(): Promise<void>;
}

export async function serve(handler: FetchHandler, options: ServeOptions = {}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer(getRequestListener(handler));
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (options.onUpgrade) options.onUpgrade(request, socket, head);
    else socket.destroy();
  });
  return listen(server, host, options.port ?? 0);
}

/** Listens on `host:port` with an existing server (one whose handler is not fetch-style, e.g. a CometD adapter). */
export function listen(server: Server, host: string, port: number): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      const boundPort = typeof address === 'object' && address !== null ? address.port : port;
      const urlHost = host.includes(':') ? `[${host}]` : host;
      resolve({
        host,
        port: boundPort,
        url: `http://${urlHost}:${boundPort}`,
        server,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections?.();
          }),
      });
    });
  });
}
