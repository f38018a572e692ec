/**
 * The connector: StatSource → (normalized snapshots) → compiled rules → keep resolution → GC user → writer.
 * It owns the per-agent view (snapshot, decision, desired state, timestamps), scope changes, resyncs (start,
 * Stat Server reconnect, GC recovery, rules reload), drift judgement of GC notifications, the store of
 * acknowledged states, and the operator surface (`OperatorDeps`). Versions and the desired/acknowledged pair
 * per user live in the writer, which sends only what differs.
 *
 * Starting while GC or Stat Server is down is normal: scope, identity and statistics are retried with backoff
 * in the background and `/readyz` says not ready; nothing here throws for it.
 */
import { createLogger, type Logger } from '../log.ts';
import { addRetryCounts, zeroRetryCounts } from '../gc/retry-cause.ts';
import type { ExasMetrics, MetricsSnapshot, MissingGcPermission, ReadinessChecks, SyncStatus } from '../metrics/index.ts';
import type { Decision, DryRunResult } from '../rules/index.ts';
import type { AgentObservation, ConnectionEvent, StatSource } from '../statserver/stat-source.ts';
import { isRoutingStatus, type AgentSnapshot, type GcUserState, type RoutingStatus } from '../vocabulary.ts';
import type {
  AgentFilter,
  AgentView,
  GcRequestPreview,
  LiveAgent,
  OperatorDeps,
  RecentChange,
  ReloadResult,
  StatusSummary,
} from '../http/types.ts';
import { retryDelayMs } from './backoff.ts';
import { packTime, unpackTime, type PackedTime } from '../platform/compact-time.ts';
import { desiredFor, sameState, sharedState } from './desired-state.ts';
import { createDriftGuard, type DriftPolicy, type StatePart } from './drift.ts';
import { createGcHealth } from './gc-health.ts';
import { createResyncTracker, type ResyncProgress, type ResyncReason } from './resync.ts';
import type { RulesHolder } from './rules-holder.ts';
import { diffScope, type ScopeProvider } from './scope.ts';
import type { AcknowledgedEntries, AcknowledgedStore } from './store.ts';
import type { Writer } from './writer/index.ts';
import type { LeaseView } from '../ha/types.ts';
import { sharedAbortController } from '../platform/abort.ts';

/** The store of acknowledged states (src/sync/store.ts), as the connector uses it. */
export type StatePersistence = Pick<AcknowledgedStore, 'load' | 'scheduleSave' | 'flush'>;

/** What GC holds now for some users (a bulk read). Parts GC did not give are absent. */
export interface GcStateReader {
  read(userIds: readonly string[], signal?: AbortSignal): Promise<Map<string, { presence?: string; routingStatus?: string }>>;
}

/** Agent ids → GC user ids (agents without a user left out). */
export type IdentityLookup = (agentIds: readonly string[], signal?: AbortSignal) => Promise<Map<string, string>>;

export interface ConnectorTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ConnectorOptions {
  readonly source: StatSource;
  readonly writer: Writer;
  readonly rules: RulesHolder;
  readonly identity: IdentityLookup;
  readonly scope: ScopeProvider;
  readonly store?: StatePersistence;
  /** Bulk read of GC state, used by the start and GC-recovery resyncs and for users no channel watches. */
  readonly gcState?: GcStateReader;
  /**
   * Awaited before the start-up bulk read of GC state: resolves once GC notifications are watched for the synced
   * users (the sidecar applies its drift watch). Subscribing first, then reading, leaves no window in which a
   * change made in GC by someone else goes unseen: before, a change between the read and the first
   * subscription was never repaired. The caller bounds the wait; a rejection is logged and the read goes on.
   */
  readonly watchBeforeRead?: () => Promise<void>;
  /** Presence for `keep` with nothing to keep (default Busy; never Available). */
  readonly keepFallback?: string;
  readonly drift?: { policy: DriftPolicy; maxReasserts: number; windowMs: number; echoWindowMs: number };
  /** Backoff of start-up work while a dependency is down. */
  readonly retry?: { initialDelayMs: number; maxDelayMs: number };
  /** Scope (and unresolved identity) refresh; 0 disables the timer (tests call `refreshScope`). Default 300 s. */
  readonly scopeRefreshMs?: number;
  /** Full identity re-read; 0 disables. Default 900 s. */
  readonly identityRefreshMs?: number;
  /** Resync progress check interval; 0 disables the timer (tests call `checkResync`). Default 1 s. */
  readonly progressIntervalMs?: number;
  /** Whether GC is set up (token obtained, catalog loaded); default: identity resolved once. */
  readonly gcReady?: () => boolean;
  /** Readiness conditions owned elsewhere (the primary-source keeper's, in `check` mode). */
  readonly extraReadiness?: () => Pick<ReadinessChecks, 'primarySourceReady' | 'usersNotPrimary'>;
  /**
   * False while GC set-up keeps failing because GC does not answer (5xx, timeout, network), as opposed to a
   * refused token; write outages are seen here from the writer's outcomes. Default: always true.
   */
  readonly gcReachable?: () => boolean;
  /** GC request counters and budgets for `/metrics` and the summary. */
  readonly gcStats?: () => MetricsSnapshot['gc'];
  /** Endpoints GC refuses now for lack of permissions (a readiness check); absent: none is tracked. */
  readonly gcMissingPermissions?: () => readonly MissingGcPermission[];
  readonly metrics?: Pick<ExasMetrics, 'eventToGcLatency' | 'decisions'>;
  /** For the impact preview: the GC requests a set of changes would cost (optional). */
  readonly previewRequests?: (changes: ReadonlyArray<{ userId: string; from: GcUserState | undefined; to: GcUserState }>) => GcRequestPreview[];
  readonly now?: () => number;
  readonly timers?: ConnectorTimers;
  readonly logger?: Logger;
  readonly random?: () => number;
  /** High availability: this instance's lease (absent: a single instance, always the writer). */
  readonly lease?: () => LeaseView;
}

