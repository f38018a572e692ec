/**
 * Leadership over a `LeaseBackend`: attempts on a timer, and the write gate the writer consults before every GC
 * write.
 *
 * Timing (why two instances never write at once):
 * - An attempt that holds the lease is proof from the moment it was *sent* (`proofAt`): the service counts the
 *   lease from when it received the renewal, which is later, so nobody else can hold it before
 *   `proofAt + duration`.
 * - The leader starts GC writes only until `proofAt + renew + overdueMargin`, with
 *   `overdueMargin = (duration - renew) / 2`: a renewal overdue by that margin closes the gate, still
 *   `(duration - renew) / 2` before the lease can pass to anyone (5 s at the defaults 15 / 5). Only a request
 *   already open then can reach GC later, within the GC request timeout.
 * - A standby attempts every `standbyPollMs` (default 1 s, at most `renew`), so it takes a dead leader's lease
 *   within about a second of its expiry: kill -9 → takeover ≤ duration + 1 s.
 * - When the service cannot be reached, nobody can prove the lease: the leader's gate closes at its deadline,
 *   and a standby cannot take it; writing resumes once an attempt succeeds.
 */
import { createLogger, type Logger } from '../log.ts';
import type { LeaseBackend, LeaseRole, LeaseView } from './types.ts';

/** What the writer asks before every GC write (see src/sync/writer/index.ts). */
export interface WriteGate {
  /** True while this instance may start a GC write. */
  isOpen(): boolean;
  /** Called whenever the gate opens (leadership taken); returns unsubscribe. */
  onOpen(listener: () => void): () => void;
}

export interface LeadershipTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface LeadershipOptions {
  readonly backend: LeaseBackend;
  readonly identity: string;
  readonly durationMs: number;
  readonly renewMs: number;
  /** A standby's attempt period (default min(renew, 1 s)). */
  readonly standbyPollMs?: number;
  readonly now?: () => number;
  readonly timers?: LeadershipTimers;
  readonly logger?: Logger;
}

/** Why the role changed, for the transition's log line. */
export type TransitionReason = 'lease acquired' | 'lease held by another instance' | 'renewal overdue' | 'released at shutdown';

export interface Transition {
  readonly role: LeaseRole;
  readonly reason: TransitionReason;
  /** When the role changed (epoch ms). */
  readonly at: number;
  /** The holder before (for a takeover: the instance that went away), as last seen. */
  readonly previousHolder: string | null;
}

export interface Leadership extends WriteGate {
  readonly identity: string;
  readonly overdueMarginMs: number;
  /** Starts attempting (the first attempt at once). */
  start(): void;
  /** Stops attempting; with `release`, gives the lease up if held (the standby takes over at once). */
  stop(release: boolean): Promise<void>;
  view(): LeaseView;
  /** Called on every leader ↔ standby change; returns unsubscribe. */
  onTransition(listener: (transition: Transition) => void): () => void;
}

