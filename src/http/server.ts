/**
 * Serves the operator app on the shared `node:http` adapter under Node and Deno alike (its slow-client time limits
 * and connection cap hold under both; `Deno.serve` has no header timeout). Loopback by
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
  /** Slow-client limit for the request line and headers (default 10 s; see `serve`). */
  headersTimeoutMs?: number;
  /** Slow-client limit for the whole request, body included (default 30 s; see `serve`). */
  requestTimeoutMs?: number;
  /** Most open connections at once (default 256); more are closed at once. */
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
  // node:http under Deno too (Deno's compat server): Deno.serve has no time limit on the request line and
  // headers, so a slowloris client trickling headers would hold a connection (and a request slot) for good;
  // node:http's headersTimeout / requestTimeout hold under both runtimes, as does maxConnections.
  const running = await serve(app.fetch, {
    host,
    port,
    maxConnections,
    ...(options.headersTimeoutMs === undefined ? {} : { headersTimeoutMs: options.headersTimeoutMs }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
  });
  return { host: running.host, port: running.port, url: running.url, close: () => running.close() };
}
