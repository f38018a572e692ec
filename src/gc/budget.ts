/**
 * The per-client request budget (`RequestBudget` of `ports.ts`) as a sliding 60 s window: a request taken at
 * `t` occupies a slot until `t + window`, so no 60 s interval ever holds more than `limit` requests. GC counts
 * per client-credentials token per minute (default 300); EXAS spends below that so its own pacing never earns
 * a 429.
 */
import type { RequestBudget } from './ports.ts';

export interface SlidingWindowBudgetOptions {
  /** GC's limit for this client (default GC value: 300). */
  requestsPerMinute: number;
  /**
   * Share of the limit left unused, 0 ≤ headroom < 1 (default 0.05): other tools on the same client, clock
   * skew. The effective `limit` is `floor(requestsPerMinute × (1 − headroom))`, at least 1.
   */
  headroom?: number;
  /** Clock (epoch ms); tests inject one. */
  now?: () => number;
  /**
   * Extra milliseconds a slot stays taken beyond 60 s (default 250): requests reach GC a little later than they
   * leave, and jitter in that delay must not squeeze two windows' worth into GC's own 60 s.
   */
  safetyMarginMs?: number;
  /**
   * Share of the limit that may leave back to back, 0 < burstShare ≤ 1 (default 1: a plain sliding window).
   * Below 1, requests beyond the burst are spaced evenly at `limit − burst` per window, so a sustained storm
   * gets a slot every few hundred ms, each carrying everything pending, instead of spending the whole window in
   * seconds on small requests and then getting no slot for up to a minute. A sustained storm uses
   * `1 − burstShare` of the limit.
   *
   * Why not space at the full `limit`: then a burst plus 60 s of spacing hold `limit + burst` requests, the
   * window caps them, and exactly one window after every burst the sender stalls for `burst` slots (the full
   * sync bench: a 6 s stall 54 s into a steady 100 changes/s, p99 5.7 s). Spaced at `limit − burst` (the
   * generic cell rate algorithm with a burst tolerance), no 60 s interval can hold more than `limit`, so the
   * window never makes anyone wait.
   */
  burstShare?: number;
}

/**
 * The burst share the sidecar's budgets use: 3 % of the limit (9 requests at 300/min) may leave at once, the
 * rest is spaced evenly, and a sustained storm uses 97 % of the limit (the goal is ≥ 95 %). Small, as
 * every request carries up to 100 users: a burst buys a presence and a routing-status batch back to back after
 * a quiet spell, and each token of burst costs a token of sustained rate.
 */
export const PACED_BURST_SHARE = 0.03;

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

const WINDOW_MS = 60_000;

/**
 * Creates a sliding-window budget.
 *
 * @example
 * const budget = createSlidingWindowBudget({ requestsPerMinute: 300, headroom: 0.1 });
 * await budget.take(); // resolves when a request may go out
 */
export function createSlidingWindowBudget(options: SlidingWindowBudgetOptions): RequestBudget {
  const { requestsPerMinute } = options;
  if (!Number.isFinite(requestsPerMinute) || requestsPerMinute < 1) {
    throw new Error(`requestsPerMinute must be a number ≥ 1 (got ${String(requestsPerMinute)})`);
  }
  const headroom = options.headroom ?? 0.05;
  if (!(headroom >= 0 && headroom < 1)) throw new Error(`headroom must be in [0, 1) (got ${String(headroom)})`);
  const now = options.now ?? Date.now;
  const windowMs = WINDOW_MS + (options.safetyMarginMs ?? 250);
  const limit = Math.max(1, Math.floor(requestsPerMinute * (1 - headroom)));
  const burstShare = options.burstShare ?? 1;
  if (!(burstShare > 0 && burstShare <= 1)) throw new Error(`burstShare must be in (0, 1] (got ${String(burstShare)})`);
  const burst = Math.max(1, Math.floor(limit * burstShare));
  // Tokens for the spacing (only when burst < limit): up to `burst`, refilled at `limit − burst` per window, so
  // a burst and the spacing after it fit one window (see `burstShare`). The ring buffer below still caps every
  // window at `limit` (it binds only for an unpaced budget).
  const paced = burst < limit;
  const refillPerMs = (limit - burst) / windowMs;
  let tokens = burst;
  let refilledAt = now();
  const refill = (at: number): void => {
    if (!paced) return;
    tokens = Math.min(burst, tokens + Math.max(0, at - refilledAt) * refillPerMs);
    refilledAt = at;
  };

  // Ring buffer of the send times still inside the window, oldest at `head`.
  const sentAt = new Float64Array(limit);
  let head = 0;
  let count = 0;
  let pausedUntil = 0;
  const waiters: Waiter[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  const prune = (at: number): void => {
    while (count > 0 && (sentAt[head] as number) + windowMs <= at) {
      head = (head + 1) % limit;
      count -= 1;
    }
  };
  const record = (at: number): void => {
    sentAt[(head + count) % limit] = at;
    count += 1;
    if (paced) {
      refill(at);
      tokens -= 1;
    }
  };
  const available = (): number => {
    const at = now();
    if (at < pausedUntil) return 0;
    prune(at);
    if (!paced) return limit - count;
    refill(at);
    return Math.max(0, Math.min(limit - count, Math.floor(tokens)));
  };
  const nextSlotAt = (): number => {
    const at = now();
    prune(at);
    const slot = count < limit ? at : (sentAt[head] as number) + windowMs;
    refill(at);
    const tokenAt = !paced || tokens >= 1 ? at : at + Math.ceil((1 - tokens) / refillPerMs);
    return Math.max(slot, tokenAt, pausedUntil);
  };

  const pump = (): void => {
    while (waiters.length > 0 && available() > 0) {
      const waiter = waiters.shift() as Waiter;
      if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      record(now());
      waiter.resolve();
    }
    schedule();
  };
  const schedule = (): void => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (waiters.length === 0) return;
    const delay = Math.max(1, nextSlotAt() - now());
    timer = setTimeout(() => {
      timer = undefined;
      pump();
    }, delay);
    // A budget with nobody waiting must not hold the process open; waiters are held by their promises' owners.
    (timer as { unref?: () => void }).unref?.();
  };

  return {
    limit,
    available,
    sentInWindow(): number {
      prune(now());
      return count;
    },
    nextSlotAt,
    take(signal?: AbortSignal): Promise<void> {
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (waiters.length === 0 && available() > 0) {
        record(now());
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => {
        const waiter: Waiter = { resolve, reject, signal, onAbort: undefined };
        if (signal) {
          waiter.onAbort = () => {
            const index = waiters.indexOf(waiter);
            if (index >= 0) waiters.splice(index, 1);
            reject(signal.reason);
            schedule();
          };
          signal.addEventListener('abort', waiter.onAbort, { once: true });
        }
        waiters.push(waiter);
        schedule();
      });
    },
    pauseFor(seconds: number): void {
      if (!Number.isFinite(seconds) || seconds <= 0) return;
      pausedUntil = Math.max(pausedUntil, now() + seconds * 1000);
      schedule();
    },
  };
}
