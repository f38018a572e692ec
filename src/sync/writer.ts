/**
 * The writer: keeps, per GC user, the desired and the last acknowledged state and sends only what differs,
 * within each GC client's request budget (DESIGN.md "The Genesys Cloud side", issue 6 part 3).
 *
 * - Coalescing: a user has one entry; a newer desired state replaces the older one before it is sent.
 * - No-ops are skipped: nothing is sent when desired equals acknowledged.
 * - Presence and routing status are GC fields set by separate inject endpoints, so the writer keeps each
 *   user's two fields apart: a user whose presence is acknowledged but whose routing status differs goes only
 *   into a routing-status batch (and vice versa), and presence and routing-status batches are assembled from
 *   separate queues, so each can be full.
 * - Presence first, per user: GC keeps routing status OFF_QUEUE unless presence is On Queue and may reset it
 *   when presence leaves On Queue, so a routing-status write that GC processes before the same user's presence
 *   write can be clobbered (Ready → Not Ready on a call: presence Busy, routing Communicating). A user's
 *   routing-status change therefore waits, outside the routing queue, while its presence is queued, in flight
 *   or backing off; it joins the queue when GC acknowledges the presence. A presence that cannot be written
 *   does not hold it back for good: after a non-retryable rejection (parked), or after
 *   `PRESENCE_FIRST_MAX_ATTEMPTS` (3) failed attempts, the routing status goes while presence keeps retrying;
 *   a presence change then waits while that routing-status request is open, so a user never has both fields
 *   in flight at once. A full resync of N users with both fields changed still costs 2N / batchSize requests
 *   with full batches: a presence batch's acknowledgement makes its users' routing statuses eligible together.
 * - Fairness: users are served oldest change first (one heap per endpoint, keyed by the time of the user's
 *   oldest change not yet acknowledged), so a hot agent cannot starve the rest.
 * - Pacing is the `RequestBudget`'s job (the target takes from it per request); the writer waits until
 *   `budget.nextSlotAt()` before it builds a batch, so each batch holds the freshest desired states.
 * - Pool: each batch goes to the target with the earliest free slot, and while the clients run on their
 *   refills a batch that is not full waits until two of the pool's slots passed since the last batch of its
 *   endpoint, so the clients' slots spread out instead of coming in lockstep; a user has at most one request in flight
 *   (one field, on one target), and a newer desired value of a field is sent only after that field's request
 *   settles (no stale write of a field).
 * - Failures: a 429 pauses that target's budget for `Retry-After` and requeues the users in their place;
 *   a failed request (5xx, timeout) pauses its client once per failed round and backs off each of its fields
 *   (capped exponential, jitter) until that client answers again, when they go at once; per-event failures
 *   back off per user and field; a non-retryable failure is reported once and parks the field until the
 *   user's desired state changes.
 *
 * @example
 * const writer = createWriter({ targets: [target], onAcknowledged: (id, state, version) => acknowledged.set(id, state, version) });
 * writer.start();
 * writer.setDesired(userId, { presence: 'OnQueue', routingStatus: 'Idle' });
 */
import { isNotSetUp } from '../gc/index.ts';
import { retryCauseOf, zeroRetryCounts, type GcRetryCounts } from '../gc/retry-cause.ts';
import type { GcWriteTarget, WriteOutcome } from '../gc/ports.ts';
import { createLogger, type Logger } from '../log.ts';
import { KEEP, type GcUserState, type PresenceName, type RoutingStatus } from '../vocabulary.ts';
import { retryDelayMs } from './backoff.ts';
import { defaultClassifyError, describeError, type ClassifyError, type ErrorClassification } from './classify-error.ts';
import { packTime, unpackTime, type PackedTime } from '../platform/compact-time.ts';
import { sharedState } from './desired-state.ts';
import { IndexedHeap } from './pending-queue.ts';
import { sharedAbortController } from '../platform/abort.ts';

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

const BOTH_PARTS: ReadonlyArray<keyof GcUserState> = ['presence', 'routingStatus'];
const ENDPOINTS: readonly Endpoint[] = ['presence', 'routing'];

/** The counting part of `WriterStats` (what only grows). */
type WriterCounters = Omit<WriterStats, 'pendingUsers' | 'failedUsers' | 'inFlightUsers' | 'queueLength' | 'trackedUsers' | 'oldestPendingAgeSeconds'>;

