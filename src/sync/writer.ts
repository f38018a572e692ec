/**
 * The writer: keeps, per GC user, the desired and the last acknowledged state and sends only what differs,
 * within each GC client's request budget (DESIGN.md "The Genesys Cloud side", issue 6 part 3).
 *
 * - Coalescing: a user has one entry; a newer desired state replaces the older one before it is sent.
 * - No-ops are skipped: nothing is sent when desired equals acknowledged.
 * - Presence and routing status go to separate inject endpoints; a user whose presence is acknowledged but
 *   whose routing status differs goes only into a routing-status batch (and vice versa). Presence goes first,
 *   because GC derives routing status from the On Queue presence.
 * - Fairness: users are served oldest change first (one heap per endpoint, keyed by the time of the oldest
 *   change not yet acknowledged), so a hot agent cannot starve the rest.
 * - Pacing is the `RequestBudget`'s job (the target takes from it per request); the writer waits until
 *   `budget.nextSlotAt()` before it builds a batch, so each batch holds the freshest desired states.
 * - Pool: each batch goes to the target with the earliest free slot; a user has at most one request in flight,
 *   on one target, and its newer desired state is sent only after that request settles (no stale write).
 * - Failures: a 429 pauses that target's budget for `Retry-After` and requeues the users in their place;
 *   5xx / timeouts back off per user (capped exponential, jitter); per-event failures are handled per user;
 *   a non-retryable failure is reported once and parks the user until its desired state changes.
 *
 * @example
 * const writer = createWriter({ targets: [target], onAcknowledged: (id, state, v) => ledger.set(id, state) });
 * writer.start();
 * writer.setDesired(userId, { presence: 'OnQueue', routingStatus: 'Idle' });
 */
import type { GcWriteTarget, WriteOutcome } from '../gc/ports.ts';
import { createLogger, type Logger } from '../log.ts';
import { KEEP, type GcUserState, type PresenceName, type RoutingStatus } from '../vocabulary.ts';
import { retryDelayMs } from './backoff.ts';
import { defaultClassifyError, describeError, type ClassifyError, type ErrorClassification } from './classify-error.ts';
import { IndexedHeap } from './pending-queue.ts';

export { defaultClassifyError, describeError } from './classify-error.ts';
export type { ClassifyError, ErrorClassification } from './classify-error.ts';

/** Timer functions; injectable so tests drive time. `setTimeout`'s handle is opaque to the writer. */
export interface WriterTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options of `createWriter`. Only `targets` is required. */
export interface WriterOptions {
  /** The GC clients to spread writes over (at least one). */
  targets: readonly GcWriteTarget[];
  /** Most users per request (also capped by each target's `maxBatchSize`). Default 100. */
  batchSize?: number;
  /** The longest wait between retries of one user, ms. Default 60 000. */
  maxRetryDelayMs?: number;
  /** The wait before a user's first retry, ms (then doubling, with jitter). Default 1 000. */
  baseRetryDelayMs?: number;
  /**
   * Requests one target may have open at once. More than one keeps a budget busy across GC's latency;
   * the budget still paces them. Default 2.
   */
  maxInFlightPerTarget?: number;
  /** Epoch-ms clock. Default `Date.now`. */
  now?: () => number;
  /** Whether a thrown request failure is retryable (and its Retry-After). Default `defaultClassifyError`. */
  classifyError?: ClassifyError;
  /** Called when GC acknowledged a user's whole state (both parts) for `version`. */
  onAcknowledged?: (userId: string, state: GcUserState, version: number) => void;
  /** Called for each user whose write failed (per event or with its whole request). */
  onFailed?: (userId: string, error: string, retryable: boolean) => void;
  /** Uniform random in [0, 1) for backoff jitter. Default `Math.random`. */
  random?: () => number;
  /** Default: the global `setTimeout` / `clearTimeout`. */
  timers?: WriterTimers;
  /** Default: `createLogger('sync.writer')`. */
  logger?: Logger;
}

/** What the writer knows about one user (for `GET /agents/:id`, explain and tests). */
export interface WriterUserView {
  readonly desired?: GcUserState;
  readonly acknowledged?: GcUserState;
  /** The version of the newest desired state (monotonic per user while the user stays in scope). */
  readonly version: number;
  /** The newest version whose state GC acknowledged (or that equalled the acknowledged state). */
  readonly acknowledgedVersion: number;
  /** Epoch ms of the oldest change not yet acknowledged; absent when nothing is pending. */
  readonly pendingSince?: number;
  readonly lastError?: string;
  readonly inFlight: boolean;
  /** True when the last failure was not retryable: the user waits for a new desired state. */
  readonly failed: boolean;
  /** Epoch ms of the next retry while backing off. */
  readonly retryAt?: number;
}

