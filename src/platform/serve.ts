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
  /**
   * Most time a client may take to send the request line and headers (default 10 s); then it gets 408 and the
   * connection is closed, so a slowloris client cannot hold a socket by trickling headers.
   */
  headersTimeoutMs?: number;
  /**
   * Most time a client may take to send the whole request, body included (default 30 s; at least
   * `headersTimeoutMs`). A slow body is answered 408 and closed. Responses may take longer (long polls).
   */
  requestTimeoutMs?: number;
  /**
   * Most open connections (default unlimited); further ones are closed at once, so a flood of idle keep-alive
   * connections cannot take the memory and file descriptors the service needs.
   */
  maxConnections?: number;
  /** How long an idle keep-alive connection is kept, ms (default Node's 5 s). */
  keepAliveTimeoutMs?: number;
}

/** Defaults of the slow-client limits (Node's own are 60 s / 300 s, checked every 30 s). */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

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
  const headersTimeout = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  const requestTimeout = options.requestTimeoutMs ?? Math.max(DEFAULT_REQUEST_TIMEOUT_MS, headersTimeout);
  if (!Number.isInteger(headersTimeout) || headersTimeout <= 0) throw new Error('headersTimeoutMs: must be a positive integer');
  if (!Number.isInteger(requestTimeout) || requestTimeout < headersTimeout) throw new Error('requestTimeoutMs: must be an integer ≥ headersTimeoutMs');
  const server = createServer(
    {
      headersTimeout,
      requestTimeout,
      // Node checks the limits on this interval (default 30 s); check often enough that they mean what they say.
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headersTimeout / 4))),
    },
    // Keep the runtime's own Request/Response globals: Deno's own server code rejects responses built from
    // the lightweight classes @hono/node-server would otherwise install process-wide.
    getRequestListener(handler, { overrideGlobalObjects: false }),
  );
  if (options.maxConnections !== undefined) server.maxConnections = options.maxConnections;
  if (options.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = options.keepAliveTimeoutMs;
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