function zeroCounters(): WriterCounters {
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

type Endpoint = 'presence' | 'routing';
/**
 * Where a field of a user is: settled, waiting in its endpoint's queue, waiting (outside any queue) for the
 * user's other field (presence first, see `waitsForOther`), backing off, parked, or in a request.
 */
type Place = 'idle' | 'queued' | 'waitsForOther' | 'delayed' | 'parked' | 'inflight';

interface InFlightWrite {
  readonly version: number;
  /** The user's whole desired state when the request left (the field sent is this part's). */
  readonly state: GcUserState;
}

/**
 * One field (presence or routing status) of one user: the unit the queues hold and requests carry. A part is
 * in one place at a time, so each queue holds at most one entry per user, and a field has at most one request
 * in flight.
 */
interface Part {
  readonly user: UserEntry;
  readonly endpoint: Endpoint;
  place: Place;
  heapIndex: number;
  /** Time of the oldest change of this field not yet acknowledged. */
  pendingSince: number | undefined;
  /** Tie-break for equal `pendingSince`: order of arrival. */
  sequence: number;
  /** Time of the first change that arrived while this field's request was in flight (the next place in line). */
  changedWhileInFlight: number | undefined;
  /** What failed writes of this field left (made at the first failure, dropped once written: most never fail). */
  failures: Failures | undefined;
  inFlight: InFlightWrite | undefined;
  /**
   * While this field's request was open, EXAS was told GC holds another value (drift, a bulk read). GC may have
   * applied the write before that change, so the write's acknowledgement does not prove GC holds it: the field's
   * acknowledged value becomes unknown and it is written again (chaos full profile: a foreign write made during
   * a slow request was never repaired).
   */
  seededInFlight: boolean;
}

/**
 * A part's failed writes: kept apart from the part, which most of the time has none (four fields in every part
 * cost ~3 MiB while a resync holds 100,000 parts at 50,000 users).
 */
interface Failures {
  /** When a backing-off field may go again, packed (see compact-time.ts: epoch ms would be a 16-byte box). */
  retryAt: PackedTime;
  attempts: number;
  lastError: string | undefined;
  /** Backing off because its whole request failed (GC down), not because of something about this user. */
  waitsOnOutage: boolean;
}

/** The part's failure record, made if it has none. */
function failuresOf(part: Part): Failures {
  return (part.failures ??= { retryAt: 0 as PackedTime, attempts: 0, lastError: undefined, waitsOnOutage: false });
}

/** When a delayed part may go again (packed). */
function retryAtOf(part: Part): PackedTime {
  return part.failures?.retryAt ?? (0 as PackedTime);
}

/** Counts by kind: parts waiting (queued or backing off), in flight, parked. */
interface Tally {
  waiting: number;
  inflight: number;
  parked: number;
}

/** What the writer keeps per user: the desired state, what GC acknowledged of each field, and the two fields. */
class UserEntry {
  desired: GcUserState | undefined = undefined;
  version = 0;
  acknowledgedPresence: PresenceName | undefined = undefined;
  acknowledgedRouting: RoutingStatus | undefined = undefined;
  acknowledgedVersion = 0;
  /**
   * The two fields, made when one has something to do and dropped once blank again (see `partOf` and
   * `releaseBlankParts`): most users are settled most of the time, and two parts cost about 300 bytes a user.
   */
  presencePart: Part | undefined = undefined;
  routingPart: Part | undefined = undefined;
  /** How many of this user's parts are waiting (queued or backing off), in flight, parked. */
  waiting = 0;
  inflight = 0;
  parked = 0;
  /**
   * The user's place in line (the oldest change not yet acknowledged of its waiting or in-flight fields), kept
   * here so the queues compare two numbers; undefined when nothing is pending (an `Infinity` here made V8 keep a
   * 16-byte number box in every entry; a pending time is the part's own number, shared).
   */
  lineSince: number | undefined = undefined;
  lineSequence = 0;
  /** Left scope while a request was in flight: dropped when it settles. */
  forgotten = false;
  /** The version for which "routing status cannot be mirrored" was already counted. */
  unmirrorableCountedVersion = -1;

  constructor(readonly userId: string) {}
}

function createPart(user: UserEntry, endpoint: Endpoint): Part {
  return {
    user,
    endpoint,
    place: 'idle',
    heapIndex: -1,
    pendingSince: undefined,
    sequence: 0,
    changedWhileInFlight: undefined,
    failures: undefined,
    inFlight: undefined,
    seededInFlight: false,
  };
}

/** The user's part for `endpoint` if it has one (a user without one has that field idle and blank). */
function peekPart(user: UserEntry, endpoint: Endpoint): Part | undefined {
  return endpoint === 'presence' ? user.presencePart : user.routingPart;
}

/** Whether a part holds nothing a fresh one would not: it can be dropped and made again when needed. */
function isBlank(part: Part): boolean {
  return (
    part.place === 'idle' &&
    part.inFlight === undefined &&
    part.pendingSince === undefined &&
    part.changedWhileInFlight === undefined &&
    (part.failures === undefined || (part.failures.attempts === 0 && part.failures.lastError === undefined && !part.failures.waitsOnOutage)) &&
    !part.seededInFlight
  );
}

/** True when `a` changed before `b` (or, at the same time, arrived first). */
function changedBefore(a: Part, b: Part): boolean {
  return a.pendingSince! < b.pendingSince! || (a.pendingSince === b.pendingSince && a.sequence < b.sequence);
}

/** Whether a part's pending change holds its user's place in line (waiting or in flight; not parked). */
function holdsPlace(part: Part): boolean {
  return (
    part.pendingSince !== undefined &&
    (part.place === 'queued' || part.place === 'waitsForOther' || part.place === 'delayed' || part.place === 'inflight')
  );
}

/** The part holding the user's oldest change not yet acknowledged among its waiting or in-flight fields. */
function lineKey(user: UserEntry): Part | undefined {
  const presence = user.presencePart !== undefined && holdsPlace(user.presencePart) ? user.presencePart : undefined;
  const routing = user.routingPart !== undefined && holdsPlace(user.routingPart) ? user.routingPart : undefined;
  if (presence === undefined || routing === undefined) return presence ?? routing;
  return changedBefore(routing, presence) ? routing : presence;
}

/** Recomputes the user's place in line; true when it moved. */
function refreshLine(user: UserEntry): boolean {
  const key = lineKey(user);
  const since = key?.pendingSince;
  const sequence = key?.sequence ?? 0;
  if (since === user.lineSince && sequence === user.lineSequence) return false;
  user.lineSince = since;
  user.lineSequence = sequence;
  return true;
}

/** True when `a`'s user changed before `b`'s: both fields of a user share its place in line. */
function olderChangeFirst(a: Part, b: Part): boolean {
  const userA = a.user;
  const userB = b.user;
  const sinceA = userA.lineSince ?? Number.POSITIVE_INFINITY;
  const sinceB = userB.lineSince ?? Number.POSITIVE_INFINITY;
  return sinceA < sinceB || (sinceA === sinceB && userA.lineSequence < userB.lineSequence);
}

interface Batch {
  readonly endpoint: Endpoint;
  readonly entries: Part[];
}

const DEFAULTS = {
  batchSize: 100,
  maxRetryDelayMs: 60_000,
  baseRetryDelayMs: 1_000,
  maxInFlightPerTarget: 2,
};

/**
 * How many failed attempts of a user's presence write its routing status waits through. After that the presence
 * keeps retrying on its own, but no longer holds the routing status back (a stuck presence must not block it
 * for good); a parked (non-retryable) presence never holds it back.
 */
const PRESENCE_FIRST_MAX_ATTEMPTS = 3;

/**
 * Presence first, per user: GC keeps routing status OFF_QUEUE unless presence is On Queue, and may reset it when
 * presence leaves On Queue, so a routing-status write processed before the same user's presence write can be
 * clobbered. A routing-status change therefore waits while the user's presence is queued, waiting, in flight
 * or backing off (through `PRESENCE_FIRST_MAX_ATTEMPTS` failed attempts); and a presence change waits while the
 * user's routing-status request is open, so a user never has both fields in flight at once.
 */
function waitsForOther(part: Part): boolean {
  if (part.endpoint === 'presence') return part.user.routingPart?.place === 'inflight';
  const presence = part.user.presencePart;
  if (presence === undefined) return false;
  switch (presence.place) {
    case 'queued':
    case 'waitsForOther':
    case 'inflight':
      return true;
    case 'delayed':
      return (presence.failures?.attempts ?? 0) < PRESENCE_FIRST_MAX_ATTEMPTS;
    case 'idle':
    case 'parked':
      return false;
  }
}

/** How many queued users a batch build may look past (users the target cannot write) before it stops. */
const SKIP_FACTOR = 4;

function minimum(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined || a <= b ? a : b;
}

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
  const onFieldAcknowledged = (userId: string, field: keyof GcUserState, value: string): void => {
    try {
      options.onFieldAcknowledged?.(userId, field, value);
    } catch (error) {
      log.error('onFieldAcknowledged callback threw', { userId, error: describeError(error) });
    }
  };
  const onFailed = (userId: string, error: string, retryable: boolean, wholeRequest: boolean): void => {
    try {
      options.onFailed?.(userId, error, retryable, wholeRequest);
    } catch (callbackError) {
      log.error('onFailed callback threw', { userId, error: describeError(callbackError) });
    }
  };

  const users = new Map<string, UserEntry>();
  const presenceQueue = new IndexedHeap<Part>(olderChangeFirst);
  const routingQueue = new IndexedHeap<Part>(olderChangeFirst);
  const delayedQueue = new IndexedHeap<Part>((a, b) => retryAtOf(a) < retryAtOf(b) || (retryAtOf(a) === retryAtOf(b) && olderChangeFirst(a, b)));
  const inFlightParts = new Set<Part>();
  const inFlightPerTarget = new Map<GcWriteTarget, number>(targets.map((target) => [target, 0]));
  /** Whole requests that failed retryably in a row, per target (reset by any answer). */
  const failedRequestsInARow = new Map<GcWriteTarget, number>();
  /** When a failed request last paused each target (see settleError). */
  const failurePausedAt = new Map<GcWriteTarget, number>();
  const openRequests = new Set<Promise<void>>();
  const idleWaiters: Array<() => void> = [];
  const unmirrorableLogged = new Set<RoutingStatus>();

  /** Users with at least one part waiting / in flight / parked, and with any part waiting or in flight. */
  const usersWith: Tally = { waiting: 0, inflight: 0, parked: 0 };
  let busyUsers = 0;
  let nextSequence = 0;
  let running = false;
  let paused = false;
  let flushing = 0;
  let pumpQueued = false;
  let wakeHandle: unknown;
  let wakeAt = Number.POSITIVE_INFINITY;
  let abort = sharedAbortController();
  let roundRobin = 0;

  const counters = zeroCounters();
  const requestRetries = zeroRetryCounts();
  const gateOpen = (): boolean => options.gate?.isOpen() ?? true;
  options.gate?.onOpen(() => schedulePump());
  /**
   * With several clients, the least time between two batches of one endpoint that are not full while the
   * clients run on their refills: two of the pool's combined slots (presence and routing-status batches take
   * turns). Without it the clients fall into lockstep: each client's next slot comes at the same moment, one
   * carries the presence batch, one the routing-status batch and the rest a straggler or two, so a presence
   * batch left only once per single-client slot (p99 190 ms with four clients in the pacing bench, as with
   * two). Spaced, the clients' slots spread over the interval. One client: its budget's own spacing does this.
   */
  const poolSpacingMs = targets.length > 1 ? (2 * 60_000) / targets.reduce((sum, target) => sum + target.budget.limit, 0) : 0;
  const lastBatchAt: Record<Endpoint, number> = { presence: Number.NEGATIVE_INFINITY, routing: Number.NEGATIVE_INFINITY };
  /** Set by `dispatchOne`: the earliest moment a batch held for the pool's spacing may go. */
  let heldUntil = Number.POSITIVE_INFINITY;

  // ---- places: every part is in exactly one, so each queue holds at most one entry per user ----

  function queueOf(part: Part): IndexedHeap<Part> {
    return part.endpoint === 'presence' ? presenceQueue : routingQueue;
  }

  function tallyOf(place: Place): keyof Tally | undefined {
    if (place === 'queued' || place === 'waitsForOther' || place === 'delayed') return 'waiting';
    if (place === 'inflight' || place === 'parked') return place;
    return undefined;
  }

  function count(user: UserEntry, place: Place, delta: 1 | -1): void {
    const kind = tallyOf(place);
    if (kind === undefined) return;
    const wasBusy = user.waiting + user.inflight > 0;
    const before = user[kind];
    user[kind] = before + delta;
    if (before === 0) usersWith[kind] += 1;
    else if (user[kind] === 0) usersWith[kind] -= 1;
    const isBusy = user.waiting + user.inflight > 0;
    if (isBusy !== wasBusy) busyUsers += isBusy ? 1 : -1;
  }

  function moveTo(part: Part, place: Place): void {
    if (part.place === place) return;
    switch (part.place) {
      case 'queued':
        queueOf(part).remove(part);
        break;
      case 'delayed':
        delayedQueue.remove(part);
        break;
      case 'inflight':
        inFlightParts.delete(part);
        break;
      case 'waitsForOther':
      case 'parked':
      case 'idle':
        break;
    }
    count(part.user, part.place, -1);
    part.place = place;
    count(part.user, place, 1);
    // Whether this part holds its user's place in line may have changed; the queues must see the new place.
    const moved = refreshLine(part.user);
    switch (place) {
      case 'queued':
        queueOf(part).push(part);
        break;
      case 'delayed':
        delayedQueue.push(part);
        break;
      case 'inflight':
        inFlightParts.add(part);
        break;
      case 'waitsForOther':
      case 'parked':
      case 'idle':
        break;
    }
    const other = peekPart(part.user, part.endpoint === 'presence' ? 'routing' : 'presence');
    if (other === undefined) return;
    if (moved) reorder(other);
    // This field's move may let the other go (or make it wait): presence first, one field in flight per user.
    if (other.place === 'queued' && waitsForOther(other)) moveTo(other, 'waitsForOther');
    else if (other.place === 'waitsForOther' && !waitsForOther(other)) moveTo(other, 'queued');
  }

  /** Restores heap order for a part whose user's place in line moved. */
  function reorder(part: Part): void {
    if (part.place === 'queued') queueOf(part).update(part);
    else if (part.place === 'delayed') delayedQueue.update(part);
  }

  function anyTargetCanSet(status: RoutingStatus): boolean {
    return targets.some((target) => target.canSetRoutingStatus(status));
  }

  function routingSettled(entry: UserEntry, status: RoutingStatus): boolean {
    return entry.acknowledgedRouting === status || !anyTargetCanSet(status);
  }

  /** Whether GC still lacks this field's desired value (and some target can set it). */
  function needed(part: Part): boolean {
    return neededField(part.user, part.endpoint);
  }

  function neededField(entry: UserEntry, endpoint: Endpoint): boolean {
    const desired = entry.desired;
    if (desired === undefined) return false;
    if (endpoint === 'presence') return desired.presence !== entry.acknowledgedPresence;
    if (desired.routingStatus === entry.acknowledgedRouting) return false;
    if (anyTargetCanSet(desired.routingStatus)) return true;
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
    return false;
  }

  function acknowledgedState(entry: UserEntry, fallbackRouting: RoutingStatus): GcUserState | undefined {
    if (entry.acknowledgedPresence === undefined) return undefined;
    return { presence: entry.acknowledgedPresence, routingStatus: entry.acknowledgedRouting ?? fallbackRouting };
  }

  /**
   * Puts a part that is not in flight where its field says: idle, or queued for its endpoint. `at` is when a
   * change that makes it pending happened.
   */
  function place(part: Part, at = now()): void {
    if (!needed(part)) {
      part.pendingSince = undefined;
      part.failures = undefined;
      moveTo(part, 'idle');
      noteReleasable(part);
      noteFieldSettled(part.user, part.endpoint === 'presence' ? 'routing' : 'presence');
      return;
    }
    if (part.place === 'parked' || part.place === 'delayed') return;
    if (part.pendingSince === undefined) {
      part.pendingSince = at;
      part.sequence = nextSequence++;
    }
    moveTo(part, waitsForOther(part) ? 'waitsForOther' : 'queued');
  }

  /** With one field settled: once the other (`other`) is idle and settled too, the whole version is acknowledged. */
  function noteFieldSettled(entry: UserEntry, other: Endpoint): void {
    const otherPart = peekPart(entry, other);
    if (entry.desired !== undefined && (otherPart === undefined || otherPart.place === 'idle') && !neededField(entry, other) && entry.acknowledgedVersion < entry.version) {
      entry.acknowledgedVersion = entry.version;
    }
  }

  /**
   * Places a field that is not in flight (see `place`), making its part only when the field has something to
   * do: a settled field without a part stays without one.
   */
  function placeField(entry: UserEntry, endpoint: Endpoint, at?: number): void {
    const part = peekPart(entry, endpoint);
    if (part !== undefined) place(part, at);
    else if (neededField(entry, endpoint)) place(partOf(entry, endpoint), at);
    else noteFieldSettled(entry, endpoint === 'presence' ? 'routing' : 'presence');
  }

  /** The user's part for `endpoint`, made if missing (and dropped again once blank). */
  function partOf(entry: UserEntry, endpoint: Endpoint): Part {
    const existing = peekPart(entry, endpoint);
    if (existing !== undefined) return existing;
    const part = createPart(entry, endpoint);
    if (endpoint === 'presence') entry.presencePart = part;
    else entry.routingPart = part;
    noteReleasable(part);
    return part;
  }

  /**
   * Parts that may have become blank, dropped in a microtask: only once the synchronous work that touched them
   * is over, so nothing in the middle of an operation ever holds a part its user no longer has.
   */
  const releasable: Part[] = [];
  function noteReleasable(part: Part): void {
    releasable.push(part);
    if (releasable.length === 1) queueMicrotask(releaseBlankParts);
  }

  function releaseBlankParts(): void {
    for (const part of releasable.splice(0)) {
      if (!isBlank(part)) continue;
      const user = part.user;
      if (user.presencePart === part) user.presencePart = undefined;
      else if (user.routingPart === part) user.routingPart = undefined;
    }
  }

  function createEntry(userId: string): UserEntry {
    const entry = new UserEntry(userId);
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
    const due = packTime(time);
    for (let part = delayedQueue.peek(); part !== undefined && retryAtOf(part) <= due; part = delayedQueue.peek()) {
      moveTo(part, 'idle');
      place(part);
    }
  }

  function pump(): void {
    pumpQueued = false;
    if (!running) return;
    const time = now();
    promoteDueRetries(time);
    if ((!paused || flushing > 0) && gateOpen()) {
      while (presenceQueue.size + routingQueue.size > 0) {
        if (!dispatchOne(time)) break;
      }
    }
    const nextRetry = delayedQueue.peek();
    if (nextRetry !== undefined) wakeUpAt(unpackTime(retryAtOf(nextRetry)));
    checkIdle();
  }

  /** Sends one batch to the target with the earliest free slot; false when none can be sent now. */
  function dispatchOne(time: number): boolean {
    heldUntil = Number.POSITIVE_INFINITY;
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
      const batch = buildBatch(candidate.target, time);
      if (batch === undefined) continue;
      roundRobin = (candidate.index + 1) % targets.length;
      send(candidate.target, batch);
      return true;
    }
    if (heldUntil !== Number.POSITIVE_INFINITY) wakeUpAt(heldUntil);
    return false;
  }

  /**
   * Whether a batch of `endpoint` that would not be full waits for the pool's spacing (see `poolSpacingMs`);
   * notes when it may go.
   */
  function heldForSpacing(target: GcWriteTarget, endpoint: Endpoint, queued: number, size: number, time: number): boolean {
    if (poolSpacingMs === 0 || queued >= size) return false;
    const until = lastBatchAt[endpoint] + poolSpacingMs;
    if (time >= until || target.budget.available() > 1) return false;
    heldUntil = Math.min(heldUntil, until);
    return true;
  }

  function buildBatch(target: GcWriteTarget, time: number): Batch | undefined {
    const size = Math.max(1, Math.min(batchSize, target.maxBatchSize));
    const presenceFirst = presenceQueue.peek();
    const routingFirst = routingQueue.peek();
    // Equally old: presence first, as GC keeps routing status off queue otherwise (a user's own routing status is
    // not even queued while its presence is pending: see `waitsForOther`).
    const order: Endpoint[] =
      presenceFirst !== undefined && (routingFirst === undefined || !olderChangeFirst(routingFirst, presenceFirst))
        ? ['presence', 'routing']
        : ['routing', 'presence'];
    for (const endpoint of order) {
      const queue = endpoint === 'presence' ? presenceQueue : routingQueue;
      if (heldForSpacing(target, endpoint, queue.size, size, time)) continue;
      const entries: Part[] = [];
      const skipped: Part[] = [];
      while (entries.length < size && skipped.length < size * SKIP_FACTOR) {
        const part = queue.peek();
        if (part === undefined) break;
        moveTo(part, 'idle');
        if (endpoint === 'routing' && !target.canSetRoutingStatus(part.user.desired!.routingStatus)) skipped.push(part);
        else entries.push(part);
      }
      for (const part of skipped) moveTo(part, 'queued');
      if (entries.length > 0) return { endpoint, entries };
    }
    return undefined;
  }

  function send(target: GcWriteTarget, batch: Batch): void {
    // Only `pump` (which asked the gate) calls this, synchronously: no write leaves without the gate's yes.
    lastBatchAt[batch.endpoint] = now();
    for (const part of batch.entries) {
      part.inFlight = { version: part.user.version, state: part.user.desired! };
      part.changedWhileInFlight = undefined;
      moveTo(part, 'inflight');
    }
    inFlightPerTarget.set(target, inFlightPerTarget.get(target)! + 1);
    counters.requestsSent += 1;
    counters.batchesSent += 1;
    counters.usersSent += batch.entries.length;
    if (batch.endpoint === 'presence') counters.presenceBatchesSent += 1;
    else counters.routingStatusBatchesSent += 1;
    const signal = abort.signal;
    const sentAt = now();
    let request: Promise<WriteOutcome[]>;
    try {
      request =
        batch.endpoint === 'presence'
          ? target.writePresence(batch.entries.map((part) => ({ userId: part.user.userId, presence: part.inFlight!.state.presence })), signal)
          : target.writeRoutingStatus(
              batch.entries.map((part) => ({ userId: part.user.userId, routingStatus: part.inFlight!.state.routingStatus })),
              signal,
            );
    } catch (error) {
      request = Promise.reject(error);
    }
    const settled: Promise<void> = request
      .then(
        (outcomes) => settleOutcomes(target, batch, outcomes),
        (error: unknown) => settleError(target, batch, error, signal, sentAt),
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
    if (failedRequestsInARow.delete(target)) retryOutageNow();
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
    let retriedEvents = false;
    for (const part of batch.entries) {
      const outcome = byUser.get(part.user.userId);
      if (outcome === undefined || (!outcome.ok && outcome.retryable)) retriedEvents = true;
      if (outcome === undefined) failed(part, { retryable: true }, 'no outcome for this user in the response');
      else if (outcome.ok) acknowledged(part);
      else if (outcome.retryable && outcome.retryAfterSeconds !== undefined) {
        // Like a whole-request 429: the paused budget holds this client back; the user keeps its place.
        counters.retries += 1;
        failuresOf(part).lastError = outcome.message;
        requeue(part);
      } else {
        const classification: ErrorClassification =
          outcome.retryAfterSeconds === undefined
            ? { retryable: outcome.retryable }
            : { retryable: outcome.retryable, retryAfterSeconds: outcome.retryAfterSeconds };
        failed(part, classification, outcome.code === undefined ? outcome.message : `${outcome.code}: ${outcome.message}`);
      }
    }
    // One retry of the request per answer that sends some of its users again (not one per user).
    if (retriedEvents) requestRetries[retryAfterSeconds === undefined ? 'event' : '429'] += 1;
  }

  function settleError(target: GcWriteTarget, batch: Batch, error: unknown, signal: AbortSignal, sentAt: number): void {
    if (signal.aborted) {
      // Stopped while waiting for a slot: nothing reached GC; put users back in their place.
      for (const part of batch.entries) requeue(part);
      return;
    }
    const classification = classifyError(error);
    const message = describeError(error);
    // A target not set up yet sent nothing to GC: its users wait, but no GC request is being sent again.
    if ((classification.retryable || classification.retryAfterSeconds !== undefined) && !isNotSetUp(error)) {
      requestRetries[classification.retryAfterSeconds === undefined ? retryCauseOf(error) : '429'] += 1;
    }
    if (classification.retryAfterSeconds !== undefined) {
      counters.rateLimited += 1;
      target.budget.pauseFor(classification.retryAfterSeconds);
      log.warn('GC rate limited a request; pausing this client', {
        target: target.name,
        retryAfterSeconds: classification.retryAfterSeconds,
        users: batch.entries.length,
      });
      // The budget pause holds this target back; the users keep their place and may go to another target.
      for (const part of batch.entries) {
        counters.retries += 1;
        failuresOf(part).lastError = message;
        requeue(part);
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
    // A target not set up yet (GC down at start) sent nothing: its users back off, but the client is not paused,
    // since GC's set-up needs its budget (the pause held the set-up back for up to 5 s after an outage).
    if (classification.retryable && !isNotSetUp(error)) {
      // GC (or the way to it) is failing: hold the whole client back for a short backoff, so retries and new
      // changes leave together in full batches when it answers, instead of one small request per user that
      // spends the minute's budget during the outage and leaves none for the recovery. Requests that were already
      // open when an earlier failure paused the client (e.g. the presence and routing-status batches that left
      // together) report the same outage: the backoff grows once per round, not once per request.
      const pausedAt = failurePausedAt.get(target);
      if (pausedAt === undefined || sentAt > pausedAt) {
        const inARow = (failedRequestsInARow.get(target) ?? 0) + 1;
        failedRequestsInARow.set(target, inARow);
        failurePausedAt.set(target, now());
        target.budget.pauseFor(retryDelayMs(inARow, { baseMs: baseRetryDelayMs, maxMs: Math.min(maxRetryDelayMs, 5_000), random }) / 1000);
      }
    }
    if (!answeredByGc(error)) {
      // No HTTP answer (a timeout, a connection dropped mid-request): GC may well have applied the write. What it
      // acknowledged of this field before is no longer known, so the next desired value is sent even when it
      // equals that old one (otherwise a timed-out write followed by a change back left GC wrong for good).
      for (const part of batch.entries) {
        if (part.endpoint === 'presence') part.user.acknowledgedPresence = undefined;
        else part.user.acknowledgedRouting = undefined;
      }
    }
    // The request-level line above says it once; no per-user line for each of up to a batch of users.
    for (const part of batch.entries) failed(part, { retryable: classification.retryable }, message, true);
  }

  /** Whether a failed request got an HTTP answer from GC (a status), so GC certainly did not apply it. */
  function answeredByGc(error: unknown): boolean {
    const status = typeof error === 'object' && error !== null ? (error as { status?: unknown }).status : undefined;
    return typeof status === 'number' && status > 0;
  }

  /** Ends the in-flight record; returns undefined when the user left scope meanwhile (and drops it). */
  function endFlight(part: Part): InFlightWrite | undefined {
    const flight = part.inFlight;
    part.inFlight = undefined;
    part.seededInFlight = false;
    moveTo(part, 'idle');
    const entry = part.user;
    if (entry.forgotten) {
      if (entry.inflight === 0 && users.get(entry.userId) === entry) users.delete(entry.userId);
      return undefined;
    }
    return flight;
  }

  function requeue(part: Part): void {
    if (endFlight(part) === undefined) return;
    part.changedWhileInFlight = undefined;
    place(part);
  }

  function acknowledged(part: Part): void {
    const distrusted = part.seededInFlight;
    const flight = endFlight(part);
    if (flight === undefined) return;
    const entry = part.user;
    // Told of another value in GC meanwhile, GC holds that or this write, whichever it applied last: unknown, so
    // `place` below sends the desired value again (as after a request that got no answer).
    if (part.endpoint === 'presence') entry.acknowledgedPresence = distrusted ? undefined : flight.state.presence;
    else entry.acknowledgedRouting = distrusted ? undefined : flight.state.routingStatus;
    counters.usersAcknowledged += 1;
    if (part.endpoint === 'presence') onFieldAcknowledged(entry.userId, 'presence', flight.state.presence);
    else onFieldAcknowledged(entry.userId, 'routingStatus', flight.state.routingStatus);
    part.failures = undefined;
    // A change that arrived during the request is a new change: it queues from when it happened, behind older ones.
    if (part.changedWhileInFlight !== undefined) {
      part.pendingSince = part.changedWhileInFlight;
      part.sequence = nextSequence++;
      part.changedWhileInFlight = undefined;
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
    place(part);
  }

  /**
   * GC answers again after whole requests failed: fields backing off only because of that outage go now (the
   * budget still paces them) instead of waiting out a backoff that grew while GC was down.
   */
  function retryOutageNow(): void {
    const time = packTime(now());
    for (const part of [...delayedQueue.values()]) {
      const failures = part.failures;
      if (failures === undefined || !failures.waitsOnOutage || failures.retryAt <= time) continue;
      failures.retryAt = time;
      delayedQueue.update(part);
    }
  }

  /** `wholeRequest`: the request failed as a whole (settleError), which logged it once for all its users. */
  function failed(part: Part, classification: ErrorClassification, message: string, wholeRequest = false): void {
    const flight = endFlight(part);
    if (flight === undefined) return;
    const entry = part.user;
    part.changedWhileInFlight = undefined;
    const failures = failuresOf(part);
    failures.lastError = message;
    counters.failures += 1;
    onFailed(entry.userId, message, classification.retryable, wholeRequest);
    if (classification.retryable) {
      counters.retries += 1;
      failures.attempts += 1;
      const delay =
        classification.retryAfterSeconds !== undefined
          ? classification.retryAfterSeconds * 1000
          : retryDelayMs(failures.attempts, { baseMs: baseRetryDelayMs, maxMs: maxRetryDelayMs, random });
      // Whole milliseconds: one fractional time would make V8 box this field in every record.
      failures.retryAt = packTime(Math.ceil(now() + delay));
      failures.waitsOnOutage = wholeRequest;
      if (needed(part)) moveTo(part, 'delayed');
      else place(part);
      return;
    }
    if (entry.version > flight.version) {
      // Desired moved on while the request was open: the newer state may well be accepted.
      place(part);
      return;
    }
    counters.permanentFailures += 1;
    if (!wholeRequest) {
      log.warn('GC rejected a write; waiting for a new desired state', { userId: entry.userId, endpoint: part.endpoint, error: message });
    }
    if (needed(part)) moveTo(part, 'parked');
    else place(part);
  }

  // ---- idle ----

  function isIdle(): boolean {
    return busyUsers === 0;
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
    const wasWaiting = entry.waiting > 0;
    const wasInFlight = entry.inflight > 0;
    // The shared frozen state (a copy per user was ~40 bytes each at 50,000 users).
    entry.desired = sharedState(desired.presence, desired.routingStatus);
    entry.version += 1;
    for (const endpoint of ENDPOINTS) {
      const part = peekPart(entry, endpoint);
      if (part === undefined) {
        placeField(entry, endpoint, at);
        continue;
      }
      if (part.place === 'parked') {
        moveTo(part, 'idle');
        part.failures = undefined;
      }
      // A field in flight waits for its request to settle (no stale write); the other field is queued, or waits
      // for its sibling (presence first, see `waitsForOther`).
      if (part.inFlight !== undefined) part.changedWhileInFlight ??= at;
      else place(part, at);
    }
    if (wasWaiting || wasInFlight) counters.coalesced += 1;
    if (entry.waiting + entry.inflight === 0) counters.noOpsSkipped += 1;
    else schedulePump();
    checkIdle();
    return entry.version;
  }

  function seedAcknowledged(userId: string, state: GcUserState, version?: number, observed: ReadonlyArray<keyof GcUserState> = BOTH_PARTS): void {
    const entry = users.get(userId) ?? createEntry(userId);
    for (const field of observed) {
      const part = peekPart(entry, field === 'presence' ? 'presence' : 'routing');
      if (part?.inFlight !== undefined && state[field] !== part.inFlight.state[field]) part.seededInFlight = true;
    }
    entry.acknowledgedPresence = state.presence;
    entry.acknowledgedRouting = state.routingStatus;
    if (version !== undefined) {
      entry.acknowledgedVersion = version;
      entry.version = Math.max(entry.version, version);
    }
    for (const endpoint of ENDPOINTS) {
      const part = peekPart(entry, endpoint);
      if (part === undefined) placeField(entry, endpoint);
      else if (part.inFlight === undefined && part.place !== 'parked' && part.place !== 'delayed') place(part);
    }
    schedulePump();
    checkIdle();
  }

  function forget(userId: string): void {
    const entry = users.get(userId);
    if (entry === undefined) return;
    for (const part of [entry.presencePart, entry.routingPart]) if (part !== undefined && part.inFlight === undefined) moveTo(part, 'idle');
    if (entry.inflight > 0) {
      entry.forgotten = true;
      entry.desired = undefined;
    } else {
      users.delete(userId);
    }
    checkIdle();
  }

  function retryFailed(limit = Number.POSITIVE_INFINITY): number {
    let requeued = 0;
    for (const entry of users.values()) {
      if (requeued >= limit) break;
      if (entry.parked === 0) continue;
      for (const part of [entry.presencePart, entry.routingPart]) {
        if (part === undefined || part.place !== 'parked') continue;
        moveTo(part, 'idle');
        if (part.failures !== undefined) part.failures.attempts = 0;
        place(part);
      }
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
    const presence = entry.presencePart;
    const routing = entry.routingPart;
    const pendingSince = minimum(presence?.pendingSince, routing?.pendingSince);
    const lastError = presence?.failures?.lastError ?? routing?.failures?.lastError;
    const packedRetryAt = minimum(presence?.place === 'delayed' ? retryAtOf(presence) : undefined, routing?.place === 'delayed' ? retryAtOf(routing) : undefined);
    const retryAt = packedRetryAt === undefined ? undefined : unpackTime(packedRetryAt as PackedTime);
    return {
      ...(entry.desired !== undefined ? { desired: entry.desired } : {}),
      ...(acknowledged !== undefined ? { acknowledged } : {}),
      version: entry.version,
      acknowledgedVersion: entry.acknowledgedVersion,
      ...(pendingSince !== undefined ? { pendingSince } : {}),
      ...(lastError !== undefined ? { lastError } : {}),
      inFlight: entry.inflight > 0,
      failed: entry.parked > 0,
      ...(retryAt !== undefined ? { retryAt } : {}),
    };
  }

  function oldestPendingSince(): number | undefined {
    let oldest: number | undefined;
    const consider = (part: Part | undefined): void => {
      const since = part?.user.lineSince ?? Number.POSITIVE_INFINITY;
      if (since !== Number.POSITIVE_INFINITY && (oldest === undefined || since < oldest)) oldest = since;
    };
    consider(presenceQueue.peek());
    consider(routingQueue.peek());
    for (const part of delayedQueue.values()) consider(part);
    for (const part of inFlightParts) consider(part);
    return oldest;
  }

  function retriesByCause(): GcRetryCounts {
    return { ...requestRetries };
  }

  function stats(): WriterStats {
    const oldest = oldestPendingSince();
    return {
      pendingUsers: usersWith.waiting,
      failedUsers: usersWith.parked,
      inFlightUsers: usersWith.inflight,
      queueLength: usersWith.waiting,
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
    abort = sharedAbortController();
    checkIdle();
  }

  async function flush(deadlineMs: number): Promise<{ sent: number; remaining: number }> {
    const before = counters.usersAcknowledged;
    const remaining = (): number => busyUsers;
    // A closed gate (a standby, or a leader whose renewal is overdue) sends nothing: waiting out the grace is useless.
    if (!gateOpen()) return { sent: 0, remaining: remaining() };
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
    gcAnswers: () => {
      failedRequestsInARow.clear();
      retryOutageNow();
      schedulePump();
    },
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
    requestRetries: retriesByCause,
    onIdle,
  };
}
