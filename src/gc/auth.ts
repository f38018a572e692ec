/**
 * OAuth client credentials for one GC client: `POST {login}/oauth/token` with HTTP Basic
 * `clientId:clientSecret` and `grant_type=client_credentials`. The token is cached, fetched again shortly
 * before `expires_in` runs out (the official SDK does not do this for client credentials), and dropped when
 * GC answers 401. One request at a time: concurrent callers share the pending fetch. The token call does not
 * draw on the request budget (GC does not count it against the per-token limit). Secrets never reach a log.
 */
import { Buffer } from 'node:buffer';
import { errorFromResponse, GcAuthError, GcNetworkError } from './errors.ts';

export interface TokenProviderOptions {
  loginBaseUrl: string;
  clientId: string;
  /** The secret, or a getter read at every token request so a rotated secret takes effect without a restart. */
  clientSecret: string | (() => string);
  fetch: typeof fetch;
  timeoutMs: number;
  now?: () => number;
  /** Refresh this long before expiry (default: 10 % of the lifetime, at most 5 minutes). */
  refreshBeforeMs?: number;
}

export interface TokenProvider {
  /** A valid access token (fetched when none is cached or the cached one is about to expire). */
  token(signal?: AbortSignal): Promise<string>;
  /** Forgets `token` (after a 401) so the next `token()` fetches a new one; a newer token is kept. */
  invalidate(token: string): void;
  /** How many token requests were made (for stats). */
  readonly requests: number;
}

export function createTokenProvider(options: TokenProviderOptions): TokenProvider {
  const now = options.now ?? Date.now;
  const secret = options.clientSecret;
  const basic = (): string =>
    Buffer.from(`${options.clientId}:${typeof secret === 'function' ? secret() : secret}`, 'utf8').toString('base64');
  let cached: { token: string; refreshAt: number } | undefined;
  let pending: Promise<string> | undefined;
  let requests = 0;

  const fetchToken = async (): Promise<string> => {
    requests += 1;
    const endpoint = 'POST /oauth/token';
    const timeout = AbortSignal.timeout(options.timeoutMs);
    let response: Response;
    try {
      response = await options.fetch(`${options.loginBaseUrl}/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${basic()}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: 'grant_type=client_credentials',
        signal: timeout,
      });
    } catch (error) {
      const timedOut = timeout.aborted;
      throw new GcNetworkError(`${endpoint}: ${timedOut ? 'timed out' : 'network error'}`, { endpoint, timedOut, cause: error });
    }
    const text = await response.text();
    if (!response.ok) {
      const error = errorFromResponse(response.status, response.headers, text, endpoint, now());
      // 400 invalid_client / 401: the credentials are wrong, which is an auth problem whatever the status.
      if (response.status === 400 || response.status === 401 || response.status === 403) {
        throw new GcAuthError(`${endpoint}: client credentials rejected (${response.status})`, {
          status: response.status,
          code: error.code,
          endpoint,
          ...(error.correlationId === undefined ? {} : { correlationId: error.correlationId }),
        });
      }
      throw error;
    }
    let body: { access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new GcAuthError(`${endpoint}: token response is not JSON`, { status: response.status, endpoint });
    }
    if (typeof body.access_token !== 'string' || body.access_token === '') {
      throw new GcAuthError(`${endpoint}: token response has no access_token`, { status: response.status, endpoint });
    }
    const lifetimeMs = (typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 86_400) * 1000;
    const before = options.refreshBeforeMs ?? Math.min(300_000, lifetimeMs * 0.1);
    cached = { token: body.access_token, refreshAt: now() + Math.max(0, lifetimeMs - before) };
    return body.access_token;
  };

  return {
    get requests() {
      return requests;
    },
    token(signal?: AbortSignal): Promise<string> {
      if (cached !== undefined && now() < cached.refreshAt) return Promise.resolve(cached.token);
      // Checked before a fetch starts: a fetch nobody waits for would end in an unhandled rejection.
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (pending === undefined) {
        // The fetch is shared by every caller waiting for a token, so no single caller's signal may cancel it;
        // each caller stops waiting on its own signal instead.
        pending = fetchToken().finally(() => {
          pending = undefined;
        });
      }
      if (signal === undefined) return pending;
      return new Promise<string>((resolve, reject) => {
        const onAbort = (): void => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        (pending as Promise<string>).then(
          (value) => {
            signal.removeEventListener('abort', onAbort);
            resolve(value);
          },
          (error: unknown) => {
            signal.removeEventListener('abort', onAbort);
            reject(error);
          },
        );
      });
    },
    invalidate(token: string): void {
      if (cached?.token === token) cached = undefined;
    },
  };
}
