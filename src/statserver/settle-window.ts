/**
 * The settle window: the two statistics of an agent arrive as separate updates, so an agent is folded
 * `settleMs` after its first pending update, not at each one (a NotReady with reason Break must not show
 * as Busy first). One timer serves every agent: deadlines are `now + settleMs` with a constant `settleMs`,
 * so they are due in insertion order and a FIFO is enough (20,000 agents never mean 20,000 timers).
 */

/** A clock and a one-shot timer; tests inject fakes so no test sleeps. */
export interface Scheduler {
  now(): number;
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const realScheduler: Scheduler = {
  now: () => Date.now(),
  setTimer: (callback, ms) => {
    const handle = setTimeout(callback, ms);
    // Do not keep a process alive only for a pending fold.
    (handle as { unref?: () => void }).unref?.();
    return handle;
  },
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface SettleWindow {
  /** Marks `agentId` changed; it is flushed `settleMs` after its first unflushed change. */
  touch(agentId: string): void;
  /** Flushes `agentId` now if pending (e.g. when both statistics are already in). */
  flushNow(agentId: string): void;
  /** Forgets a pending agent without flushing it. */
  cancel(agentId: string): void;
  /** Flushes every pending agent now. */
  flushAll(): void;
  /** Forgets pending agents without flushing (source stopped). */
  clear(): void;
  readonly pendingCount: number;
}

/**
 * @example
 * const window = createSettleWindow(50, (agentId) => emit(fold(agentId)));
 * window.touch('1001'); // CurrentState update
 * window.touch('1001'); // CurrentStateReason update, same window: one flush 50 ms after the first
 */
export function createSettleWindow(
  settleMs: number,
  onFlush: (agentId: string) => void,
  scheduler: Scheduler = realScheduler,
): SettleWindow {
  if (!Number.isFinite(settleMs) || settleMs < 0) throw new Error(`settleMs must be a number >= 0, got ${settleMs}`);
  const deadlines = new Map<string, number>();
  let timer: unknown = undefined;

  const arm = (): void => {
    if (timer !== undefined) return;
    const first = deadlines.values().next();
    if (first.done === true) return;
    timer = scheduler.setTimer(fire, Math.max(0, first.value - scheduler.now()));
  };

  const fire = (): void => {
    timer = undefined;
    const now = scheduler.now();
    for (const [agentId, deadline] of deadlines) {
      if (deadline > now) break;
      deadlines.delete(agentId);
      onFlush(agentId);
    }
    arm();
  };

  return {
    touch(agentId) {
      if (deadlines.has(agentId)) return;
      if (settleMs === 0) {
        onFlush(agentId);
        return;
      }
      deadlines.set(agentId, scheduler.now() + settleMs);
      arm();
    },
    flushNow(agentId) {
      if (!deadlines.delete(agentId)) return;
      onFlush(agentId);
    },
    cancel(agentId) {
      deadlines.delete(agentId);
    },
    flushAll() {
      const due = [...deadlines.keys()];
      deadlines.clear();
      if (timer !== undefined) scheduler.clearTimer(timer);
      timer = undefined;
      for (const agentId of due) onFlush(agentId);
    },
    clear() {
      deadlines.clear();
      if (timer !== undefined) scheduler.clearTimer(timer);
      timer = undefined;
    },
    get pendingCount() {
      return deadlines.size;
    },
  };
}
