/**
 * How the writer decides whether a failed GC request is worth retrying. The GC client throws typed errors
 * (`src/gc/errors.ts`); the writer does not import them, so it reads their shape: `retryAfterSeconds` (a 429),
 * `status` (408 / 5xx / 401 retryable), and network or timeout failures. Wiring may pass the GC client's own
 * classifier instead (see `WriterOptions.classifyError`).
 */

/** What the writer needs to know about a failure. */
export interface ErrorClassification {
  readonly retryable: boolean;
  /** GC's `Retry-After` for a 429: the writer pauses that client's budget this long. */
  readonly retryAfterSeconds?: number;
}

/** Maps any thrown value to a classification. */
export type ClassifyError = (error: unknown) => ErrorClassification;

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

/**
 * The default classifier: duck-types GC client errors.
 * - `retryAfterSeconds` (a non-negative number) → retryable, honour it (429);
 * - a boolean `retryable` → as given;
 * - `status` 429, 408, 5xx → retryable; 401 → retryable (the client refreshes its token on 401, and a login
 *   outage must not park every user; `isRetryable` in `src/gc/errors.ts` says no here); other 4xx → not;
 *   status 0 (no response) is judged by name and code;
 * - `TypeError` (what `fetch` throws when the connection fails), names containing Network / Timeout / Abort,
 *   transient socket codes (`ECONNRESET`, `ETIMEDOUT`, `UND_ERR_*`, …) → retryable;
 * - anything else → not retryable.
 */
export function defaultClassifyError(error: unknown): ErrorClassification {
  if (typeof error !== 'object' || error === null) return { retryable: false };
  const fields = error as Record<string, unknown>;
  const retryAfter = fields['retryAfterSeconds'];
  if (typeof retryAfter === 'number' && Number.isFinite(retryAfter) && retryAfter >= 0) {
    return { retryable: true, retryAfterSeconds: retryAfter };
  }
  if (typeof fields['retryable'] === 'boolean') return { retryable: fields['retryable'] };
  const status = typeof fields['status'] === 'number' ? fields['status'] : fields['statusCode'];
  // Status 0 means no HTTP response arrived (the GC client's GcNetworkError): judged by name and code below.
  if (typeof status === 'number' && status > 0) {
    return { retryable: status === 429 || status === 408 || status === 401 || (status >= 500 && status <= 599) };
  }
  const name = typeof fields['name'] === 'string' ? fields['name'] : '';
  if (error instanceof TypeError || /network|timeout|abort/i.test(name)) return { retryable: true };
  const code = typeof fields['code'] === 'string' ? fields['code'] : '';
  if (TRANSIENT_CODES.has(code) || code.startsWith('UND_ERR_')) return { retryable: true };
  const cause = fields['cause'];
  if (cause !== undefined && cause !== error) return defaultClassifyError(cause);
  return { retryable: false };
}

/** A short, log-safe description of a thrown value. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