/** Plain numbers for metrics. Counters only grow; the rest are gauges. */
export interface WriterStats {
  /** Users waiting to be sent (queued or backing off). */
  pendingUsers: number;
  /** Users whose last failure was not retryable (parked until their desired state changes). */
  failedUsers: number;
  inFlightUsers: number;
  /** Entries in the writer's queues: never more than one per user. */
  queueLength: number;
  /** Users the writer tracks. */
  trackedUsers: number;
  /** Age of the oldest change not yet acknowledged (0 when none), seconds. */
  oldestPendingAgeSeconds: number;
  /** Write calls started, one per batch (a per-user target may spend one GC request per user of a batch). */
  requestsSent: number;
  batchesSent: number;
  presenceBatchesSent: number;
  routingStatusBatchesSent: number;
  /** User entries carried by all requests. */
  usersSent: number;
  /** User parts (presence or routing status) GC acknowledged. */
  usersAcknowledged: number;
  /** User writes put back for another try (backoff, 429, missing outcome). */
  retries: number;
  /** Whole requests answered 429. */
  rateLimited: number;
  /** User writes that failed (retryable or not). */
  failures: number;
  /** User writes that failed and will not be retried. */
  permanentFailures: number;
  /** Desired routing statuses no target can set (per-user mode: Interacting / Communicating). */
  routingStatusNotMirrorable: number;
  /** setDesired calls that replaced a not-yet-sent desired state. */
  coalesced: number;
  /** setDesired calls that needed no write (desired equals acknowledged). */
  noOpsSkipped: number;
}

/** The writer's public surface. */
export interface Writer {
  /**
   * Records the newest desired state of `userId` and returns its version. Replaces any unsent desired state
   * (coalescing); needs no write when it equals the acknowledged state. `changedAt` (epoch ms, default now)
   * orders users oldest change first. `desired.presence` must already be resolved (never `keep`).
   */
  setDesired(userId: string, desired: GcUserState, changedAt?: number): number;
  /**
   * Tells the writer what GC holds for `userId`: the store's state at start, or what a resync / drift
   * notification read from GC (the writer then re-asserts the desired state if it differs). `version` (from
   * the store) keeps versions monotonic across restarts. A user parked by a non-retryable failure stays parked
   * (see `retryFailed`).
   */
  seedAcknowledged(userId: string, state: GcUserState, version?: number): void;
  /** Drops `userId` (left scope). A request in flight for it still settles, but updates nothing. */
  forget(userId: string): void;
  get(userId: string): WriterUserView | undefined;
  /** Starts the send loop (sending happens in the background, on timers and request completions). */
  start(): void;
  /**
   * Gives every user parked by a non-retryable failure another try (e.g. after a resync, or once a missing
   * GC permission was granted). Returns how many users were requeued.
   */
  retryFailed(): number;
  /** Stops sending, aborts requests waiting for a budget slot, and resolves when no request is open. */
  stop(): Promise<void>;
  /**
   * For graceful shutdown: keeps sending (even when paused) until nothing is pending or `deadlineMs`
   * milliseconds have passed. `sent` counts user parts acknowledged meanwhile; `remaining` the users still
   * pending or in flight.
   */
  flush(deadlineMs: number): Promise<{ sent: number; remaining: number }>;
  /** Stops starting new requests (open ones settle); desired states keep coalescing. */
  pause(): void;
  resume(): void;
  readonly paused: boolean;
  stats(): WriterStats;
  /** Resolves when nothing is queued, backing off or in flight (parked failures do not count). */
  onIdle(): Promise<void>;
}

type Endpoint = 'presence' | 'routing';
type Place = 'idle' | Endpoint | 'delayed' | 'parked' | 'inflight';

interface InFlightWrite {
  readonly endpoint: Endpoint;
  readonly version: number;
  readonly state: GcUserState;
}

interface UserEntry {
  readonly userId: string;
  desired: GcUserState | undefined;
  version: number;
  acknowledgedPresence: PresenceName | undefined;
  acknowledgedRouting: RoutingStatus | undefined;
  acknowledgedVersion: number;
  /** Time of the oldest change not yet acknowledged: the user's place in the oldest-first order. */
  pendingSince: number | undefined;
  /** Tie-break for equal `pendingSince`: order of arrival. */
  sequence: number;
  /** Time of the first change that arrived while a request was in flight (the next place in line). */
  changedWhileInFlight: number | undefined;
  place: Place;
  heapIndex: number;
  retryAt: number;
  attempts: number;
  lastError: string | undefined;
  inFlight: InFlightWrite | undefined;
  /** Left scope while a request was in flight: dropped when it settles. */
  forgotten: boolean;
  /** The version for which "routing status cannot be mirrored" was already counted. */
  unmirrorableCountedVersion: number;
}

