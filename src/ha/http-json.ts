/**
 * JSON over HTTP(S) for the coordination services, with `node:http` / `node:https` rather than `fetch`: both
 * services are commonly reached over TLS with a private CA (and Kubernetes or etcd client certificates), which
 * `fetch` cannot take portably (Node wants an undici dispatcher, Deno `Deno.createHttpClient`), while
 * `node:https`' `ca` / `cert` / `key` options work under Node and Deno alike.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Buffer } from 'node:buffer';

export interface TlsFiles {
  /** PEM text (not paths): the CA bundle to trust, and a client certificate and key. */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  /** Skip server certificate checks (kubeconfig `insecure-skip-tls-verify`); never the default. */
  readonly insecure?: boolean;
}

export interface JsonRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly tls?: TlsFiles;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface JsonResponse {
  readonly status: number;
  /** The parsed body; undefined when it was empty or not JSON. */
  readonly body: unknown;
}

/** Largest answer read (a Lease or an etcd range of one key is a few hundred bytes). */
const MAX_BODY_BYTES = 1 << 20;

/** Sends one request; rejects on a network error, a timeout or an abort (never on an HTTP status). */
export function requestJson(options: JsonRequest): Promise<JsonResponse> {
  const url = new URL(options.url);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  return new Promise<JsonResponse>((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new Error('aborted'));
      return;
    }
    const tls = options.tls;
    const common = { method: options.method, headers, timeout: options.timeoutMs };
    const onResponse = (response: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          req.destroy(new Error(`answer from ${url.host} larger than ${MAX_BODY_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () => {
        clearTimeout(deadline);
        options.signal?.removeEventListener('abort', onAbort);
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          body = undefined;
        }
        resolve({ status: response.statusCode ?? 0, body });
      });
      response.on('error', fail);
    };
    const req =
      url.protocol === 'https:'
        ? httpsRequest(url, {
            ...common,
            ...(tls?.ca === undefined ? {} : { ca: tls.ca }),
            ...(tls?.cert === undefined ? {} : { cert: tls.cert }),
            ...(tls?.key === undefined ? {} : { key: tls.key }),
            rejectUnauthorized: tls?.insecure !== true,
          }, onResponse)
        : httpRequest(url, common, onResponse);
    // `timeout` above is idle time on the socket; this bounds the whole exchange.
    const deadline = setTimeout(() => req.destroy(new Error(`no answer from ${url.host} within ${options.timeoutMs} ms`)), options.timeoutMs);
    function fail(error: Error): void {
      clearTimeout(deadline);
      options.signal?.removeEventListener('abort', onAbort);
      reject(error);
    }
    function onAbort(): void {
      req.destroy(new Error('aborted'));
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url.host} within ${options.timeoutMs} ms`)));
    req.on('error', fail);
    req.end(payload);
  });
}

/** An HTTP answer the backend did not expect; `status` 0 never occurs (network errors reject instead). */
export class CoordinationError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'CoordinationError';
  }
}
