/**
 * Typed errors for Genesys Cloud calls. Callers branch on the class (and `code`), never on message text.
 * Every error carries the HTTP status, GC's error `code` and the correlation id (the `ININ-Correlation-Id`
 * header, or `contextId` of the error body) so a log line can be matched with Genesys support.
 */

/** What GC puts in an error response body (`ErrorBody` in the spec subset; every field optional). */
export interface GcErrorBody {
  message?: string;
  code?: string;
  status?: number;
  contextId?: string;
  messageWithParams?: string;
  messageParams?: Record<string, string>;
  details?: Array<{ errorCode?: string; fieldName?: string; entityId?: string; entityName?: string }>;
  errors?: GcErrorBody[];
  limit?: { key?: string; namespace?: string; value?: number };
}

export interface GcErrorInit {
  status: number;
  code?: string;
  correlationId?: string;
  /** The endpoint label (e.g. `POST /api/v2/events/users/presence`), never the full URL with ids. */
  endpoint?: string;
  body?: GcErrorBody;
  cause?: unknown;
}

/** Base class of every GC error. `status` is 0 when no HTTP response arrived. */
export class GcError extends Error {
  readonly status: number;
  readonly code: string;
  readonly correlationId: string | undefined;
  readonly endpoint: string | undefined;
  readonly body: GcErrorBody | undefined;

  constructor(message: string, init: GcErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.status = init.status;
    this.code = init.code ?? '';
    this.correlationId = init.correlationId;
    this.endpoint = init.endpoint;
    this.body = init.body;
  }
}

/** 429: the client's budget (or a resource's own limit) is spent; wait `retryAfterSeconds`. */
export class RateLimitedError extends GcError {
  readonly retryAfterSeconds: number;
  constructor(message: string, init: GcErrorInit & { retryAfterSeconds: number }) {
    super(message, init);
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

/** 401, or a failed token request: the credentials or the token are not accepted. */
export class GcAuthError extends GcError {}
/** 403: the OAuth client lacks a permission (see docs/gc.md for the list EXAS needs). */
export class GcPermissionError extends GcError {}
/** 404: the user, source, definition or channel does not exist. */
export class GcNotFoundError extends GcError {}
/** 409: the resource changed or already exists. */
export class GcConflictError extends GcError {}
/** 400 / 413 / 415 / 422: the request itself is wrong; resending it unchanged will not help. */
export class GcValidationError extends GcError {}
/** 5xx: GC failed; transient, retried with backoff. */
export class GcServerError extends GcError {}
/** No HTTP response: connection refused or reset, DNS, or the request timed out (`timedOut`). */
export class GcNetworkError extends GcError {
  readonly timedOut: boolean;
  constructor(message: string, init: Omit<GcErrorInit, 'status'> & { timedOut?: boolean }) {
    super(message, { ...init, status: 0 });
    this.timedOut = init.timedOut ?? false;
  }
}

/** The `code` of the error a write target throws while GC is not set up yet (nothing was sent). */
export const NOT_SET_UP = 'not-ready';

/** True for the error of a write target not set up yet: no request left, GC said nothing. */
export function isNotSetUp(error: unknown): boolean {
  return error instanceof GcNetworkError && error.code === NOT_SET_UP;
}

/** True for errors worth sending again later: rate limited, server, network/timeout. */
export function isRetryable(error: unknown): boolean {
  return error instanceof RateLimitedError || error instanceof GcServerError || error instanceof GcNetworkError;
}

/** Reads GC's `Retry-After` (seconds, or an HTTP date); falls back to `fallbackSeconds`. */
export function parseRetryAfter(value: string | null, now: number = Date.now(), fallbackSeconds = 1): number {
  if (value === null || value.trim() === '') return fallbackSeconds;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const at = Date.parse(value);
  return Number.isNaN(at) ? fallbackSeconds : Math.max(0, Math.ceil((at - now) / 1000));
}

function asErrorBody(value: unknown): GcErrorBody | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as GcErrorBody) : undefined;
}

/**
 * Builds the typed error for a non-2xx GC response. `bodyText` is the raw response text (it may not be JSON:
 * a proxy's HTML page, or nothing at all).
 */
export function errorFromResponse(
  status: number,
  headers: Headers,
  bodyText: string,
  endpoint: string,
  now: number = Date.now(),
): GcError {
  let body: GcErrorBody | undefined;
  try {
    body = asErrorBody(JSON.parse(bodyText));
  } catch {
    body = undefined;
  }
  const code = typeof body?.code === 'string' ? body.code : '';
  const correlationId = headers.get('inin-correlation-id') ?? (typeof body?.contextId === 'string' ? body.contextId : undefined);
  const detail = typeof body?.message === 'string' && body.message !== '' ? body.message : bodyText.slice(0, 200) || `HTTP ${status}`;
  const message = `${endpoint}: ${status}${code ? ` ${code}` : ''}: ${detail}`;
  const init: GcErrorInit = { status, code, endpoint };
  if (correlationId !== undefined) init.correlationId = correlationId;
  if (body !== undefined) init.body = body;
  if (status === 429) {
    return new RateLimitedError(message, { ...init, retryAfterSeconds: parseRetryAfter(headers.get('retry-after'), now) });
  }
  if (status === 401) return new GcAuthError(message, init);
  if (status === 403) return new GcPermissionError(message, init);
  if (status === 404) return new GcNotFoundError(message, init);
  if (status === 409) return new GcConflictError(message, init);
  if (status >= 500) return new GcServerError(message, init);
  if (status === 408) return new GcNetworkError(message, { ...init, timedOut: true });
  return new GcValidationError(message, init);
}