interface Batch {
  readonly endpoint: Endpoint;
  readonly entries: UserEntry[];
}

const DEFAULTS = {
  batchSize: 100,
  maxRetryDelayMs: 60_000,
  baseRetryDelayMs: 1_000,
  maxInFlightPerTarget: 2,
};

/** How many queued users a batch build may look past (users the target cannot write) before it stops. */
const SKIP_FACTOR = 4;

function sameState(a: GcUserState, b: GcUserState): boolean {
  return a.presence === b.presence && a.routingStatus === b.routingStatus;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`writer option ${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new Error(`writer option ${name} must be a non-negative number, got ${value}`);
  return value;
}

/**
 * Creates a writer over a pool of GC write targets. Call `start()` to begin sending.
 *
 * @example
 * const writer = createWriter({ targets, batchSize: 100, onAcknowledged: store.record });
 * for (const [userId, entry] of loaded.entries) writer.seedAcknowledged(userId, entry.state, entry.version);
 * writer.start();
 */
export function createWriter(options: WriterOptions): Writer {
  if (!Array.isArray(options.targets) || options.targets.length === 0) {
    throw new Error('writer option targets must hold at least one GcWriteTarget');
  }
  const targets: readonly GcWriteTarget[] = [...options.targets];
  const batchSize = positiveInteger('batchSize', options.batchSize, DEFAULTS.batchSize);
  const maxInFlightPerTarget = positiveInteger('maxInFlightPerTarget', options.maxInFlightPerTarget, DEFAULTS.maxInFlightPerTarget);
  const maxRetryDelayMs = nonNegative('maxRetryDelayMs', options.maxRetryDelayMs, DEFAULTS.maxRetryDelayMs);
  const baseRetryDelayMs = nonNegative('baseRetryDelayMs', options.baseRetryDelayMs, DEFAULTS.baseRetryDelayMs);
  const now = options.now ?? Date.now;
  const classifyError = options.classifyError ?? defaultClassifyError;
  const random = options.random ?? Math.random;
  const timers: WriterTimers = options.timers ?? {
    setTimeout: (callback, ms) => setTimeout(callback, ms),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
  const log = options.logger ?? createLogger('sync.writer');
  // A throwing callback must not strand the rest of a batch in flight: report it and carry on.
  const onAcknowledged = (userId: string, state: GcUserState, version: number): void => {
    try {
      options.onAcknowledged?.(userId, state, version);
    } catch (error) {
      log.error('onAcknowledged callback threw', { userId, error: describeError(error) });
    }
  };
  const onFailed = (userId: string, error: string, retryable: boolean): void => {
    try {
      options.onFailed?.(userId, error, retryable);
    } catch (callbackError) {
      log.error('onFailed callback threw', { userId, error: describeError(callbackError) });
    }
  };

  const users = new Map<string, UserEntry>();
  const olderChangeFirst = (a: UserEntry, b: UserEntry): boolean =>
    a.pendingSince! < b.pendingSince! || (a.pendingSince === b.pendingSince && a.sequence < b.sequence);
  const presenceQueue = new IndexedHeap<UserEntry>(olderChangeFirst);
  const routingQueue = new IndexedHeap<UserEntry>(olderChangeFirst);
  const delayedQueue = new IndexedHeap<UserEntry>((a, b) => a.retryAt < b.retryAt || (a.retryAt === b.retryAt && olderChangeFirst(a, b)));
  const inFlightUsers = new Set<UserEntry>();
  const inFlightPerTarget = new Map<GcWriteTarget, number>(targets.map((target) => [target, 0]));
  /** Whole requests that failed retryably in a row, per target (reset by any answer). */
  const failedRequestsInARow = new Map<GcWriteTarget, number>();
  const openRequests = new Set<Promise<void>>();
  const idleWaiters: Array<() => void> = [];
  const unmirrorableLogged = new Set<RoutingStatus>();

  let parkedUsers = 0;
  let nextSequence = 0;
  let running = false;
  let paused = false;
  let flushing = 0;
  let pumpQueued = false;
  let wakeHandle: unknown;
  let wakeAt = Number.POSITIVE_INFINITY;
  let abort = new AbortController();
  let roundRobin = 0;

  const counters = {
    requestsSent: 0,
    batchesSent: 0,
    presenceBatchesSent: 0,
    routingStatusBatchesSent: 0,
    usersSent: 0,
    usersAcknowledged: 0,
    retries: 0,
    rateLimited: 0,
    failures: 0,
    permanentFailures: 0,
    routingStatusNotMirrorable: 0,
    coalesced: 0,
    noOpsSkipped: 0,
  };

  // ---- places: every user is in exactly one, so the queues hold at most one entry per user ----

  function leavePlace(entry: UserEntry): void {
    switch (entry.place) {
      case 'presence':
        presenceQueue.remove(entry);
        break;
      case 'routing':
        routingQueue.remove(entry);
        break;
      case 'delayed':
        delayedQueue.remove(entry);
        break;
      case 'parked':
        parkedUsers -= 1;
        break;
      case 'inflight':
        inFlightUsers.delete(entry);
        break;
      case 'idle':
        break;
    }
    entry.place = 'idle';
  }

  function moveTo(entry: UserEntry, place: Place): void {
    if (entry.place === place) return;
    leavePlace(entry);
    entry.place = place;
    switch (place) {
      case 'presence':
        presenceQueue.push(entry);
        break;
      case 'routing':
        routingQueue.push(entry);
        break;
      case 'delayed':
        delayedQueue.push(entry);
        break;
      case 'parked':
        parkedUsers += 1;
        break;
      case 'inflight':
        inFlightUsers.add(entry);
        break;
      case 'idle':
        break;
    }
  }

  function anyTargetCanSet(status: RoutingStatus): boolean {
    return targets.some((target) => target.canSetRoutingStatus(status));
  }

  function routingSettled(entry: UserEntry, status: RoutingStatus): boolean {
    return entry.acknowledgedRouting === status || !anyTargetCanSet(status);
  }

  /** Which endpoint the user needs next, or undefined when GC already holds its desired state. */
  function nextEndpoint(entry: UserEntry): Endpoint | undefined {
    const desired = entry.desired;
    if (desired === undefined) return undefined;
    if (desired.presence !== entry.acknowledgedPresence) return 'presence';
    if (desired.routingStatus === entry.acknowledgedRouting) return undefined;
    if (anyTargetCanSet(desired.routingStatus)) return 'routing';
    // Per-user mode cannot PUT Interacting / Communicating: count it once per version, log once per status,
    // and treat the routing part as settled rather than retry forever.
    if (entry.unmirrorableCountedVersion !== entry.version) {
      entry.unmirrorableCountedVersion = entry.version;
      counters.routingStatusNotMirrorable += 1;
      if (!unmirrorableLogged.has(desired.routingStatus)) {
        unmirrorableLogged.add(desired.routingStatus);
        log.warn('routing status cannot be mirrored by any GC client; writing presence only', {
          routingStatus: desired.routingStatus,
          userId: entry.userId,
        });
      }
    }
    return undefined;
  }

  function acknowledgedState(entry: UserEntry, fallbackRouting: RoutingStatus): GcUserState | undefined {
    if (entry.acknowledgedPresence === undefined) return undefined;
    return { presence: entry.acknowledgedPresence, routingStatus: entry.acknowledgedRouting ?? fallbackRouting };
  }

  /** Puts a user that is not in flight where its state says: idle, or queued for its next endpoint. */
  function place(entry: UserEntry): void {
    const endpoint = nextEndpoint(entry);
    if (endpoint === undefined) {
      moveTo(entry, 'idle');
      if (entry.desired !== undefined && entry.acknowledgedVersion < entry.version) {
        entry.acknowledgedVersion = entry.version;
      }
      entry.pendingSince = undefined;
      entry.attempts = 0;
      entry.lastError = undefined;
      return;
    }
    if (entry.place === 'parked' || entry.place === 'delayed') return;
    if (entry.pendingSince === undefined) {
      entry.pendingSince = now();
      entry.sequence = nextSequence++;
    }
    moveTo(entry, endpoint);
  }

  function createEntry(userId: string): UserEntry {
    const entry: UserEntry = {
      userId,
      desired: undefined,
      version: 0,
      acknowledgedPresence: undefined,
      acknowledgedRouting: undefined,
      acknowledgedVersion: 0,
      pendingSince: undefined,
      sequence: 0,
      changedWhileInFlight: undefined,
      place: 'idle',
      heapIndex: -1,
      retryAt: 0,
      attempts: 0,
      lastError: undefined,
      inFlight: undefined,
      forgotten: false,
      unmirrorableCountedVersion: -1,
    };
    users.set(userId, entry);
    return entry;
  }

  // ---- the send loop ----

  function schedulePump(): void {
    if (pumpQueued || !running) return;
    pumpQueued = true;
    // A microtask, so a burst of synchronous setDesired calls becomes one batch.
    queueMicrotask(pump);
  }

  function wakeUpAt(at: number): void {
    if (at >= wakeAt) return;
    if (wakeHandle !== undefined) timers.clearTimeout(wakeHandle);
    wakeAt = at;
    wakeHandle = timers.setTimeout(() => {
      wakeHandle = undefined;
      wakeAt = Number.POSITIVE_INFINITY;
      pump();
    }, Math.max(0, at - now()));
  }

  function clearWake(): void {
    if (wakeHandle !== undefined) timers.clearTimeout(wakeHandle);
    wakeHandle = undefined;
    wakeAt = Number.POSITIVE_INFINITY;
  }

  function promoteDueRetries(time: number): void {
    for (let entry = delayedQueue.peek(); entry !== undefined && entry.retryAt <= time; entry = delayedQueue.peek()) {
      moveTo(entry, 'idle');
      place(entry);
    }
  }

  function pump(): void {
    pumpQueued = false;
    if (!running) return;
    const time = now();
    promoteDueRetries(time);
    if (!paused || flushing > 0) {
      while (presenceQueue.size + routingQueue.size > 0) {
        if (!dispatchOne(time)) break;
      }
    }
    const nextRetry = delayedQueue.peek();
    if (nextRetry !== undefined) wakeUpAt(nextRetry.retryAt);
    checkIdle();
  }

  /** Sends one batch to the target with the earliest free slot; false when none can be sent now. */
  function dispatchOne(time: number): boolean {
    const candidates = targets
      .map((target, index) => ({ target, index, slot: target.budget.nextSlotAt(), open: inFlightPerTarget.get(target)! }))
      .filter((candidate) => candidate.open < maxInFlightPerTarget)
      .sort(
        (a, b) =>
          Math.max(a.slot, time) - Math.max(b.slot, time) ||
          a.open - b.open ||
          ((a.index - roundRobin + targets.length) % targets.length) - ((b.index - roundRobin + targets.length) % targets.length),
      );
    for (const candidate of candidates) {
      if (candidate.slot > time) {
        // Wait for the slot rather than queue inside the budget: the batch is built when it can leave.
        wakeUpAt(candidate.slot);
        return false;
      }
      const batch = buildBatch(candidate.target);
      if (batch === undefined) continue;
      roundRobin = (candidate.index + 1) % targets.length;
      send(candidate.target, batch);
      return true;
    }
    return false;
  }

  function buildBatch(target: GcWriteTarget): Batch | undefined {
    const size = Math.max(1, Math.min(batchSize, target.maxBatchSize));
    const presenceFirst = presenceQueue.peek();
    const routingFirst = routingQueue.peek();
    const order: Endpoint[] =
      presenceFirst !== undefined && (routingFirst === undefined || olderChangeFirst(presenceFirst, routingFirst))
        ? ['presence', 'routing']
        : ['routing', 'presence'];
    for (const endpoint of order) {
      const queue = endpoint === 'presence' ? presenceQueue : routingQueue;
      const entries: UserEntry[] = [];
      const skipped: UserEntry[] = [];
      while (entries.length < size && skipped.length < size * SKIP_FACTOR) {
        const entry = queue.pop();
        if (entry === undefined) break;
        entry.place = 'idle';
        if (endpoint === 'routing' && !target.canSetRoutingStatus(entry.desired!.routingStatus)) skipped.push(entry);
        else entries.push(entry);
      }
      for (const entry of skipped) moveTo(entry, endpoint);
      if (entries.length > 0) return { endpoint, entries };
    }
    return undefined;
  }

  function send(target: GcWriteTarget, batch: Batch): void {
    for (const entry of batch.entries) {
      entry.inFlight = { endpoint: batch.endpoint, version: entry.version, state: entry.desired! };
      entry.changedWhileInFlight = undefined;
      moveTo(entry, 'inflight');
    }
    inFlightPerTarget.set(target, inFlightPerTarget.get(target)! + 1);
    counters.requestsSent += 1;
    counters.batchesSent += 1;
    counters.usersSent += batch.entries.length;
    if (batch.endpoint === 'presence') counters.presenceBatchesSent += 1;
    else counters.routingStatusBatchesSent += 1;
    const signal = abort.signal;
    let request: Promise<WriteOutcome[]>;
    try {
      request =
        batch.endpoint === 'presence'
          ? target.writePresence(batch.entries.map((entry) => ({ userId: entry.userId, presence: entry.inFlight!.state.presence })), signal)
          : target.writeRoutingStatus(
              batch.entries.map((entry) => ({ userId: entry.userId, routingStatus: entry.inFlight!.state.routingStatus })),
              signal,
            );
    } catch (error) {
      request = Promise.reject(error);
    }
    const settled: Promise<void> = request
      .then(
        (outcomes) => settleOutcomes(target, batch, outcomes),
        (error: unknown) => settleError(target, batch, error, signal),
      )
      .catch((error: unknown) => log.error('writer bookkeeping failed', { error: describeError(error) }))
      .finally(() => {
        inFlightPerTarget.set(target, inFlightPerTarget.get(target)! - 1);
        openRequests.delete(settled);
        schedulePump();
        checkIdle();
      });
    openRequests.add(settled);
  }

  // ---- settling a request ----

  function settleOutcomes(target: GcWriteTarget, batch: Batch, outcomes: readonly WriteOutcome[]): void {
    failedRequestsInARow.delete(target);
    const byUser = new Map<string, WriteOutcome>();
    let retryAfterSeconds: number | undefined;
    for (const outcome of outcomes) {
      byUser.set(outcome.userId, outcome);
      if (!outcome.ok && outcome.retryable && outcome.retryAfterSeconds !== undefined) {
        retryAfterSeconds = Math.max(retryAfterSeconds ?? 0, outcome.retryAfterSeconds);
      }
    }
    if (retryAfterSeconds !== undefined) {
      // A Retry-After on an event comes from a 429 inside the call (per-user mode): a client-wide limit.
      counters.rateLimited += 1;
      target.budget.pauseFor(retryAfterSeconds);
      log.warn('GC rate limited part of a write; pausing this client', { target: target.name, retryAfterSeconds });
    }
    for (const entry of batch.entries) {
      const outcome = byUser.get(entry.userId);
      if (outcome === undefined) failed(entry, { retryable: true }, 'no outcome for this user in the response');
      else if (outcome.ok) acknowledged(entry);
      else if (outcome.retryable && outcome.retryAfterSeconds !== undefined) {
        // Like a whole-request 429: the paused budget holds this client back; the user keeps its place.
        counters.retries += 1;
        entry.lastError = outcome.message;
        requeue(entry);
      } else {
        const classification: ErrorClassification =
          outcome.retryAfterSeconds === undefined
            ? { retryable: outcome.retryable }
            : { retryable: outcome.retryable, retryAfterSeconds: outcome.retryAfterSeconds };
        failed(entry, classification, outcome.code === undefined ? outcome.message : `${outcome.code}: ${outcome.message}`);
      }
    }
  }

  function settleError(target: GcWriteTarget, batch: Batch, error: unknown, signal: AbortSignal): void {
    if (signal.aborted) {
      // Stopped while waiting for a slot: nothing reached GC; put users back in their place.
      for (const entry of batch.entries) requeue(entry);
      return;
    }
    const classification = classifyError(error);
    const message = describeError(error);
    if (classification.retryAfterSeconds !== undefined) {
      counters.rateLimited += 1;
      target.budget.pauseFor(classification.retryAfterSeconds);
      log.warn('GC rate limited a request; pausing this client', {
        target: target.name,
        retryAfterSeconds: classification.retryAfterSeconds,
        users: batch.entries.length,
      });
      // The budget pause holds this target back; the users keep their place and may go to another target.
      for (const entry of batch.entries) {
        counters.retries += 1;
        entry.lastError = message;
        requeue(entry);
      }
      return;
    }
    log.warn('GC write request failed', {
      target: target.name,
      endpoint: batch.endpoint,
      users: batch.entries.length,
      retryable: classification.retryable,
      error: message,
    });
    if (classification.retryable) {
      // GC (or the way to it) is failing: hold the whole client back for a short backoff, so retries and new
      // changes leave together in full batches when it answers, instead of one small request per user that
      // spends the minute's budget during the outage and leaves none for the recovery.
      const inARow = (failedRequestsInARow.get(target) ?? 0) + 1;
      failedRequestsInARow.set(target, inARow);
      target.budget.pauseFor(retryDelayMs(inARow, { baseMs: baseRetryDelayMs, maxMs: Math.min(maxRetryDelayMs, 5_000), random }) / 1000);
    }
    // The request-level line above says it once; no per-user line for each of up to a batch of users.
    for (const entry of batch.entries) failed(entry, { retryable: classification.retryable }, message, false);
  }

  /** Ends the in-flight record; returns false when the user left scope meanwhile (and drops it). */
  function endFlight(entry: UserEntry): InFlightWrite | undefined {
    const flight = entry.inFlight;
    entry.inFlight = undefined;
    moveTo(entry, 'idle');
    if (entry.forgotten) {
      if (users.get(entry.userId) === entry) users.delete(entry.userId);
      return undefined;
    }
    return flight;
  }

  function requeue(entry: UserEntry): void {
    if (endFlight(entry) === undefined) return;
    entry.changedWhileInFlight = undefined;
    place(entry);
  }

  function acknowledged(entry: UserEntry): void {
    const flight = endFlight(entry);
    if (flight === undefined) return;
    if (flight.endpoint === 'presence') entry.acknowledgedPresence = flight.state.presence;
    else entry.acknowledgedRouting = flight.state.routingStatus;
    counters.usersAcknowledged += 1;
    entry.attempts = 0;
    entry.lastError = undefined;
    // A change that arrived during the request is a new change: it queues from when it happened, behind older ones.
    if (entry.changedWhileInFlight !== undefined) {
      entry.pendingSince = entry.changedWhileInFlight;
      entry.sequence = nextSequence++;
      entry.changedWhileInFlight = undefined;
    }
    // The response acknowledges what was sent (version `flight.version`), never a newer desired state.
    let version = entry.acknowledgedVersion;
    const sent = flight.state;
    if (entry.acknowledgedPresence === sent.presence && routingSettled(entry, sent.routingStatus)) {
      version = Math.max(version, flight.version);
    }
    const desired = entry.desired;
    if (desired !== undefined && entry.acknowledgedPresence === desired.presence && routingSettled(entry, desired.routingStatus)) {
      version = Math.max(version, entry.version);
    }
    if (version > entry.acknowledgedVersion) {
      entry.acknowledgedVersion = version;
      const state = acknowledgedState(entry, version === entry.version && desired !== undefined ? desired.routingStatus : sent.routingStatus);
      if (state !== undefined) onAcknowledged(entry.userId, state, version);
    }
    place(entry);
  }

  function failed(entry: UserEntry, classification: ErrorClassification, message: string, logEach = true): void {
    const flight = endFlight(entry);
    if (flight === undefined) return;
    entry.changedWhileInFlight = undefined;
    entry.lastError = message;
    counters.failures += 1;
    onFailed(entry.userId, message, classification.retryable);
    if (classification.retryable) {
      counters.retries += 1;
      entry.attempts += 1;
      const delay =
        classification.retryAfterSeconds !== undefined
          ? classification.retryAfterSeconds * 1000
          : retryDelayMs(entry.attempts, { baseMs: baseRetryDelayMs, maxMs: maxRetryDelayMs, random });
      entry.retryAt = now() + delay;
      if (nextEndpoint(entry) === undefined) place(entry);
      else moveTo(entry, 'delayed');
      return;
    }
    if (entry.version > flight.version) {
      // Desired moved on while the request was open: the newer state may well be accepted.
      place(entry);
      return;
    }
    counters.permanentFailures += 1;
    if (logEach) {
      log.warn('GC rejected a write; waiting for a new desired state', { userId: entry.userId, endpoint: flight.endpoint, error: message });
    }
    if (nextEndpoint(entry) === undefined) place(entry);
    else moveTo(entry, 'parked');
  }

  // ---- idle ----

  function isIdle(): boolean {
    return presenceQueue.size + routingQueue.size + delayedQueue.size + inFlightUsers.size === 0;
  }

  function checkIdle(): void {
    if (!isIdle() || idleWaiters.length === 0) return;
    for (const resolve of idleWaiters.splice(0)) resolve();
  }

  // ---- public surface ----

  function setDesired(userId: string, desired: GcUserState, changedAt?: number): number {
    if (desired.presence === KEEP) throw new Error(`desired presence for user ${userId} is 'keep'; resolve it before the writer`);
    const entry = users.get(userId) ?? createEntry(userId);
    if (entry.forgotten) {
      entry.forgotten = false;
      users.set(userId, entry);
    }
    if (entry.desired !== undefined && sameState(entry.desired, desired)) return entry.version;
    const at = changedAt ?? now();
    const wasWaiting = entry.place === 'presence' || entry.place === 'routing' || entry.place === 'delayed';
    entry.desired = { presence: desired.presence, routingStatus: desired.routingStatus };
    entry.version += 1;
    if (entry.place === 'parked') {
      moveTo(entry, 'idle');
      entry.attempts = 0;
      entry.lastError = undefined;
    }
    if (entry.inFlight !== undefined) {
      entry.changedWhileInFlight ??= at;
      counters.coalesced += 1;
      return entry.version;
    }
    if (wasWaiting) counters.coalesced += 1;
    if (entry.pendingSince === undefined) {
      entry.pendingSince = at;
      entry.sequence = nextSequence++;
    }
    place(entry);
    if (entry.place === 'idle') counters.noOpsSkipped += 1;
    else schedulePump();
    checkIdle();
    return entry.version;
  }

  function seedAcknowledged(userId: string, state: GcUserState, version?: number): void {
    const entry = users.get(userId) ?? createEntry(userId);
    entry.acknowledgedPresence = state.presence;
    entry.acknowledgedRouting = state.routingStatus;
    if (version !== undefined) {
      entry.acknowledgedVersion = version;
      entry.version = Math.max(entry.version, version);
    }
    if (entry.inFlight !== undefined) return;
    if (entry.place !== 'parked' && entry.place !== 'delayed') place(entry);
    schedulePump();
    checkIdle();
  }

  function forget(userId: string): void {
    const entry = users.get(userId);
    if (entry === undefined) return;
    if (entry.inFlight !== undefined) {
      entry.forgotten = true;
      entry.desired = undefined;
    } else {
      moveTo(entry, 'idle');
      users.delete(userId);
    }
    checkIdle();
  }

  function retryFailed(): number {
    let requeued = 0;
    for (const entry of users.values()) {
      if (entry.place !== 'parked') continue;
      moveTo(entry, 'idle');
      entry.attempts = 0;
      place(entry);
      requeued += 1;
    }
    if (requeued > 0) schedulePump();
    return requeued;
  }

  function get(userId: string): WriterUserView | undefined {
    const entry = users.get(userId);
    if (entry === undefined || entry.forgotten) return undefined;
    const acknowledged =
      entry.acknowledgedPresence !== undefined && entry.acknowledgedRouting !== undefined
        ? { presence: entry.acknowledgedPresence, routingStatus: entry.acknowledgedRouting }
        : undefined;
    return {
      ...(entry.desired !== undefined ? { desired: entry.desired } : {}),
      ...(acknowledged !== undefined ? { acknowledged } : {}),
      version: entry.version,
      acknowledgedVersion: entry.acknowledgedVersion,
      ...(entry.pendingSince !== undefined ? { pendingSince: entry.pendingSince } : {}),
      ...(entry.lastError !== undefined ? { lastError: entry.lastError } : {}),
      inFlight: entry.inFlight !== undefined,
      failed: entry.place === 'parked',
      ...(entry.place === 'delayed' ? { retryAt: entry.retryAt } : {}),
    };
  }

  function oldestPendingSince(): number | undefined {
    let oldest: number | undefined;
    const consider = (entry: UserEntry | undefined): void => {
      if (entry?.pendingSince !== undefined && (oldest === undefined || entry.pendingSince < oldest)) oldest = entry.pendingSince;
    };
    consider(presenceQueue.peek());
    consider(routingQueue.peek());
    for (const entry of delayedQueue.values()) consider(entry);
    for (const entry of inFlightUsers) consider(entry);
    return oldest;
  }

  function stats(): WriterStats {
    const oldest = oldestPendingSince();
    const queued = presenceQueue.size + routingQueue.size + delayedQueue.size;
    return {
      pendingUsers: queued,
      failedUsers: parkedUsers,
      inFlightUsers: inFlightUsers.size,
      queueLength: queued,
      trackedUsers: users.size,
      oldestPendingAgeSeconds: oldest === undefined ? 0 : Math.max(0, (now() - oldest) / 1000),
      ...counters,
    };
  }

  async function stop(): Promise<void> {
    running = false;
    clearWake();
    abort.abort();
    while (openRequests.size > 0) await Promise.allSettled([...openRequests]);
    abort = new AbortController();
    checkIdle();
  }

  async function flush(deadlineMs: number): Promise<{ sent: number; remaining: number }> {
    const before = counters.usersAcknowledged;
    const remaining = (): number => presenceQueue.size + routingQueue.size + delayedQueue.size + inFlightUsers.size;
    if (!running) start();
    flushing += 1;
    schedulePump();
    let deadlineHandle: unknown;
    try {
      await Promise.race([
        onIdle(),
        new Promise<void>((resolve) => {
          deadlineHandle = timers.setTimeout(resolve, Math.max(0, deadlineMs));
        }),
      ]);
    } finally {
      timers.clearTimeout(deadlineHandle);
      flushing -= 1;
    }
    return { sent: counters.usersAcknowledged - before, remaining: remaining() };
  }

  function start(): void {
    if (running) return;
    running = true;
    schedulePump();
  }

  function onIdle(): Promise<void> {
    if (isIdle()) return Promise.resolve();
    return new Promise((resolve) => idleWaiters.push(resolve));
  }

  return {
    setDesired,
    seedAcknowledged,
    forget,
    get,
    retryFailed,
    start,
    stop,
    flush,
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
      schedulePump();
    },
    get paused() {
      return paused;
    },
    stats,
    onIdle,
  };
}
