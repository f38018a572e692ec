/**
 * `gc.primarySource`: presence injected under EXAS's source shows in GC only where that source is the user's
 * primary source. GC has no bulk call for it, and one GET + one PUT per user at every start is two requests a
 * user (40,000 at 20,000 users, over two hours of one client's budget). So the keeper spends requests only on
 * users with evidence, and remembers the answer:
 *
 * - The primary source is a lasting GC setting: users confirmed once are saved with the store and never
 *   checked again at restart.
 * - Evidence comes from reads EXAS makes anyway: a read user's shown presence names its source (`sourceId`,
 *   `primary`): EXAS's source → confirmed; another source marked primary → not primary. Where GC does not say,
 *   a user whose shown presence differs from what EXAS's source holds (the presence GC acknowledged) is not
 *   primary, and one who shows it is.
 * - A user with no evidence yet (a new org, a user entering scope) is checked once, after GC acknowledged a
 *   presence write for them: a bulk read of up to 100 such users a request.
 * - The fix is one PUT a user (idempotent, so no GET before it), spread over the clients, paced by their
 *   budgets; logged once per batch, with progress and an ETA while a long batch runs.
 *
 * `check` finds the same users and only reports them (readiness false with the count).
 */
import { GcAuthError, GcError, GcPermissionError, isRetryable } from '../gc/errors.ts';
import { createLogger, type Logger } from '../log.ts';
import type { PrimarySourceConfirmations } from './store.ts';

/** What a read says a user shows: the presence (vocabulary name or custom label) and, where GC says it, its source. */
export interface ShownPresence {
  readonly presence?: string;
  readonly sourceId?: string;
  readonly primary?: boolean;
}

/** The confirmed users as the store saves them (for one presence source). */
export type SavedPrimarySource = PrimarySourceConfirmations;

export interface PrimarySourceKeeperOptions {
  readonly mode: 'check' | 'fix';
  /** Makes `sourceId` the user's primary source through client `worker` (`PUT …/primarysource`). */
  readonly setPrimary: (userId: string, sourceId: string, worker: number, signal: AbortSignal) => Promise<void>;
  /** How many PUTs may run at once (one per GC client: each paces itself on its own budget). */
  readonly workers: number;
  /**
   * Whether this instance may change GC now (high availability: only the lease holder does). While false, users
   * to fix stay queued and checks (reads) go on; `writingAllowed()` starts the queued fixes. Default: always.
   */
  readonly canWrite?: () => boolean;
  /** Reads what users show now (one request per 100 users). */
  readonly readShown: (userIds: readonly string[], signal: AbortSignal) => Promise<Map<string, ShownPresence>>;
  /** The presence GC acknowledged for the user under EXAS's source, if known. */
  readonly acknowledgedPresence: (userId: string) => string | undefined;
  /** Called when the confirmed users changed (the store saves them, debounced). */
  readonly onConfirmedChange?: () => void;
  /** Wait after an acknowledged write before reading the users to check (lets a batch gather). Default 2 s. */
  readonly checkDelayMs?: number;
  /** Shortest gap between two fixes of the same user (someone keeps setting another primary source). Default 10 min. */
  readonly refixAfterMs?: number;
  /** Wait before retrying after GC refused for a while (429 after retries, 5xx, network). Default 15 s. */
  readonly retryDelayMs?: number;
  /**
   * `check` mode: how often the users reported are read again (one request per 100), so readiness recovers once
   * someone made EXAS's source primary for them (`exas doctor --fix`). `fix` mode: how long the queue waits after
   * GC refused a PUT for want of a permission (a 403) before one more try. Default 5 min.
   */
  readonly recheckMs?: number;
  /** Progress log interval while a long batch of fixes runs. Default 30 s. */
  readonly progressLogMs?: number;
  readonly now?: () => number;
  readonly logger?: Logger;
}

