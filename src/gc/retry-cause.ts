/**
 * Why a GC request was sent again, for `exas_gc_retries_total{operation,cause}`. Read from the error's shape
 * (the typed errors of errors.ts, or anything with a `status` / `retryAfterSeconds` / `timedOut`), so the writer,
 * which duck-types errors, names causes the same way as the client.
 */

/**
 * `429` rate limited; `5xx`; `timeout` (no answer in time, or 408); `network` (no answer: refused, reset, DNS);
 * `auth` (401: a fresh token, then once more); `event` (GC answered, but marked an event of a write retryable).
 */
export const GC_RETRY_CAUSES = ['429', '5xx', 'timeout', 'network', 'auth', 'event'] as const;
export type GcRetryCause = (typeof GC_RETRY_CAUSES)[number];

/** Retries by cause: every cause present, zero when it never happened. */
export type GcRetryCounts = Record<GcRetryCause, number>;

export function zeroRetryCounts(): GcRetryCounts {
  return { '429': 0, '5xx': 0, timeout: 0, network: 0, auth: 0, event: 0 };
}

/** Adds `more` into `into` (for merging clients and the writer). */
export function addRetryCounts(into: GcRetryCounts, more: Readonly<GcRetryCounts>): GcRetryCounts {
  for (const cause of GC_RETRY_CAUSES) into[cause] += more[cause];
  return into;
}

/** The cause of a failed request, by the error's shape. */
export function retryCauseOf(error: unknown): GcRetryCause {
  const fields = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
  const status = typeof fields['status'] === 'number' ? fields['status'] : typeof fields['statusCode'] === 'number' ? fields['statusCode'] : 0;
  if (status === 429 || typeof fields['retryAfterSeconds'] === 'number') return '429';
  if (status >= 500) return '5xx';
  if (status === 401) return 'auth';
  const name = typeof fields['name'] === 'string' ? fields['name'] : '';
  if (status === 408 || fields['timedOut'] === true || /timeout/i.test(name) || fields['code'] === 'ETIMEDOUT') return 'timeout';
  return 'network';
}
