/**
 * Serves the operator app: `Deno.serve` under Deno, the shared `node:http` adapter under Node. Loopback by
 * default, so nothing is exposed unless the operator binds another address on purpose; a non-loopback address
 * without a token is refused unless `allowUnauthenticated` says it is meant.
 */
import { serve } from '../platform/serve.ts';
import { createOperatorApp } from './app.ts';
import { isLoopbackListen } from './guards.ts';
import { resolveOptions, type OperatorAppOptions } from './options.ts';
import type { OperatorDeps } from './types.ts';

export interface OperatorServerOptions extends OperatorAppOptions {
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** Port (default 0: a free ephemeral port). */
  port?: number;
  /** Slow-client limit for the request line and headers (default 10 s, node:http only; see `serve`). */
  headersTimeoutMs?: number;
  /** Slow-client limit for the whole request, body included (default 30 s, node:http only; see `serve`). */
  requestTimeoutMs?: number;
  /** Most open connections (Node) or requests in progress (Deno) at once (default 256); more are refused. */
  maxConnections?: number;
  /** Serve a non-loopback address without any token (default false: refused, since anyone who can reach it could pause the sync). */
  allowUnauthenticated?: boolean;
}

export const DEFAULT_MAX_CONNECTIONS = 256;

/** A listening operator server. */
export interface OperatorServer {
  readonly host: string;
  readonly port: number;
  /** Base URL, e.g. `http://127.0.0.1:9464`. */
  readonly url: string;
  /** Stops listening and resolves when the port is free. */
  close(): Promise<void>;
}

/** The slice of the Deno namespace used here (Deno's types are not part of this Node type check). */
interface DenoServe {
  serve(
    options: { hostname: string; port: number; onListen?: (address: { hostname: string; port: number }) => void },
    handler: (request: Request) => Response | Promise<Response>,
  ): { addr: { hostname: string; port: number }; shutdown(): Promise<void>; finished: Promise<void> };
}

/**
 * Throws what `startOperatorServer` would refuse before binding: malformed or clashing tokens, bad limits, and a
 * non-loopback address without a token (unless `allowUnauthenticated`). `exas run --check` calls it too.
 */
export function checkOperatorServerOptions(options: OperatorServerOptions): void {
  resolveOptions(options);
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackListen(host) && (options.adminToken ?? '') === '' && options.allowUnauthenticated !== true) {
    throw new Error(
      `refusing to serve the operator endpoints on ${host} without a token: anyone who can reach it could pause the sync. Set http.token (EXAS_HTTP_TOKEN), or http.allowUnauthenticated: true if a network policy guards it`,
    );
  }
}

/**
 * Creates the operator app over `deps` and serves it.
 *
 * @example
 * const server = await startOperatorServer(deps, { port: 9464, adminToken });
 * log.info('operator endpoints up', { url: server.url });
 */
export async function startOperatorServer(deps: OperatorDeps, options: OperatorServerOptions = {}): Promise<OperatorServer> {
  checkOperatorServerOptions(options);
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const app = createOperatorApp(deps, { ...options, listenHost: options.listenHost ?? host });
  const deno = (globalThis as { Deno?: DenoServe }).Deno;
  if (deno && typeof deno.serve === 'function') {
    // Deno.serve has no connection cap of its own: requests in progress are capped instead.
    let inFlight = 0;
    const handler = async (request: Request): Promise<Response> => {
      if (inFlight >= maxConnections) {
        return new Response(JSON.stringify({ error: `busy: ${inFlight} requests in progress; retry shortly` }), {
          status: 503,
          headers: { 'content-type': 'application/json', 'retry-after': '1', connection: 'close' },
        });
      }
      inFlight += 1;
      try {
        return await app.fetch(request);
      } finally {
        inFlight -= 1;
      }
    };
    // Deno binds synchronously (and throws on a taken port); the no-op onListen keeps Deno's own banner off stdout.
    const server = deno.serve({ hostname: host, port, onListen: () => {} }, handler);
    const bound = { server, port: server.addr.port };
    const urlHost = host.includes(':') ? `[${host}]` : host;
    return {
      host,
      port: bound.port,
      url: `http://${urlHost}:${bound.port}`,
      close: async () => {
        await bound.server.shutdown();
      },
    };
  }
  const running = await serve(app.fetch, {
    host,
    port,
    maxConnections,
    ...(options.headersTimeoutMs === undefined ? {} : { headersTimeoutMs: options.headersTimeoutMs }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
  });
  return { host: running.host, port: running.port, url: running.url, close: () => running.close() };
}
