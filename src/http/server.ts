/**
 * Serves the operator app: `Deno.serve` under Deno, the shared `node:http` adapter under Node. Loopback by
 * default, so nothing is exposed unless the operator binds another address on purpose.
 */
import { serve } from '../platform/serve.ts';
import { createOperatorApp } from './app.ts';
import type { OperatorAppOptions } from './options.ts';
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
}

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
 * Creates the operator app over `deps` and serves it.
 *
 * @example
 * const server = await startOperatorServer(deps, { port: 9464, adminToken });
 * log.info('operator endpoints up', { url: server.url });
 */
export async function startOperatorServer(deps: OperatorDeps, options: OperatorServerOptions = {}): Promise<OperatorServer> {
  const app = createOperatorApp(deps, options);
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  const deno = (globalThis as { Deno?: DenoServe }).Deno;
  if (deno && typeof deno.serve === 'function') {
    // Deno binds synchronously (and throws on a taken port); the no-op onListen keeps Deno's own banner off stdout.
    const server = deno.serve({ hostname: host, port, onListen: () => {} }, app.fetch);
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
    ...(options.headersTimeoutMs === undefined ? {} : { headersTimeoutMs: options.headersTimeoutMs }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
  });
  return { host: running.host, port: running.port, url: running.url, close: () => running.close() };
}