export interface PrimarySourceStats {
  /** Users confirmed to have EXAS's source primary (remembered across restarts). */
  readonly confirmed: number;
  /** Users made primary by this process. */
  readonly fixed: number;
  /** Users known not to have EXAS's source primary and left so (`check`, or a fix GC refused). */
  readonly notPrimary: number;
  /** Users waiting for a fix or a check. */
  readonly pending: number;
  /** Primary-source requests sent (PUTs) and check reads (GETs of users). */
  readonly requests: { readonly put: number; readonly read: number };
}

export interface PrimarySourceKeeper {
  /** The confirmed users the store had (undefined: none saved). Must be given once, before work starts. */
  loadSaved(saved: SavedPrimarySource | undefined): void;
  /** EXAS's presence source is known (GC set up): work starts once the saved users are loaded too. */
  sourceReady(sourceId: string): void;
  /** A read (any bulk read EXAS makes) saw what these users show. */
  observeShown(shown: ReadonlyMap<string, ShownPresence>): void;
  /** GC acknowledged a write for the user: an unconfirmed user is checked once. */
  noteAcknowledged(userId: string): void;
  /** The confirmed users for the store (undefined until the source is known). */
  snapshot(): SavedPrimarySource | undefined;
  /** Users known not primary (readiness in `check` mode). */
  notPrimaryCount(): number;
  stats(): PrimarySourceStats;
  /** `canWrite` became true (this instance took the lease): fix the users queued meanwhile. */
  writingAllowed(): void;
  /** Resolves when nothing is queued or running (tests, benchmarks). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

type Verdict = 'confirmed' | 'not-primary' | 'unknown';

/**
 * What the keeper knows of each user: confirmed (EXAS's source is primary), known not primary, to check, to
 * fix, and when a user was last fixed. The evidence rules live here; the keeper decides when to act on them.
 */
interface Evidence {
  readonly confirmed: Set<string>;
  readonly notPrimary: Set<string>;
  /** Users with no evidence yet whose write GC acknowledged: read once. */
  readonly toCheck: Set<string>;
  /** Users found not primary, to fix. */
  readonly toFix: Set<string>;
  /** When a user was last fixed (only users fixed again after their confirmation was contradicted). */
  readonly fixedAt: Map<string, number>;
  /** GC's 403 to the last PUT (the client lacks presence:userPrimarySource:edit): the queue waits `recheckMs`. */
  denied: GcPermissionError | undefined;
  sourceId: string | undefined;
  confirm(userId: string): void;
  /** Judges one observation; `mismatchCounts`: a shown presence other than the acknowledged one is evidence. */
  judge(userId: string, shown: ShownPresence, mismatchCounts: boolean): Verdict;
  apply(userId: string, verdict: Verdict): void;
  /** Users known not primary: reported ones, and those waiting while GC refuses the PUT for want of a permission. */
  notPrimaryNow(): number;
}

function createEvidence(options: PrimarySourceKeeperOptions, now: () => number, refixAfterMs: number, armRecheck: () => void): Evidence {
  const evidence: Evidence = {
    confirmed: new Set<string>(),
    notPrimary: new Set<string>(),
    toCheck: new Set<string>(),
    toFix: new Set<string>(),
    fixedAt: new Map<string, number>(),
    denied: undefined,
    sourceId: undefined,
    confirm(userId) {
      evidence.toCheck.delete(userId);
      evidence.toFix.delete(userId);
      evidence.notPrimary.delete(userId);
      if (evidence.confirmed.has(userId)) return;
      evidence.confirmed.add(userId);
      options.onConfirmedChange?.();
    },
    judge(userId, shown, mismatchCounts) {
      if (shown.sourceId !== undefined && shown.sourceId === evidence.sourceId) return 'confirmed';
      if (shown.sourceId !== undefined && shown.primary === true) return 'not-primary';
      if (!mismatchCounts || shown.presence === undefined) return 'unknown';
      const held = options.acknowledgedPresence(userId);
      if (held === undefined) return 'unknown';
      return held === shown.presence ? 'confirmed' : 'not-primary';
    },
    apply(userId, verdict) {
      if (verdict === 'confirmed') evidence.confirm(userId);
      else if (verdict === 'not-primary') needsFix(userId);
    },
    notPrimaryNow: () => evidence.notPrimary.size + (evidence.denied === undefined ? 0 : evidence.toFix.size),
  };
  /** Evidence that the user's primary source is another one. */
  const needsFix = (userId: string): void => {
    evidence.toCheck.delete(userId);
    if (evidence.confirmed.has(userId)) {
      // Confirmed before: someone set another primary source since. Fix again, but not in a loop with them.
      const last = evidence.fixedAt.get(userId);
      if (last !== undefined && now() - last < refixAfterMs) return;
      evidence.confirmed.delete(userId);
      options.onConfirmedChange?.();
    }
    if (options.mode === 'check') {
      evidence.notPrimary.add(userId);
      armRecheck();
      return;
    }
    evidence.toFix.add(userId);
  };
  return evidence;
}

/** What a batch of checks or fixes needs besides the evidence. */
interface BatchContext {
  readonly options: PrimarySourceKeeperOptions;
  readonly evidence: Evidence;
  readonly counts: { fixed: number; put: number; read: number };
  readonly signal: AbortSignal;
  readonly stopped: () => boolean;
  readonly canWrite: () => boolean;
  readonly now: () => number;
  readonly log: Logger;
  readonly workers: number;
  readonly progressLogMs: number;
  readonly refixAfterMs: number;
  readonly recheckMs: number;
}

/** Reads the users to check (100 a request) and judges them. */
async function checkQueued({ options, evidence, counts, signal, stopped, log }: BatchContext): Promise<void> {
  const userIds = [...evidence.toCheck];
  let found = 0;
  for (let index = 0; index < userIds.length && !stopped(); index += 100) {
    const chunk = userIds.slice(index, index + 100);
    counts.read += 1;
    const shown = await options.readShown(chunk, signal);
    for (const userId of chunk) {
      const seen = shown.get(userId);
      // Not returned (an expansion GC left out, a deleted user): checked again at its next acknowledged write.
      evidence.toCheck.delete(userId);
      if (seen === undefined) continue;
      const verdict = evidence.judge(userId, seen, true);
      if (verdict === 'not-primary') found += 1;
      evidence.apply(userId, verdict);
    }
  }
  if (found > 0) {
    log.info(options.mode === 'fix' ? "users without EXAS's presence source as primary found; fixing" : "users without EXAS's presence source as primary found; their injected presence does not show", {
      checked: userIds.length,
      notPrimary: found,
      ...(options.mode === 'check' ? { reason: 'gc.primarySource is check', totalNotPrimary: evidence.notPrimary.size } : {}),
    });
  }
}

/** PUTs EXAS's source as primary for the queued users, one worker per client. */
async function fixQueued(context: BatchContext): Promise<void> {
  const { options, evidence, counts, signal, stopped, canWrite, now, log, progressLogMs } = context;
  const { toFix } = evidence;
  const ours = evidence.sourceId as string;
  const batch = [...toFix];
  const startedAt = now();
  let done = 0;
  let refused = 0;
  let lastRefusal: string | undefined;
  let transient: unknown;
  let lastProgress = startedAt;
  let next = 0;
  const worker = async (workerIndex: number): Promise<void> => {
    while (!stopped() && canWrite() && transient === undefined && next < batch.length) {
      const userId = batch[next] as string;
      next += 1;
      if (!toFix.has(userId)) continue;
      try {
        counts.put += 1;
        await options.setPrimary(userId, ours, workerIndex, signal);
        toFix.delete(userId);
        evidence.fixedAt.set(userId, now());
        counts.fixed += 1;
        done += 1;
        evidence.denied = undefined;
        evidence.confirm(userId);
      } catch (error) {
        if (stopped()) return;
        if (error instanceof GcPermissionError) {
          // The client lacks the permission: every user would be refused the same. Stop; the users stay queued.
          evidence.denied = error;
          transient = error;
          continue;
        }
        if (error instanceof GcError && !isRetryable(error) && !(error instanceof GcAuthError)) {
          // A deleted user, a bad request: not retried; reported.
          toFix.delete(userId);
          evidence.notPrimary.add(userId);
          refused += 1;
          lastRefusal = error.message;
          continue;
        }
        transient = error;
      }
      const at = now();
      if (at - lastProgress >= progressLogMs) {
        lastProgress = at;
        const rate = done / Math.max(1, at - startedAt);
        log.info("making EXAS's presence source primary", {
          done,
          users: batch.length,
          etaSeconds: rate > 0 ? Math.round((batch.length - done - refused) / rate / 1000) : undefined,
        });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(context.workers, batch.length) }, (_, index) => worker(index)));
  // The refix window needs only recent fixes.
  for (const [userId, at] of evidence.fixedAt) if (now() - at >= context.refixAfterMs) evidence.fixedAt.delete(userId);
  const fields = { fixed: done, users: batch.length, durationMs: now() - startedAt, totalFixed: counts.fixed };
  if (done > 0) log.info("EXAS's presence source made primary", fields);
  if (refused > 0) log.error("GC refused to make EXAS's presence source primary for some users; their injected presence does not show", { users: refused, error: lastRefusal });
  if (evidence.denied !== undefined) {
    log.error("GC refuses to make EXAS's presence source primary: the client lacks a permission; injected presence does not show for the users waiting", {
      waiting: toFix.size,
      error: evidence.denied.message,
      retryInMs: context.recheckMs,
      remedy: 'grant presence:userPrimarySource:edit to the OAuth client (or run exas doctor --fix with a client that has it)',
    });
  }
  if (transient !== undefined) throw transient;
}

export function createPrimarySourceKeeper(options: PrimarySourceKeeperOptions): PrimarySourceKeeper {
  const log = options.logger ?? createLogger('sync.primary-source');
  const now = options.now ?? Date.now;
  const checkDelayMs = options.checkDelayMs ?? 2_000;
  const refixAfterMs = options.refixAfterMs ?? 600_000;
  const retryDelayMs = options.retryDelayMs ?? 15_000;
  const progressLogMs = options.progressLogMs ?? 30_000;
  const recheckMs = options.recheckMs ?? 300_000;
  const workers = Math.max(1, options.workers);
  const canWrite = options.canWrite ?? (() => true);
  const abort = new AbortController();

  let saved: SavedPrimarySource | undefined | null = null; // null: not loaded yet
  let active = false;
  /** Reads seen before the source was known: judged once it is. */
  const early = new Map<string, ShownPresence>();
  const counts = { fixed: 0, put: 0, read: 0 };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;
  let recheckTimer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  /** `check` mode: reads the reported users again later (see `recheckMs`). */
  const armRecheck = (): void => {
    if (options.mode !== 'check' || stopped || recheckTimer !== undefined || evidence.notPrimary.size === 0) return;
    recheckTimer = setTimeout(() => {
      recheckTimer = undefined;
      for (const userId of evidence.notPrimary) evidence.toCheck.add(userId);
      schedule(0);
    }, recheckMs);
  };
  const evidence = createEvidence(options, now, refixAfterMs, armRecheck);
  const { confirmed, toCheck, toFix, notPrimary } = evidence;
  const batch: BatchContext = { options, evidence, counts, signal: abort.signal, stopped: () => stopped, canWrite, now, log, workers, progressLogMs, refixAfterMs, recheckMs };

  const activate = (): void => {
    const sourceId = evidence.sourceId;
    if (active || sourceId === undefined || saved === null) return;
    active = true;
    if (saved !== undefined && saved.sourceId === sourceId) for (const userId of saved.users) confirmed.add(userId);
    else if (saved !== undefined) log.info('the saved primary-source confirmations are for another presence source; checking users again', { saved: saved.sourceId, sourceId });
    saved = undefined;
    // Reads made before the source was known: only what the read itself says counts (the store's acknowledged
    // state is from the last run, and a user who shows it may still have another primary source).
    for (const [userId, shown] of early) evidence.apply(userId, evidence.judge(userId, shown, false));
    early.clear();
    log.info('primary presence source: remembered users loaded', { mode: options.mode, confirmed: confirmed.size, toFix: toFix.size, notPrimary: notPrimary.size });
    schedule(0);
  };

  const idleWaiters: Array<() => void> = [];
  const settleIdle = (): void => {
    if (timer !== undefined || running !== undefined) return;
    for (const resolve of idleWaiters.splice(0)) resolve();
  };

  const schedule = (delayMs: number): void => {
    if (stopped || !active || timer !== undefined || running !== undefined) return settleIdle();
    const fixesReady = toFix.size > 0 && canWrite();
    if (!fixesReady && toCheck.size === 0) return settleIdle();
    timer = setTimeout(() => {
      timer = undefined;
      running = work().finally(() => {
        running = undefined;
        // Work that arrived meanwhile: checks wait to gather a batch, fixes go at once.
        schedule(toFix.size > 0 && canWrite() ? 0 : checkDelayMs);
      });
    }, delayMs);
  };

  const work = async (): Promise<void> => {
    try {
      if (toCheck.size > 0) await checkQueued(batch);
      if (toFix.size > 0 && canWrite()) await fixQueued(batch);
    } catch (error) {
      if (stopped) return;
      const message = error instanceof Error ? error.message : String(error);
      // A missing permission is not retried at once (it would be refused for every user): one try after recheckMs.
      const delay = error instanceof GcPermissionError ? recheckMs : retryDelayMs;
      if (!(error instanceof GcPermissionError)) log.warn('primary presence source work failed; retrying', { reason: message, retryInMs: delay });
      await new Promise<void>((resolve) => {
        const wait = setTimeout(resolve, delay);
        abort.signal.addEventListener('abort', () => (clearTimeout(wait), resolve()), { once: true });
      });
    }
  };

  return {
    loadSaved(loaded) {
      if (saved !== null) return;
      saved = loaded;
      activate();
    },
    writingAllowed() {
      schedule(0);
    },
    sourceReady(id) {
      if (evidence.sourceId !== undefined) return;
      evidence.sourceId = id;
      activate();
    },
    observeShown(shown) {
      if (stopped) return;
      if (!active) {
        for (const [userId, seen] of shown) early.set(userId, seen);
        return;
      }
      // Any read: only what it says of the source counts (a shown presence other than the acknowledged one may
      // be a write still on its way).
      for (const [userId, seen] of shown) evidence.apply(userId, evidence.judge(userId, seen, false));
      schedule(0);
    },
    noteAcknowledged(userId) {
      if (stopped || confirmed.has(userId) || toFix.has(userId) || notPrimary.has(userId)) return;
      toCheck.add(userId);
      schedule(checkDelayMs);
    },
    snapshot: () => (evidence.sourceId === undefined || !active ? undefined : { sourceId: evidence.sourceId, users: confirmed }),
    notPrimaryCount: evidence.notPrimaryNow,
    stats: () => ({ confirmed: confirmed.size, fixed: counts.fixed, notPrimary: evidence.notPrimaryNow(), pending: toFix.size + toCheck.size, requests: { put: counts.put, read: counts.read } }),
    idle: () =>
      timer === undefined && running === undefined ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve)),
    async stop() {
      stopped = true;
      abort.abort();
      if (timer !== undefined) clearTimeout(timer);
      if (recheckTimer !== undefined) clearTimeout(recheckTimer);
      timer = undefined;
      await running;
      settleIdle();
    },
  };
}
