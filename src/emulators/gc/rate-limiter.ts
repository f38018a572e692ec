/**
 * GC's per-token request limit as the emulator enforces it: at most `budget` requests in any 60 s window
 * per access token. An over-budget request is answered 429 with `Retry-After` = seconds until the oldest
 * request in the window leaves it.
 */

export interface RateDecision {
  readonly allowed: boolean;
  /** Seconds until a slot frees (only when not allowed). */
  readonly retryAfterSeconds: number;
}

export class SlidingWindowLimiter {
  private readonly windows = new Map<string, number[]>();

  constructor(
    private budget: number,
    private readonly now: () => number = Date.now,
    private readonly windowMs = 60_000,
  ) {}

  setBudget(budget: number): void {
    this.budget = budget;
  }

  /** Counts a request for `key` when a slot is free. */
  take(key: string): RateDecision {
    const at = this.now();
    let times = this.windows.get(key);
    if (times === undefined) {
      times = [];
      this.windows.set(key, times);
    }
    let drop = 0;
    while (drop < times.length && (times[drop] as number) + this.windowMs <= at) drop += 1;
    if (drop > 0) times.splice(0, drop);
    if (times.length < this.budget) {
      times.push(at);
      return { allowed: true, retryAfterSeconds: 0 };
    }
    const oldest = times[times.length - this.budget] as number;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + this.windowMs - at) / 1000)) };
  }

  forget(key: string): void {
    this.windows.delete(key);
  }
}