/** The connector: the running heart of `exas run`, and the operator surface's dependencies. */
export interface Connector extends OperatorDeps {
  /** Subscribes to the source, starts it and the start-up work (in the background); resolves quickly. */
  start(): Promise<void>;
  /** Stops intake (unsubscribes, stops timers and the source). The writer and store are the caller's. */
  stop(): Promise<void>;
  /** Resolves when the start-up work (scope, identity, first resync begun) is done. */
  ready(): Promise<void>;
  /** Re-reads scope: entering agents are opened and synced, leaving ones closed and forgotten. */
  refreshScope(): Promise<void>;
  /** Drives every in-scope user to its mapped state again. */
  resync(reason: ResyncReason): Promise<void>;
  /**
   * This instance took the lease (high availability). What it decided before `assumeWrittenBefore` (epoch ms) is
   * taken as written by the previous leader; later changes are written at once; then GC is read in bulk and only
   * the differences are sent (resync `failover`). Before the start-up resync began, that resync's read does it.
   */
  takeOver(assumeWrittenBefore: number): void;
  /** Re-checks resync progress now (logs progress; marks the resync done when every user settled). */
  checkResync(): ResyncProgress | undefined;
  /** A GC notification (or bulk read) said `part` of `userId` is `value` (presence name, or routing status). */
  observeGc(userId: string, part: StatePart, value: string): void;
  /** Bulk-reads the given users (those no channel watches) and judges drift on them. */
  checkByBulkRead(userIds: readonly string[]): Promise<void>;
  /** Wire to the writer's `onAcknowledged`. */
  handleAcknowledged(userId: string, state: GcUserState, version: number): void;
  /**
   * Wire to the writer's `onFieldAcknowledged`. With presence first, a user's presence is acknowledged a round
   * trip before the whole state; a bulk read begun in between may predate that presence write.
   */
  handleFieldAcknowledged(userId: string, field: keyof GcUserState): void;
  /** Wire to the writer's `onFailed` (`wholeRequest`: the writer has logged the failed request once already). */
  handleFailed(userId: string, error: string, retryable: boolean, wholeRequest?: boolean): void;
  /** Writes the acknowledged states to the store now (shutdown); changes are otherwise saved debounced. */
  saveStore(): Promise<void>;
  /** GC user ids of every synced agent (for the notification watcher). */
  syncedUsers(): string[];
  /** Called when the synced users change (scope or identity). Returns unsubscribe. */
  onSyncedUsersChange(listener: (userIds: string[]) => void): () => void;
  /** Plain numbers for `/metrics`. */
  metricsSnapshot(): MetricsSnapshot;
  counters(): { unmatched: number; unknown: number; driftDetected: number; driftRepaired: number; driftCapped: number; driftGcRule: number; observations: number };
}

interface AgentRecord {
  readonly agentId: string;
  userId: string | null;
  snapshot: AgentSnapshot | null;
  unknownReason: string | undefined;
  decision: Decision | null;
  /** What the connector last asked the writer for (null until the agent has a GC user and a decision). */
  desired: GcUserState | null;
  /** When `desired` last changed (packed): the drift guard's previous ask when it changes again. */
  desiredAt: PackedTime | undefined;
  /** Times for the agent view, packed (see compact-time.ts): four heap numbers were ~64 bytes an agent. */
  lastEventAt: PackedTime | undefined;
  decidedAt: PackedTime | undefined;
  lastWriteAt: PackedTime | undefined;
  acknowledgedAt: PackedTime | undefined;
  lastError: { message: string; at: number } | null;
  /**
   * The user's ledger entry, saved to the store: what GC last acknowledged (or a read / the store said), with the
   * writer's version and when. Kept here, not in a map of entry objects by user id (~90 bytes a user at 50,000);
   * `ackState` undefined while none.
   */
  ackState: GcUserState | undefined;
  ackVersion: number;
  ackAt: PackedTime;
}

type Cause = 'event' | 'resync' | 'reload' | 'identity';

const RECENT_CHANGES = 50;
const PROGRESS_LOG_MS = 5_000;

class StoppedError extends Error {
  constructor() {
    super('connector stopped');
    this.name = 'StoppedError';
  }
}

/**
 * Creates the connector.
 *
 * @example
 * const writer = createWriter({ targets, onAcknowledged: (...a) => connector.handleAcknowledged(...a) });
 * const connector = createConnector({ source, writer, rules, identity, scope: fileScope('agents.txt') });
 * await connector.start();
 */
