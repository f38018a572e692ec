/**
 * Resync progress: after start, a Stat Server reconnect or backup switch, a GC outage, or a lease takeover (`failover`), every in-scope user
 * is driven to the mapped state of its agent's current Engage state. The writer does the sending (coalesced,
 * batched, within budget: about 2N / batch size requests for N users); this tracks how many of the users the
 * resync touched are settled, for logs and the `exas_resync_*` metrics. A newer resync replaces a running one.
 */

export type ResyncReason = 'start' | 'statserver-reconnect' | 'gc-recovered' | 'rules-reload' | 'scope-change' | 'failover';

/** Whether a user still has a write owed (queued, backing off or in flight). */
export type IsPending = (userId: string) => boolean;

export interface ResyncProgress {
  readonly reason: ResyncReason;
  readonly total: number;
  readonly settled: number;
  /** 0..1 (1 when there is nothing to do). */
  readonly ratio: number;
  readonly startedAt: number;
  readonly done: boolean;
}

export interface ResyncTracker {
  /** Starts tracking `userIds` (replacing a resync in progress). */
  begin(reason: ResyncReason, userIds: Iterable<string>): void;
  /**
   * Re-checks the users still open; returns the progress, with `done` once all settled. Cost is proportional
   * to the users not yet settled, so checking often is cheap once most are.
   */
  check(): ResyncProgress | undefined;
  /** True while a resync is being tracked and not done. */
  readonly inProgress: boolean;
  readonly completed: number;
  /** Whether a resync finished since start (readiness: the first full convergence is done). */
  readonly initialDone: boolean;
}

export function createResyncTracker(isPending: IsPending, now: () => number): ResyncTracker {
  let current: { reason: ResyncReason; open: Set<string>; total: number; startedAt: number } | undefined;
  let completed = 0;
  let initialDone = false;

  return {
    begin(reason, userIds) {
      const open = new Set(userIds);
      current = { reason, open, total: open.size, startedAt: now() };
    },
    check() {
      if (current === undefined) return undefined;
      for (const userId of current.open) if (!isPending(userId)) current.open.delete(userId);
      const settled = current.total - current.open.size;
      const done = current.open.size === 0;
      const progress: ResyncProgress = {
        reason: current.reason,
        total: current.total,
        settled,
        ratio: current.total === 0 ? 1 : settled / current.total,
        startedAt: current.startedAt,
        done,
      };
      if (done) {
        completed += 1;
        // A later full resync (reconnect, GC recovery) that replaced the start one covers everyone as well.
        initialDone = true;
        current = undefined;
      }
      return progress;
    },
    get inProgress() {
      return current !== undefined;
    },
    get completed() {
      return completed;
    },
    get initialDone() {
      return initialDone;
    },
  };
}
