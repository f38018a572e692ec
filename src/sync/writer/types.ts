/**
 * The writer's public surface and its options: what the connector, the sidecar, the benches and the HA gate
 * see of it. The parts behind it (ledger, ordering, dispatcher, failure policy) are private to `writer/`.
 */
import type { GcRetryCounts } from '../../gc/retry-cause.ts';
import type { GcWriteTarget } from '../../gc/ports.ts';
import type { Logger } from '../../log.ts';
import type { GcUserState } from '../../vocabulary.ts';
import type { ClassifyError } from '../classify-error.ts';

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
  /**
   * Called when GC acknowledged one field of a user (presence, or routing status), before `onAcknowledged` and
   * also when the other field is still pending. With presence first, a user's presence is acknowledged a round
   * trip before its routing status: a bulk read of GC that began before this moment may predate the write.
   */
  onFieldAcknowledged?: (userId: string, field: keyof GcUserState, value: string) => void;
  /**
   * Called for each user whose write failed (per event or with its whole request). `wholeRequest`: the request
   * failed as a whole, and the writer has logged it once for all its users.
   */
  onFailed?: (userId: string, error: string, retryable: boolean, wholeRequest: boolean) => void;
  /** Uniform random in [0, 1) for backoff jitter. Default `Math.random`. */
  random?: () => number;
  /** Default: the global `setTimeout` / `clearTimeout`. */
  timers?: WriterTimers;
  /** Default: `createLogger('sync.writer')`. */
  logger?: Logger;
  /**
   * Asked before every GC write (high availability: open only while this instance provably holds the lease).
   * While it is closed nothing is sent, not even by `flush`; desired states keep coalescing. Default: always open.
   */
  gate?: WriterGate;
}

/** See `WriterOptions.gate` (src/ha/leadership.ts implements it). */
export interface WriterGate {
  isOpen(): boolean;
  /** Called when the gate opens; returns unsubscribe. */
  onOpen(listener: () => void): () => void;
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
  /** Users in the writer's queues (queued or backing off): each queue holds a user at most once. */
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


/** The counting part of `WriterStats` (what only grows). */
export type WriterCounters = Omit<WriterStats, 'pendingUsers' | 'failedUsers' | 'inFlightUsers' | 'queueLength' | 'trackedUsers' | 'oldestPendingAgeSeconds'>;

export function zeroCounters(): WriterCounters {
  return {
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
}

/** The stats of a writer that has done nothing yet (also a base for test doubles of `Writer`). */
export function emptyWriterStats(): WriterStats {
  return { pendingUsers: 0, failedUsers: 0, inFlightUsers: 0, queueLength: 0, trackedUsers: 0, oldestPendingAgeSeconds: 0, ...zeroCounters() };
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
   * (see `retryFailed`). `observed` names the parts GC actually reported (default both); the others carry the
   * caller's view. An observed part whose request is open and that differs from what the request carries
   * makes that field unknown once the request answers, so it is written again: GC may have applied the write
   * before the change it reports.
   */
  seedAcknowledged(userId: string, state: GcUserState, version?: number, observed?: ReadonlyArray<keyof GcUserState>): void;
  /** Drops `userId` (left scope). A request in flight for it still settles, but updates nothing. */
  forget(userId: string): void;
  get(userId: string): WriterUserView | undefined;
  /** Starts the send loop (sending happens in the background, on timers and request completions). */
  start(): void;
  /**
   * Gives users parked by a non-retryable failure another try (e.g. after a resync, or once a missing GC
   * permission was granted): all of them, or the first `limit` (a probe whether GC accepts them now). Returns
   * how many users were requeued.
   */
  retryFailed(limit?: number): number;
  /**
   * GC answers again by some other way than a write (e.g. the sidecar's GC set-up succeeded after it was down at
   * start): fields backing off only because whole requests failed go now (the budget still paces them), instead
   * of waiting out a backoff that grew while GC was down.
   */
  gcAnswers(): void;
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
  /**
   * Write requests whose users go out again, by cause (`exas_gc_retries_total{operation="write"}`): one per
   * failed request, and one per request with events GC marked retryable (`event`, or `429` with a Retry-After).
   */
  requestRetries(): GcRetryCounts;
  /** Resolves when nothing is queued, backing off or in flight (parked failures do not count). */
  onIdle(): Promise<void>;
}