export function createLeadership(options: LeadershipOptions): Leadership {
  const { backend, identity, durationMs, renewMs } = options;
  if (!(renewMs > 0 && renewMs < durationMs)) throw new Error(`lease: renew interval (${renewMs} ms) must be positive and less than the duration (${durationMs} ms)`);
  const overdueMarginMs = (durationMs - renewMs) / 2;
  const standbyPollMs = Math.min(options.standbyPollMs ?? 1_000, renewMs);
  const now = options.now ?? Date.now;
  const timers: LeadershipTimers = options.timers ?? {
    setTimeout: (callback, ms) => setTimeout(callback, ms),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
  const log = options.logger ?? createLogger('ha');

  let role: LeaseRole = 'standby';
  let holder: string | null = null;
  let reachable = false;
  let transitions = 0;
  /** Until when the leader may start writes (proofAt + renew + margin). */
  let writeDeadline = Number.NEGATIVE_INFINITY;
  let running = false;
  let attemptTimer: unknown;
  let deadlineTimer: unknown;
  let inFlight: Promise<void> | undefined;
  let abort = new AbortController();
  let unreachableSince: number | undefined;
  /** When the last attempt the service answered was sent: the standby's proof that it could take over. */
  let lastContactAt: number | undefined;
  let lastError: string | undefined;
  const openListeners = new Set<() => void>();
  const transitionListeners = new Set<(transition: Transition) => void>();

  const isOpen = (): boolean => role === 'leader' && now() < writeDeadline;

  const become = (next: LeaseRole, reason: TransitionReason, previousHolder: string | null): void => {
    if (next === role) return;
    role = next;
    transitions += 1;
    const transition: Transition = { role: next, reason, at: now(), previousHolder };
    const fields = { identity, role: next, reason, previousHolder, holder, lease: backend.describe, transitions };
    if (next === 'leader') log.info('lease acquired: this instance writes to GC', fields);
    else log.warn('lease not held: this instance stops writing to GC and stands by', fields);
    for (const listener of transitionListeners) {
      try {
        listener(transition);
      } catch (error) {
        log.error('lease transition listener threw', { error: error instanceof Error ? error.message : String(error) });
      }
    }
    if (next === 'leader') for (const listener of openListeners) listener();
  };

  const armDeadline = (): void => {
    if (deadlineTimer !== undefined) timers.clearTimeout(deadlineTimer);
    deadlineTimer = timers.setTimeout(() => {
      deadlineTimer = undefined;
      if (role === 'leader' && now() >= writeDeadline) {
        log.warn('lease renewal overdue: closing the write gate before the lease can pass to another instance', {
          identity,
          overdueMarginMs,
          lease: backend.describe,
        });
        become('standby', 'renewal overdue', identity);
      }
    }, Math.max(0, writeDeadline - now()));
  };

  const attempt = async (): Promise<void> => {
    const sentAt = now();
    const signal = abort.signal;
    // An attempt must not outlive the renewal interval: its answer would prove too little.
    const bound = timers.setTimeout(() => abort.abort(), renewMs);
    try {
      const observation = await backend.attempt(signal);
      if (!running) return;
      if (unreachableSince !== undefined) log.info('coordination service answers again', { lease: backend.describe, downMs: now() - unreachableSince });
      unreachableSince = undefined;
      reachable = true;
      lastContactAt = sentAt;
      lastError = undefined;
      const previousHolder = holder;
      holder = observation.holder;
      if (observation.held) {
        writeDeadline = sentAt + renewMs + overdueMarginMs;
        armDeadline();
        // A renewal that arrives after the deadline closed the gate still proves the lease from `sentAt` on.
        if (now() < writeDeadline) become('leader', 'lease acquired', previousHolder);
      } else {
        writeDeadline = Number.NEGATIVE_INFINITY;
        become('standby', 'lease held by another instance', previousHolder);
      }
    } catch (error) {
      if (!running) return;
      reachable = false;
      lastError = error instanceof Error ? error.message : String(error);
      if (unreachableSince === undefined) {
        unreachableSince = now();
        log.warn('coordination service not reachable: this instance cannot prove the lease', {
          lease: backend.describe,
          role,
          error: error instanceof Error ? error.message : String(error),
          writesUntil: role === 'leader' ? new Date(writeDeadline).toISOString() : null,
        });
      }
    } finally {
      timers.clearTimeout(bound);
      if (signal.aborted) abort = new AbortController();
    }
  };

  /**
   * Why this instance cannot show that it could lead (undefined: it can). Judged like the leader's gate: an answer
   * to an attempt sent within `renew + overdueMargin` counts, so one failed attempt does not flap readiness, and
   * a standby cut off from the service turns not ready when a leader in its place would have stopped writing.
   */
  const health = (): string | undefined => {
    if (isOpen()) return undefined;
    if (!running && lastContactAt === undefined) return 'not competing for the lease yet';
    const at = now();
    if (lastContactAt !== undefined && at < lastContactAt + renewMs + overdueMarginMs) return undefined;
    const detail = lastError === undefined ? '' : ` (${lastError})`;
    if (lastContactAt === undefined) {
      return running && inFlight !== undefined && lastError === undefined
        ? `waiting for the first answer of the coordination service (${backend.describe})`
        : `the coordination service has not answered (${backend.describe})${detail}: this instance could not take the lease over`;
    }
    return `the coordination service has not answered for ${Math.round((at - lastContactAt) / 1000)} s (${backend.describe})${detail}: this instance could not take the lease over`;
  };

  const loop = (): void => {
    if (!running) return;
    const startedAt = now();
    inFlight = attempt().finally(() => {
      inFlight = undefined;
      if (!running) return;
      // A leader renews every `renew` (sooner after a failed attempt); a standby polls.
      const period = role === 'leader' && reachable ? renewMs : role === 'leader' ? Math.min(renewMs, standbyPollMs) : standbyPollMs;
      attemptTimer = timers.setTimeout(loop, Math.max(0, startedAt + period - now()));
    });
  };

  return {
    identity,
    overdueMarginMs,
    isOpen,
    onOpen(listener) {
      openListeners.add(listener);
      return () => openListeners.delete(listener);
    },
    start() {
      if (running) return;
      running = true;
      log.info('lease: competing for leadership', { identity, lease: backend.describe, durationMs, renewMs, overdueMarginMs });
      loop();
    },
    async stop(release) {
      const wasLeader = role === 'leader';
      running = false;
      if (attemptTimer !== undefined) timers.clearTimeout(attemptTimer);
      if (deadlineTimer !== undefined) timers.clearTimeout(deadlineTimer);
      abort.abort();
      await inFlight?.catch(() => undefined);
      writeDeadline = Number.NEGATIVE_INFINITY;
      if (wasLeader) become('standby', 'released at shutdown', identity);
      if (!release) return;
      try {
        await backend.release();
        if (wasLeader) log.info('lease released: a standby takes over at once', { identity, lease: backend.describe });
      } catch (error) {
        log.warn('lease release failed: a standby takes over when the lease expires', {
          lease: backend.describe,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    },
    view() {
      const unhealthyReason = health();
      return {
        role: isOpen() ? 'leader' : 'standby',
        identity,
        holder,
        reachable,
        transitions,
        ...(role === 'leader' ? { writeDeadline } : {}),
        healthy: unhealthyReason === undefined,
        ...(unhealthyReason === undefined ? {} : { unhealthyReason }),
        ...(lastContactAt === undefined ? {} : { lastContactAt }),
      };
    },
    onTransition(listener) {
      transitionListeners.add(listener);
      return () => transitionListeners.delete(listener);
    },
  };
}