export function createConnector(options: ConnectorOptions): Connector {
  const log = options.logger ?? createLogger('sync.connector');
  const now = options.now ?? Date.now;
  const timers: ConnectorTimers = options.timers ?? {
    setTimeout: (callback, ms) => setTimeout(callback, ms),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
  const random = options.random ?? Math.random;
  const keepFallback = options.keepFallback ?? 'Busy';
  if (keepFallback === 'Available') throw new Error("keepFallback: must not be 'Available'");
  const retry = options.retry ?? { initialDelayMs: 1_000, maxDelayMs: 60_000 };
  const scopeRefreshMs = options.scopeRefreshMs ?? 300_000;
  const identityRefreshMs = options.identityRefreshMs ?? 900_000;
  const progressIntervalMs = options.progressIntervalMs ?? 1_000;
  const driftOptions = options.drift ?? { policy: 're-assert' as const, maxReasserts: 3, windowMs: 300_000, echoWindowMs: 30_000 };
  const { source, writer, rules } = options;

  const agents = new Map<string, AgentRecord>();
  const userToAgent = new Map<string, string>();
  /**
   * The record of a synced user (undefined if not synced). Its `userId` is the id string EXAS already keeps: ids
   * parsed from a response or the store are copies, and keying anything by them would keep a second copy of
   * every id (~60 bytes a user).
   */
  const recordOfUser = (userId: string): AgentRecord | undefined => {
    const agentId = userToAgent.get(userId);
    return agentId === undefined ? undefined : agents.get(agentId);
  };
  /** The ledger the store saves: every synced user's entry (see `AgentRecord.ackState`), visited on each save. */
  const ledger: AcknowledgedEntries = {
    forEach(visit) {
      for (const record of agents.values()) {
        if (record.userId === null || record.ackState === undefined) continue;
        visit({ state: record.ackState, version: record.ackVersion, at: unpackTime(record.ackAt) }, record.userId);
      }
    },
  };
  const persist = (): void => options.store?.scheduleSave(() => ledger);
  /** The ledger by user: what GC last acknowledged for a synced user (users not synced have none). */
  const acknowledged = {
    get: (userId: string): GcUserState | undefined => recordOfUser(userId)?.ackState,
    set: (userId: string, state: GcUserState, version?: number): void => {
      const record = recordOfUser(userId);
      // A user no longer synced (left scope, or its agent got another user, while a write was in flight).
      if (record === undefined) return;
      record.ackState = sharedState(state.presence, state.routingStatus);
      if (version !== undefined) record.ackVersion = version;
      record.ackAt = packTime(now());
      persist();
    },
    /** Drops what is kept beside the ledger for a user no longer synced; the entry went with the record or its user. */
    delete: (userId: string): void => {
      fieldAckedAt.delete(userId);
      gcSeenWhileUnknown.delete(userId);
      persist();
    },
  };
  /**
   * userId → when EXAS last learned each field's value in GC other than by a bulk read: GC acknowledged a write,
   * or a notification reported someone else's change. A bulk read begun before that may predate it: its value of
   * the field is older than what EXAS knows (chaos full profile: a GC-recovery read that began before a foreign
   * write seeded the pre-drift values over the drift re-asserts, which were then never sent).
   */
  const fieldAckedAt = new Map<string, { presence: number; routingStatus: number }>();
  /**
   * Bulk reads begun and not yet finished. Only a read open when a field was learned can predate it (a later
   * one begins after), so times are kept only while one is open and dropped when the last one ends: the map
   * holds the users learned during reads, not every user ever written (about 180 bytes a user at 50,000).
   */
  let openReads = 0;
  const fieldTimesOf = (userId: string): { presence: number; routingStatus: number } | undefined => {
    if (openReads === 0) return undefined;
    let fieldTimes = fieldAckedAt.get(userId);
    if (fieldTimes === undefined) {
      fieldTimes = { presence: Number.NEGATIVE_INFINITY, routingStatus: Number.NEGATIVE_INFINITY };
      fieldAckedAt.set(userId, fieldTimes);
    }
    return fieldTimes;
  };
  const noteFieldLearned = (userId: string, field: StatePart): void => {
    const fieldTimes = fieldTimesOf(userId);
    if (fieldTimes !== undefined) fieldTimes[field] = now();
  };
  /** Runs a bulk read of GC, noting the fields learned meanwhile otherwise (see `openReads`). */
  const duringRead = async <T>(read: (readAt: number) => Promise<T>): Promise<T> => {
    openReads += 1;
    try {
      return await read(now());
    } finally {
      openReads -= 1;
      if (openReads === 0) fieldAckedAt.clear();
    }
  };
  /** userId → what GC notified while the agent's state was unknown, applied once it is known again. */
  const gcSeenWhileUnknown = new Map<string, { presence?: string; routingStatus?: string }>();
  /** userId → the newest event-driven version and when its event arrived, for the event → GC latency. */
  const latencyPending = new Map<string, { version: number; receivedAt: number }>();
  const recentChanges: RecentChange[] = [];
  const listeners = new Set<(userIds: string[]) => void>();
  const counts = { unmatched: 0, unknown: 0, observations: 0, driftDetected: 0, driftRepaired: 0, driftCapped: 0, driftGcRule: 0 };
  /** Whether "GC keeps routing status Off Queue off On Queue" was logged (once a run; per user it is debug). */
  let gcRuleLogged = false;
  const drift = createDriftGuard({ ...driftOptions, now });
  const gcHealth = createGcHealth();
  const tracker = createResyncTracker((userId) => {
    const view = writer.get(userId);
    return view !== undefined && !view.failed && (view.pendingSince !== undefined || view.inFlight);
  }, now);

  let stopped = false;
  let started = false;
  let identityResolvedOnce = false;
  let initialResyncBegun = false;
  let lastProgressLog = 0;
  const unsubscribe: Array<() => void> = [];
  const pendingTimers = new Set<unknown>();
  const abort = sharedAbortController();
  let startup: Promise<void> = Promise.resolve();

  // ---------------------------------------------------------------- helpers

  const schedule = (ms: number, task: () => void): void => {
    if (stopped) return;
    const handle = timers.setTimeout(() => {
      pendingTimers.delete(handle);
      if (!stopped) task();
    }, ms);
    pendingTimers.add(handle);
  };

  const wait = (ms: number): Promise<void> =>
    new Promise((resolve, reject) => {
      if (stopped) return reject(new StoppedError());
      const handle = timers.setTimeout(() => {
        pendingTimers.delete(handle);
        abort.signal.removeEventListener('abort', onStop);
        if (stopped) reject(new StoppedError());
        else resolve();
      }, ms);
      // stop() clears pending timers: without this a retry loop waiting here would never settle, nor would ready().
      const onStop = (): void => reject(new StoppedError());
      abort.signal.addEventListener('abort', onStop, { once: true });
      pendingTimers.add(handle);
    });

  /** Runs `task` until it succeeds, backing off between tries; rejects only when the connector stops. */
  const retrying = async <T>(what: string, task: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt += 1) {
      if (stopped) throw new StoppedError();
      try {
        return await task();
      } catch (error) {
        if (stopped) throw new StoppedError();
        const delay = retryDelayMs(attempt, { baseMs: retry.initialDelayMs, maxMs: retry.maxDelayMs, random });
        log.warn(`${what} failed; retrying`, { reason: describe(error), attempt, retryInMs: delay });
        await wait(delay);
      }
    }
  };

  const notifyUsers = (): void => {
    if (listeners.size === 0) return;
    const users = [...userToAgent.keys()];
    for (const listener of listeners) listener(users);
  };

  const newRecord = (agentId: string): AgentRecord => ({
    agentId,
    userId: null,
    snapshot: null,
    unknownReason: undefined,
    decision: null,
    desired: null,
    desiredAt: undefined,
    lastEventAt: undefined,
    decidedAt: undefined,
    lastWriteAt: undefined,
    acknowledgedAt: undefined,
    lastError: null,
    ackState: undefined,
    ackVersion: 0,
    ackAt: 0 as PackedTime,
  });

  // ---------------------------------------------------------------- the per-agent flow

  const push = (record: AgentRecord, desired: GcUserState, cause: Cause, receivedAt: number | undefined): void => {
    const userId = record.userId;
    // Without a GC user nothing is desired yet: deciding again once identity resolves lets `keep` see the
    // stored / GC-read presence instead of a fallback chosen too early.
    // Before the start-up resync, acknowledged states (store, GC read) are not known yet: decide then.
    if (userId === null || !initialResyncBegun) return;
    const previous = record.desired;
    record.desired = desired;
    const at = now();
    const version = writer.setDesired(userId, desired, receivedAt ?? at);
    // Unchanged desired states (resyncs, reloads) are not new writes: they must not reopen the echo window.
    if (!sameState(previous ?? undefined, desired)) {
      drift.noteDesired(userId, desired, previous === null || record.desiredAt === undefined ? undefined : { state: previous, at: unpackTime(record.desiredAt) });
      record.desiredAt = packTime(at);
    }
    const view = writer.get(userId);
    const owed = view !== undefined && (view.pendingSince !== undefined || view.inFlight);
    if (owed) record.lastWriteAt = packTime(at);
    // Latency is measured only for events that cause a write; a no-op must not leave a start time behind.
    if (cause === 'event' && receivedAt !== undefined && owed) latencyPending.set(userId, { version, receivedAt });
    else if (!owed) latencyPending.delete(userId);
    const from = previous ?? acknowledged.get(userId) ?? null;
    if (!sameState(from ?? undefined, desired)) {
      recentChanges.unshift({ agentId: record.agentId, at, from, to: desired, rule: record.decision?.rule ?? null });
      if (recentChanges.length > RECENT_CHANGES) recentChanges.length = RECENT_CHANGES;
    }
  };

  /** Decides for the record's snapshot and hands the result to the writer. Unknown / unmatched push nothing. */
  const apply = (record: AgentRecord, cause: Cause, receivedAt?: number): void => {
    const program = rules.current();
    if (program === null || record.snapshot === null) return;
    const userId = record.userId;
    const outcome = desiredFor(
      record.snapshot,
      program,
      { desired: record.desired?.presence, acknowledged: userId === null ? undefined : acknowledged.get(userId)?.presence },
      keepFallback,
    );
    record.decision = outcome.decision;
    record.decidedAt = packTime(now());
    if (cause === 'event') options.metrics?.decisions.record(outcome.decision.rule);
    if (outcome.kind === 'unmatched') {
      if (cause === 'event') {
        counts.unmatched += 1;
        log.debug('no rule matched; user left unchanged', {
          agentId: record.agentId,
          userId,
          state: record.snapshot.state,
          callType: record.snapshot.callType,
          reason: record.snapshot.reason,
        });
      }
      return;
    }
    push(record, outcome.desired, cause, receivedAt);
  };

  const onObservation = (observation: AgentObservation): void => {
    if (stopped) return;
    const agentId = observation.kind === 'snapshot' ? observation.snapshot.agentId : observation.agentId;
    const record = agents.get(agentId);
    if (record === undefined) return; // not in scope (a late update after close)
    counts.observations += 1;
    const receivedAt = now();
    if (observation.kind === 'unknown') {
      // Stat Server cannot say (invalid statistic, lost T-Server, unknown code): push nothing, no guesses.
      if (record.unknownReason === undefined) {
        counts.unknown += 1;
        log.info('agent state unknown; not pushed until valid', { agentId, userId: record.userId, reason: observation.reason });
      }
      record.snapshot = null;
      record.unknownReason = observation.reason;
      record.lastEventAt = packTime(observation.at);
      return;
    }
    record.snapshot = observation.snapshot;
    record.unknownReason = undefined;
    record.lastEventAt = packTime(observation.snapshot.at);
    if (record.userId !== null) takeGcSeenWhileUnknown(record.userId, record.desired);
    apply(record, 'event', receivedAt);
  };

  /** GC changed while the agent was unknown: tell the writer what GC holds, so the mapped state is sent again. */
  const takeGcSeenWhileUnknown = (userId: string, desired: GcUserState | null): void => {
    const seen = gcSeenWhileUnknown.get(userId);
    if (seen === undefined) return;
    gcSeenWhileUnknown.delete(userId);
    // The writer's per-field view, not the ledger that moves only when both fields are acknowledged: a foreign
    // write equal to the ledger's older state looked like no change and was never repaired (chaos full profile,
    // gc-slow + drift + stat-invalid), as for drift re-asserts (`observeGc`).
    const base = writer.get(userId)?.acknowledged ?? acknowledged.get(userId) ?? desired;
    if (base == null) return;
    const state: GcUserState = {
      presence: seen.presence ?? base.presence,
      routingStatus: seen.routingStatus === undefined ? base.routingStatus : standInRoutingStatus(seen.routingStatus, desired?.routingStatus),
    };
    if (sameState(state, base)) return;
    acknowledged.set(userId, state);
    writer.seedAcknowledged(userId, state, undefined, (['presence', 'routingStatus'] as const).filter((field) => seen[field] !== undefined));
  };

  const onConnection = (event: ConnectionEvent): void => {
    if (stopped) return;
    if (event.state === 'disconnected') {
      log.warn('Stat Server disconnected; states are stale until reconnect', { endpoint: event.endpoint, reason: event.error });
      return;
    }
    log.info('Stat Server connected', { endpoint: event.endpoint });
    // The first connect is covered by the start-up resync; later ones (reconnect, backup switch) resync.
    if (initialResyncBegun) void resyncSafely('statserver-reconnect');
  };

  // ---------------------------------------------------------------- scope, identity, store

  const assignUsers = (resolved: Map<string, string>, cause: Cause): string[] => {
    const changed: string[] = [];
    for (const [agentId, userId] of resolved) {
      const record = agents.get(agentId);
      if (record === undefined || record.userId === userId) continue;
      if (record.userId !== null) {
        // The agent's GC user changed (re-created user, new external id): stop writing to the old one.
        writer.forget(record.userId);
        drift.forget(record.userId);
        userToAgent.delete(record.userId);
        acknowledged.delete(record.userId);
        // The ledger entry was the old user's: the new one has none until GC acknowledges it or a read says.
        record.ackState = undefined;
        record.ackVersion = 0;
        // Asks made for the old user are not the new one's (no echo of them can come from it).
        record.desiredAt = undefined;
      }
      record.userId = userId;
      // The record's own id string: ids parsed from GC are copies, and each copy kept is ~30 bytes an agent.
      userToAgent.set(userId, record.agentId);
      changed.push(userId);
      if (cause === 'identity' && record.snapshot !== null) apply(record, 'identity');
    }
    if (changed.length > 0) notifyUsers();
    return changed;
  };

  const seedFromStore = async (): Promise<void> => {
    if (options.store === undefined) return;
    const loaded = await options.store.load();
    if (loaded.status !== 'loaded') {
      log.info('no usable store; every user is resynced from its Engage state', { status: loaded.status, detail: loaded.detail });
      return;
    }
    let seeded = 0;
    for (const [storedId, entry] of loaded.entries) {
      const record = recordOfUser(storedId);
      if (record?.userId == null) continue;
      record.ackState = sharedState(entry.state.presence, entry.state.routingStatus);
      record.ackVersion = entry.version;
      record.ackAt = packTime(entry.at);
      writer.seedAcknowledged(record.userId, entry.state, entry.version);
      seeded += 1;
    }
    log.info('acknowledged states seeded from the store', { users: seeded, stored: loaded.entries.size });
  };

  /** Reads GC's actual state in bulk and tells the writer where it differs from what EXAS believes. */
  const seedFromGc = async (userIds: readonly string[]): Promise<number> => {
    if (options.gcState === undefined || userIds.length === 0) return 0;
    const read = options.gcState;
    return duringRead(async (readAt) => seedRead(readAt, await read.read(userIds, abort.signal)));
  };
  const seedRead = (readAt: number, states: Map<string, { presence?: string; routingStatus?: string }>): number => {
    let differing = 0;
    for (const [readId, observed] of states) {
      const record = recordOfUser(readId);
      if (record?.userId == null) continue;
      const userId = record.userId;
      const believed = record.ackState ?? record.desired ?? undefined;
      let state = observedState(observed, believed);
      if (state === undefined) continue;
      // A field GC acknowledged after the read began may be read from before that write: keep what EXAS believes
      // for it (seeding the read would send it again). The other field is read as GC holds it: skipping the whole
      // user left a field that differed in GC (e.g. a write that reached GC just before a SIGKILL) wrong for good.
      const ackedAt = fieldAckedAt.get(userId);
      if (believed !== undefined && ackedAt !== undefined) {
        state = {
          presence: ackedAt.presence > readAt ? believed.presence : state.presence,
          routingStatus: ackedAt.routingStatus > readAt ? believed.routingStatus : state.routingStatus,
        };
      }
      if (sameState(state, believed)) continue;
      differing += 1;
      acknowledged.set(userId, state);
      writer.seedAcknowledged(userId, state);
    }
    return differing;
  };

  const openAndPeek = async (agentIds: readonly string[]): Promise<void> => {
    if (agentIds.length === 0) return;
    await source.open(agentIds);
    const observations = await source.peek(agentIds);
    for (const observation of observations) onObservation(observation);
  };

  const resolveIdentities = async (agentIds: readonly string[], cause: Cause): Promise<void> => {
    if (agentIds.length === 0) return;
    const resolved = await options.identity(agentIds, abort.signal);
    assignUsers(resolved, cause);
    const missing = agentIds.filter((agentId) => !resolved.has(agentId));
    if (missing.length > 0) log.warn('agents without a GC user; not synced until one appears', { count: missing.length, sample: missing.slice(0, 10) });
  };

  const inScopeUsers = (): string[] => [...userToAgent.keys()];

  const beginResync = (reason: ResyncReason, userIds: readonly string[]): void => {
    tracker.begin(reason, userIds);
    lastProgressLog = now();
    log.info('resync started', { reason, users: userIds.length, writerPending: writer.stats().pendingUsers });
    checkResync();
  };

  /**
   * A takeover: the standby decided the same states as the leader, which wrote them; taking them as acknowledged
   * leaves owed only what changed since the leader may have stopped (and the bulk read then corrects the rest).
   */
  const assumeWritten = (before: number): number => {
    let assumed = 0;
    for (const record of agents.values()) {
      if (record.userId === null || record.desired === null) continue;
      // When the agent's Engage state began (Stat Server's time), else when this instance decided it: a standby
      // started moments ago decided everything recently, but the leader had most of those states long before.
      const changedAt = record.snapshot?.at ?? (record.desiredAt === undefined ? undefined : unpackTime(record.desiredAt));
      if (changedAt === undefined || changedAt >= before) continue;
      if (sameState(acknowledged.get(record.userId), record.desired)) continue;
      acknowledged.set(record.userId, record.desired);
      writer.seedAcknowledged(record.userId, record.desired);
      latencyPending.delete(record.userId);
      assumed += 1;
    }
    return assumed;
  };

  const resync = async (reason: ResyncReason, assumeWrittenBefore?: number): Promise<void> => {
    if (reason === 'failover') {
      const assumed = assumeWrittenBefore === undefined ? 0 : assumeWritten(assumeWrittenBefore);
      log.info('taking over: changes since the previous leader may have stopped are written first', {
        reason,
        assumedWritten: assumed,
        owed: writer.stats().pendingUsers,
        ...(assumeWrittenBefore === undefined ? {} : { changedSince: new Date(assumeWrittenBefore).toISOString() }),
      });
      // What was taken as written must be checked: the read is retried until it succeeds.
      const differing = await retrying('bulk read of GC state after takeover', () => seedFromGc(inScopeUsers()));
      if (options.gcState !== undefined) log.info('GC state read in bulk', { reason, users: userToAgent.size, differing });
    }
    if (reason === 'statserver-reconnect') {
      // The source also re-peeks on reconnect; reading here makes the resync's start point explicit.
      const observations = await source.peek();
      for (const observation of observations) onObservation(observation);
    }
    if (reason === 'start' && options.watchBeforeRead !== undefined) {
      try {
        await options.watchBeforeRead();
      } catch (error) {
        log.warn('drift watch not in place before the start-up read of GC state; reading anyway', { reason: describe(error) });
      }
    }
    // A standby reads too: what GC holds at its start seeds its writer, so a takeover soon after sends only changes.
    if (reason === 'gc-recovered' || reason === 'start') {
      try {
        const differing = await seedFromGc(inScopeUsers());
        if (options.gcState !== undefined) log.info('GC state read in bulk', { reason, users: userToAgent.size, differing });
      } catch (error) {
        log.warn('bulk read of GC state failed; trusting the acknowledged states', { reason: describe(error) });
      }
    }
    for (const record of agents.values()) apply(record, 'resync');
    // Users parked by a permanent failure (e.g. a presence missing from the catalog) get another try.
    if (reason !== 'statserver-reconnect') writer.retryFailed();
    beginResync(reason, inScopeUsers());
  };

  const resyncSafely = async (reason: ResyncReason, assumeWrittenBefore?: number): Promise<void> => {
    try {
      await resync(reason, assumeWrittenBefore);
    } catch (error) {
      if (!(error instanceof StoppedError)) log.warn('resync failed', { reason, error: describe(error) });
    }
  };

  const checkResync = (): ResyncProgress | undefined => {
    const progress = tracker.check();
    if (progress === undefined) return undefined;
    const at = now();
    if (progress.done) {
      log.info('resync done', { reason: progress.reason, users: progress.total, durationMs: at - progress.startedAt });
    } else if (at - lastProgressLog >= PROGRESS_LOG_MS) {
      lastProgressLog = at;
      log.info('resync progress', { reason: progress.reason, settled: progress.settled, users: progress.total, ratio: round(progress.ratio) });
    }
    return progress;
  };

  const progressLoop = (): void => {
    if (progressIntervalMs <= 0) return;
    schedule(progressIntervalMs, () => {
      if (tracker.inProgress) checkResync();
      progressLoop();
    });
  };

  const refreshScope = async (): Promise<void> => {
    const next = await options.scope(abort.signal);
    const { entered, left } = diffScope(new Set(agents.keys()), next);
    if (left.length > 0) {
      for (const agentId of left) {
        const record = agents.get(agentId);
        agents.delete(agentId);
        if (record?.userId != null) {
          // Left alone in GC: nothing more is written for this user, and its stored state is dropped.
          writer.forget(record.userId);
          drift.forget(record.userId);
          userToAgent.delete(record.userId);
          acknowledged.delete(record.userId);
          latencyPending.delete(record.userId);
        }
      }
      try {
        await source.close(left);
      } catch (error) {
        log.warn('closing statistics of agents leaving scope failed', { count: left.length, reason: describe(error) });
      }
      log.info('agents left scope; statistics closed, GC users left as they are', { count: left.length, sample: left.slice(0, 10) });
      notifyUsers();
    }
    for (const agentId of entered) agents.set(agentId, newRecord(agentId));
    if (entered.length > 0) {
      log.info('agents entered scope', { count: entered.length, sample: entered.slice(0, 10) });
      await openAndPeek(entered);
    }
    // New agents, and earlier ones that had no GC user yet.
    const unresolved = [...agents.values()].filter((record) => record.userId === null).map((record) => record.agentId);
    if (identityResolvedOnce && unresolved.length > 0) {
      await resolveIdentities(unresolved, 'identity');
      const users = entered.map((agentId) => agents.get(agentId)?.userId).filter((userId): userId is string => typeof userId === 'string');
      if (users.length > 0 && !tracker.inProgress) beginResync('scope-change', users);
    }
  };

  const scopeLoop = (): void => {
    if (scopeRefreshMs <= 0) return;
    schedule(scopeRefreshMs, () => {
      refreshScope()
        .catch((error: unknown) => {
          if (!(error instanceof StoppedError)) log.warn('scope refresh failed; keeping the last scope', { reason: describe(error) });
        })
        .finally(scopeLoop);
    });
  };

  const identityLoop = (): void => {
    if (identityRefreshMs <= 0) return;
    schedule(identityRefreshMs, () => {
      resolveIdentities([...agents.keys()], 'identity')
        .catch((error: unknown) => {
          if (!(error instanceof StoppedError)) log.warn('identity refresh failed; keeping the last mapping', { reason: describe(error) });
        })
        .finally(identityLoop);
    });
  };

  const startUp = async (): Promise<void> => {
    const scope = await retrying('reading scope', () => options.scope(abort.signal));
    for (const agentId of new Set(scope)) agents.set(agentId, newRecord(agentId));
    log.info('scope read', { agents: agents.size });
    // Stat Server and GC are independent: a down GC must not keep statistics closed, nor the reverse.
    const statSide = retrying('opening statistics', () => openAndPeek([...agents.keys()]));
    const gcSide = retrying('resolving GC users', () => resolveIdentities([...agents.keys()], 'resync')).then(async () => {
      identityResolvedOnce = true;
      await seedFromStore();
    });
    await Promise.all([statSide, gcSide]);
    initialResyncBegun = true;
    await resync('start');
    scopeLoop();
    identityLoop();
  };

  // ---------------------------------------------------------------- drift

  const observeGc = (notifiedId: string, part: StatePart, value: string): void => {
    const agentId = userToAgent.get(notifiedId);
    if (agentId === undefined || stopped) return;
    const record = agents.get(agentId);
    if (record === undefined) return;
    const userId = record.userId ?? notifiedId;
    // While Stat Server cannot say what the agent is doing, EXAS defends nothing: re-asserting would push a guess.
    // What GC now holds is remembered and applied once the agent is known again (otherwise a change made in GC
    // during the unknown period was never repaired: EXAS still believed its own last write).
    if (record.snapshot === null && record.desired !== null) {
      const seen = gcSeenWhileUnknown.get(userId) ?? {};
      seen[part] = value;
      gcSeenWhileUnknown.set(userId, seen);
      // Learned now, applied later: a bulk read begun before this moment must not overwrite it either.
      noteFieldLearned(userId, part);
      return;
    }
    // GC still holds what it last acknowledged while a newer desired value waits for its write (a storm, a
    // reload, GC slow): the writer owes that write, nobody changed GC. Judging it drift spent the re-assert cap
    // (the soak's bulk reads right after a rules reload counted thousands of such "drifts"). The writer's view is
    // per field: the ledger moves only when both fields are acknowledged, and a foreign write of the ledger's
    // older presence, made while the routing status write was still owed, went unrepaired (chaos full profile).
    const believed = writer.get(userId)?.acknowledged;
    const partOf = (state: GcUserState | null | undefined): string | undefined => (state == null ? undefined : part === 'presence' ? state.presence : state.routingStatus);
    if (value === partOf(believed) && value !== partOf(record.desired)) return;
    const verdict = drift.judge(userId, part, value, record.snapshot === null ? undefined : (record.desired ?? undefined));
    if (verdict.kind !== 'drift') return;
    if (verdict.action === 'gc-rule') {
      // GC's own rule undid the one re-assert: not someone's change, and nothing EXAS could write would stick.
      counts.driftGcRule += 1;
      const fields = { agentId, userId, expected: verdict.expected, observed: verdict.observed };
      if (gcRuleLogged) log.debug('GC keeps routing status Off Queue while presence is not On Queue; not re-asserting', fields);
      else {
        gcRuleLogged = true;
        log.info("GC keeps routing status Off Queue while presence is not On Queue (its native rule, applied to injected state too); EXAS re-asserts such a routing status once per change and then leaves it", fields);
      }
      return;
    }
    counts.driftDetected += 1;
    const fields = { agentId, userId, part, expected: verdict.expected, observed: verdict.observed, action: verdict.action };
    if (verdict.action === 'capped') {
      counts.driftCapped += 1;
      log.warn('drift: re-assert cap reached; only reporting', { ...fields, reason: 'someone else keeps changing this user in GC' });
      return;
    }
    if (verdict.action === 'report') {
      log.warn('drift: changed in GC by someone else (reported only)', { ...fields, reason: 'policy report' });
      return;
    }
    // Tell the writer what GC holds: it differs from the desired state, so the writer sends the mapped state again.
    // The other field from the writer's per-field view: the ledger moves only when both fields are acknowledged,
    // and a stale field seeded here (e.g. the old presence) made the writer skip a write GC still needed (chaos).
    const base = believed ?? acknowledged.get(userId) ?? record.desired;
    if (base === null) return;
    const state: GcUserState =
      part === 'presence' ? { ...base, presence: value } : { ...base, routingStatus: standInRoutingStatus(value, record.desired?.routingStatus) };
    acknowledged.set(userId, state);
    noteFieldLearned(userId, part);
    writer.seedAcknowledged(userId, state, undefined, [part]);
    counts.driftRepaired += 1;
    log.warn('drift: changed in GC by someone else; re-asserting the mapped state', { ...fields, reason: 'policy re-assert' });
  };

  const checkByBulkRead = async (userIds: readonly string[]): Promise<void> => {
    if (options.gcState === undefined || userIds.length === 0) return;
    const read = options.gcState;
    await duringRead(async (readAt) => checkRead(readAt, await read.read(userIds, abort.signal)));
  };
  const checkRead = (readAt: number, states: Map<string, { presence?: string; routingStatus?: string }>): void => {
    for (const [userId, observed] of states) {
      // A paced read of thousands of users takes seconds: a field GC acknowledged after it began may be read from
      // before that write. Judged as drift, it re-seeded the stale value and the next change back to it was never
      // written (chaos full profile, gap read after a token revocation).
      const ackedAt = fieldAckedAt.get(userId);
      const fresh = (part: StatePart): boolean => (ackedAt?.[part] ?? Number.NEGATIVE_INFINITY) <= readAt;
      if (observed.presence !== undefined && fresh('presence')) observeGc(userId, 'presence', observed.presence);
      if (observed.routingStatus !== undefined && fresh('routingStatus')) observeGc(userId, 'routingStatus', observed.routingStatus);
    }
  };

  // ---------------------------------------------------------------- views

  const syncStatusOf = (record: AgentRecord): SyncStatus => {
    if (record.snapshot === null || record.userId === null) return 'unknown';
    const view = writer.get(record.userId);
    if (view === undefined) return record.desired === null ? 'unknown' : 'pending';
    if (view.failed) return 'error';
    if (view.pendingSince !== undefined || view.inFlight) return 'pending';
    return 'in-sync';
  };

  /** Stat Server's refusal of the agent's statistics, for the agent view (absent when it opened them). */
  const statServerRefusal = (agentId: string): Pick<AgentView, 'statServerRefusal'> => {
    const refusal = source.refusal(agentId);
    return refusal === undefined ? {} : { statServerRefusal: { message: refusal.message, since: refusal.since, lastAt: refusal.lastAt } };
  };

  const viewOf = (record: AgentRecord): AgentView => {
    const writerView = record.userId === null ? undefined : writer.get(record.userId);
    const ack = record.userId === null ? undefined : (writerView?.acknowledged ?? acknowledged.get(record.userId));
    const lastError =
      record.lastError !== null ? record.lastError : writerView?.lastError !== undefined ? { message: writerView.lastError, at: record.lastWriteAt === undefined ? 0 : unpackTime(record.lastWriteAt) } : null;
    return {
      agentId: record.agentId,
      userId: record.userId,
      syncStatus: syncStatusOf(record),
      snapshot: record.snapshot,
      ...(record.unknownReason === undefined ? {} : { unknownReason: record.unknownReason }),
      ...statServerRefusal(record.agentId),
      decision: record.decision,
      desired: writerView?.desired ?? record.desired,
      acknowledged: ack ?? null,
      lastError,
      timestamps: {
        ...(record.lastEventAt === undefined ? {} : { lastEventAt: unpackTime(record.lastEventAt) }),
        ...(record.decidedAt === undefined ? {} : { decidedAt: unpackTime(record.decidedAt) }),
        ...(record.lastWriteAt === undefined ? {} : { lastWriteAt: unpackTime(record.lastWriteAt) }),
        ...(record.acknowledgedAt === undefined ? {} : { acknowledgedAt: unpackTime(record.acknowledgedAt) }),
      },
    };
  };

  // Write retries are the writer's (the GC client never retries a write, except once after a 401): merged here.
  /** A write GC took (a whole user or one field of one): an outage, if any, is over. */
  const gcAnswered = (): void => {
    if (gcHealth.success()) {
      log.info('GC answers again after an outage; resyncing', { outages: gcHealth.outages });
      void resyncSafely('gc-recovered');
    }
  };

  const gcStats = (): MetricsSnapshot['gc'] => {
    const gc = options.gcStats?.() ?? { requests: [], rateLimited: 0, retries: { read: zeroRetryCounts(), write: zeroRetryCounts() }, budgets: [] };
    const write = addRetryCounts({ ...gc.retries.write }, writer.requestRetries());
    return { ...gc, retries: { read: gc.retries.read, write } };
  };

  const readiness = (): ReadinessChecks => {
    // Settle the resync view now rather than at the next progress tick, so a probe never sees a stale "not yet".
    if (tracker.inProgress) checkResync();
    return readinessNow();
  };

  const readinessNow = (): ReadinessChecks => ({
    rulesLoaded: rules.current() !== null,
    statServerConnected: source.isConnected(),
    // A 503 outage is not a token problem: the two are told apart so the operator looks in the right place.
    gcTokenValid: options.gcReady !== undefined ? options.gcReady() : identityResolvedOnce,
    gcReachable: !gcHealth.down && (options.gcReachable?.() ?? true),
    initialResyncDone: tracker.initialDone,
    paused: writer.paused,
    ...(options.gcMissingPermissions === undefined ? {} : { gcMissingPermissions: options.gcMissingPermissions() }),
    ...options.extraReadiness?.(),
    ...(options.lease === undefined ? {} : { lease: options.lease() }),
  });

  const bySyncStatus = (): Record<SyncStatus, number> => {
    const out: Record<SyncStatus, number> = { 'in-sync': 0, pending: 0, unknown: 0, error: 0 };
    for (const record of agents.values()) out[syncStatusOf(record)] += 1;
    return out;
  };

  const metricsSnapshot = (): MetricsSnapshot => {
    const byEngageState: Record<string, number> = {};
    for (const record of agents.values()) {
      const key = record.snapshot?.state ?? 'Unknown';
      byEngageState[key] = (byEngageState[key] ?? 0) + 1;
    }
    const writerStats = writer.stats();
    // A standby owes GC nothing: its desired states wait behind the closed gate for a takeover, not as a backlog.
    const standby = options.lease?.().role === 'standby';
    const rulesStatus = rules.status();
    const progress = tracker.inProgress ? tracker.check() : undefined;
    return {
      statServer: (({ eventsReceived, refusedAgents }) => ({ connected: source.isConnected(), eventsReceived, refusedAgents }))(source.stats()),
      agents: { byEngageState, bySyncStatus: bySyncStatus() },
      gc: gcStats(),
      writer: standby ? { usersPending: 0, oldestPendingAgeSeconds: 0 } : { usersPending: writerStats.pendingUsers, oldestPendingAgeSeconds: writerStats.oldestPendingAgeSeconds },
      drift: { detected: counts.driftDetected, repaired: counts.driftRepaired },
      resync: { inProgress: tracker.inProgress, progressRatio: progress === undefined || progress.done ? 1 : progress.ratio, completed: tracker.completed },
      rules: {
        reloadSuccess: rulesStatus.reloadSuccess,
        reloads: rulesStatus.reloads,
        hash: rulesStatus.hash,
        ...(rulesStatus.lastSuccessAt === undefined ? {} : { lastSuccessAt: rulesStatus.lastSuccessAt }),
        ...(rulesStatus.rejections === undefined ? {} : { rejections: rulesStatus.rejections }),
        ...(rulesStatus.lastRejection === undefined ? {} : { lastRejection: rulesStatus.lastRejection }),
      },
    };
  };

  // ---------------------------------------------------------------- the object

  const connector: Connector = {
    async start() {
      if (started) return;
      started = true;
      unsubscribe.push(source.onObservation(onObservation), source.onConnection(onConnection));
      unsubscribe.push(
        rules.onChange(() => {
          // A good file: recompute every agent's desired state; the writer sends only what changed.
          if (!identityResolvedOnce) return;
          for (const record of agents.values()) apply(record, 'reload');
          log.info('rules applied to every agent', { agents: agents.size, writerPending: writer.stats().pendingUsers });
        }),
      );
      progressLoop();
      try {
        await source.start();
      } catch (error) {
        // The source retries in the background; a failed first attempt is "not ready", not fatal.
        log.warn('Stat Server not reachable yet; retrying in the background', { reason: describe(error) });
      }
      startup = startUp().catch((error: unknown) => {
        if (!(error instanceof StoppedError)) log.error('start-up failed', { error: describe(error) });
      });
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      abort.abort(new StoppedError());
      for (const handle of pendingTimers) timers.clearTimeout(handle);
      pendingTimers.clear();
      for (const off of unsubscribe.splice(0)) off();
      try {
        await source.stop();
      } catch (error) {
        log.warn('stopping the Stat Server source failed', { reason: describe(error) });
      }
      // Start-up work notices the stop at its next step; a request it is waiting on must not hold up shutdown.
      let giveUp: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([startup, new Promise<void>((resolve) => (giveUp = setTimeout(resolve, 2_000)))]);
      if (giveUp !== undefined) clearTimeout(giveUp);
    },

    ready: () => startup,
    refreshScope,
    resync,
    takeOver(assumeWrittenBefore) {
      if (!initialResyncBegun || stopped) return;
      void resyncSafely('failover', assumeWrittenBefore);
    },
    checkResync,
    observeGc,
    checkByBulkRead,

    handleFieldAcknowledged(userId, field) {
      noteFieldLearned(userId, field);
      gcAnswered();
    },

    handleAcknowledged(userId, state, version) {
      const before = acknowledged.get(userId);
      acknowledged.set(userId, state, version);
      const agentId = userToAgent.get(userId);
      const record = agentId === undefined ? undefined : agents.get(agentId);
      const at = now();
      const fieldTimes = fieldTimesOf(userId);
      if (fieldTimes !== undefined) {
        if (before?.presence !== state.presence) fieldTimes.presence = at;
        if (before?.routingStatus !== state.routingStatus) fieldTimes.routingStatus = at;
      }
      if (record !== undefined) {
        record.acknowledgedAt = packTime(at);
        record.lastError = null;
        if (sameState(record.desired ?? undefined, state)) drift.noteSettled(userId);
      }
      const pending = latencyPending.get(userId);
      if (pending !== undefined && version >= pending.version) {
        latencyPending.delete(userId);
        options.metrics?.eventToGcLatency.observe((at - pending.receivedAt) / 1000);
      }
      gcAnswered();
    },

    handleFailed(userId, error, retryable, wholeRequest = false) {
      const agentId = userToAgent.get(userId);
      const record = agentId === undefined ? undefined : agents.get(agentId);
      if (record !== undefined) record.lastError = { message: error, at: now() };
      const wasDown = gcHealth.down;
      gcHealth.failure(retryable);
      if (!wasDown && gcHealth.down) log.warn('GC looks down: writes keep failing; the writer retries with backoff', { reason: error });
      // A whole request refused (a 403 for a batch of 100 users, say) was logged once by the writer: not once per user.
      if (!retryable && !wholeRequest) log.warn('write failed and will not be retried until the desired state changes', { agentId, userId, reason: error });
    },

    async saveStore() {
      // The store's flush never throws; it logs and keeps the old file on failure.
      options.store?.scheduleSave(() => ledger);
      await options.store?.flush();
    },

    syncedUsers: () => [...userToAgent.keys()],
    onSyncedUsersChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    metricsSnapshot,
    counters: () => ({ ...counts }),

    // ---- OperatorDeps
    rules: () => rules.current(),
    readiness,
    async reload(): Promise<ReloadResult> {
      const result = await rules.reload();
      return result.ok ? { ok: true, hash: result.hash } : { ok: false, errors: result.errors };
    },
    pause() {
      writer.pause();
      log.info('writes to GC paused by operator', { reason: 'operator' });
    },
    resume() {
      writer.resume();
      log.info('writes to GC resumed by operator', { reason: 'operator' });
    },
    agent(agentId) {
      const record = agents.get(agentId);
      return record === undefined ? undefined : viewOf(record);
    },
    agents(filter: AgentFilter) {
      const needle = filter.idContains?.toLowerCase();
      const all = [...agents.values()].filter(
        (record) =>
          (filter.status === undefined || syncStatusOf(record) === filter.status) && (needle === undefined || record.agentId.toLowerCase().includes(needle)),
      );
      return { total: all.length, items: all.slice(filter.offset, filter.offset + filter.limit).map(viewOf) };
    },
    *liveAgents(): Iterable<LiveAgent> {
      for (const record of agents.values()) {
        if (record.snapshot === null) continue;
        const current = record.userId === null ? undefined : acknowledged.get(record.userId);
        yield { agentId: record.agentId, state: record.snapshot.state, callType: record.snapshot.callType, reason: record.snapshot.reason, current };
      }
    },
    previewRequests(results: readonly DryRunResult[]): GcRequestPreview[][] {
      const preview = options.previewRequests;
      return results.map((result) => {
        if (preview === undefined || result.presence === null || result.routingStatus === null) return [];
        const agentId = result.agentId;
        const userId = agents.get(agentId)?.userId ?? agentId;
        const from = acknowledged.get(userId);
        const presence = result.presence === 'keep' ? (from?.presence ?? keepFallback) : result.presence;
        return preview([{ userId, from, to: { presence, routingStatus: result.routingStatus } }]);
      });
    },
    summary(): StatusSummary {
      const budgets = gcStats().budgets;
      const limit = budgets.reduce((sum, budget) => sum + budget.limit, 0);
      const available = budgets.reduce((sum, budget) => sum + budget.available, 0);
      // What GC counts: requests sent in the window, not limit − available (pacing holds tokens back).
      const sent = budgets.reduce((sum, budget) => sum + budget.sent, 0);
      const writerStats = writer.stats();
      const program = rules.current();
      const status = rules.status();
      return {
        generatedAt: now(),
        agents: { total: agents.size, bySyncStatus: bySyncStatus() },
        budget: { limit, available, inUse: sent },
        writer: { usersPending: writerStats.pendingUsers, oldestPendingAgeSeconds: writerStats.oldestPendingAgeSeconds },
        rules: program === null ? null : { file: program.file, hash: program.hash, ...(status.lastSuccessAt === undefined ? {} : { loadedAt: status.lastSuccessAt }) },
        recentChanges: [...recentChanges],
      };
    },
    metrics: () => metricsSnapshot(),
  };
  return connector;
}

/** A full state from a GC read, filling parts GC did not give from `believed`; undefined when nothing usable. */
function observedState(observed: { presence?: string; routingStatus?: string }, believed: GcUserState | undefined): GcUserState | undefined {
  const presence = observed.presence ?? believed?.presence;
  if (presence === undefined) return undefined;
  const routing = observed.routingStatus ?? believed?.routingStatus;
  if (routing === undefined) return undefined;
  return { presence, routingStatus: standInRoutingStatus(routing, believed?.routingStatus) };
}

/**
 * GC can report a routing status EXAS never sets (`NotResponding`). The writer's acknowledged state holds only
 * settable values, so such a value is recorded as one that differs from what EXAS wants, which is all the writer
 * needs to know to send the mapped value again.
 */
function standInRoutingStatus(value: string, wanted: RoutingStatus | undefined): RoutingStatus {
  if (isRoutingStatus(value)) return value;
  return wanted === 'OffQueue' ? 'Idle' : 'OffQueue';
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
