/**
 * Capped exponential backoff with jitter for the writer's retries of 5xx / timeouts / retryable events.
 * Jitter spreads the retries of a whole failed batch over time, so a GC hiccup does not come back as a burst.
 */

/** How the retry delay grows. */
export interface BackoffOptions {
  /** Delay before the first retry, in ms. */
  readonly baseMs: number;
  /** The cap: no retry waits longer than this, in ms. */
  readonly maxMs: number;
  /** A uniform random number in [0, 1) (injectable so tests are deterministic). */
  readonly random: () => number;
}

/**
 * The delay before retry number `attempt` (1 = first retry): "equal jitter", i.e. a uniform value in
 * [cap/2, cap) where cap = min(maxMs, baseMs * 2^(attempt-1)). Half the cap is kept so a retry never comes
 * back immediately; the other half is random so a batch's users do not retry in lock step.
 *
 * @example
 * retryDelayMs(3, { baseMs: 1000, maxMs: 60_000, random: Math.random }); // 2000..4000
 */
export function retryDelayMs(attempt: number, options: BackoffOptions): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  const cap = Math.min(options.maxMs, options.baseMs * 2 ** exponent);
  const fraction = Math.min(Math.max(options.random(), 0), 1);
  return Math.round(cap / 2 + (cap / 2) * fraction);
}
