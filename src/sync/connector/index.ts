/**
 * The connector: StatSource → (normalized snapshots) → compiled rules → keep resolution → GC user → writer.
 * This file is its public face and only wires the parts, each of which holds one policy:
 * - `agent-table.ts`: the per-agent view as dense columns (one slot per agent id);
 * - `intake.ts`: observation → rules → desired state, handed to the writer;
 * - `resync-orchestrator.ts`: start-up, Stat Server reconnect, GC recovery, rules reload, HA takeover;
 * - `streaming-start.ts`: the start-up resync at the request floor (state from identity pages; cold-resync.ts);
 * - `scope-identity.ts`: which agents are synced and which GC user each one is;
 * - `gc-observation.ts`: bulk reads and drift judgement of what GC holds;
 * - `ledger.ts`: acknowledged states (what the store saves); `write-outcomes.ts`: the writer's outcomes;
 * - `status.ts`: readiness and metrics; `run-control.ts`: timers, stop, retries.
 * The operator surface is built on top of this, outside `src/sync` (src/operator/read-model.ts).
 *
 * Starting while GC or Stat Server is down is normal: scope, identity and statistics are retried with backoff
 * in the background and `/readyz` says not ready; nothing here throws for it.
 */
import { createLogger, type Logger } from '../../log.ts';
import type { ExasMetrics, MetricsSnapshot, MissingGcPermission, ReadinessChecks, SyncStatus } from '../../metrics/index.ts';
import type { StatSource } from '../../statserver/stat-source.ts';
import type { GcUserState } from '../../vocabulary.ts';
import type { LeaseView } from '../../ha/types.ts';
import type { PagedIdentityLookup, PagedStateReader } from '../cold-resync.ts';
import { createDriftGuard, type DriftPolicy, type StatePart } from '../drift.ts';
import type { ResyncProgress, ResyncReason } from '../resync.ts';
import type { RulesHolder } from '../rules-holder.ts';
import type { ScopeProvider } from '../scope.ts';
import type { Writer } from '../writer/index.ts';
import { createAgentTable } from './agent-table.ts';
import { createGcObservation, type GcStateReader } from './gc-observation.ts';
import { createIntake, type RecentChange } from './intake.ts';
import { createLedger, type StatePersistence } from './ledger.ts';
import { createResyncOrchestrator, type ResyncOrchestratorOptions } from './resync-orchestrator.ts';
import { createRunControl, describe, StoppedError, type ConnectorTimers } from './run-control.ts';
import { createScopeIdentity, type IdentityLookup } from './scope-identity.ts';
import { createSyncStatus, type AgentRecordView } from './status.ts';
import { createWriteOutcomes } from './write-outcomes.ts';

export type { AgentRecordView, ConnectorTimers, GcStateReader, IdentityLookup, RecentChange, StatePersistence };

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
  /**
   * Identity pages that carry GC state (src/sync/cold-resync.ts): the start-up resync then streams (writes begin
   * with the first page) and `watchBeforeRead` is awaited after the writes, followed by a gap check by pages.
   */
  readonly pagedIdentity?: PagedIdentityLookup;
  /** Every synced user's GC state by listing pages: the GC-recovery and takeover reads and the gap check use it. */
  readonly pagedState?: PagedStateReader;
  /** Called once the streaming start's gap check has read every user (or failed, or there is none). */
  readonly onStartChecked?: () => void;
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
  readonly now?: () => number;
  readonly timers?: ConnectorTimers;
  readonly logger?: Logger;
  readonly random?: () => number;
  /** High availability: this instance's lease (absent: a single instance, always the writer). */
  readonly lease?: () => LeaseView;
}

/** The connector: the running heart of `exas run`. Views for operators are built on it (src/operator). */
export interface Connector {
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
  /**
   * Reads every synced user by listing pages and judges drift on each, as a notification would (the streaming
   * start's gap check, reused after a takeover). Resolves false, reading nothing, without a paged reader.
   */
  checkByPages(): Promise<boolean>;
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
  /** Readiness conditions (`/readyz`). */
  readiness(): ReadinessChecks;
  /** Plain numbers for `/metrics`. */
  metricsSnapshot(): MetricsSnapshot;
  counters(): { unmatched: number; unknown: number; driftDetected: number; driftRepaired: number; driftCapped: number; driftGcRule: number; observations: number };
  /** Agent ids in scope, in the order they entered. */
  agentIds(): Iterable<string>;
  readonly agentCount: () => number;
  /** One agent as the connector holds it, or undefined when not in scope. */
  agentRecord(agentId: string): AgentRecordView | undefined;
  /** Agents per sync status. */
  bySyncStatus(): Record<SyncStatus, number>;
  /** What GC last acknowledged for a synced user. */
  acknowledgedOf(userId: string): GcUserState | undefined;
  /** Newest first, a bounded list. */
  recentChanges(): readonly RecentChange[];
  /** GC request counters and budgets, with the writer's retries merged in. */
  gcStats(): MetricsSnapshot['gc'];
  /** The presence `keep` stands for with nothing to keep. */
  readonly keepFallback: string;
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
  const keepFallback = options.keepFallback ?? 'Busy';
  if (keepFallback === 'Available') throw new Error("keepFallback: must not be 'Available'");
  const driftOptions = options.drift ?? { policy: 're-assert' as const, maxReasserts: 3, windowMs: 300_000, echoWindowMs: 30_000 };
  const { source, writer, rules } = options;

  const run = createRunControl({ timers, retry: options.retry ?? { initialDelayMs: 1_000, maxDelayMs: 60_000 }, random: options.random ?? Math.random, log });
  const table = createAgentTable();
  const drift = createDriftGuard({ ...driftOptions, now });
  const ledger = createLedger({ table, writer, store: options.store, now, log });
  const isStopped = (): boolean => run.stopped;
  const observation = createGcObservation({ table, ledger, writer, drift, gcState: options.gcState, pagedState: options.pagedState, signal: run.signal, isStopped, now, log });
  // Wired late: intake needs to know whether the start-up resync began, which the orchestrator (built on intake) owns.
  let pushing = (): boolean => false;
  const intake = createIntake({
    table,
    ledger,
    writer,
    rules,
    drift,
    keepFallback,
    metrics: options.metrics,
    pushing: () => pushing(),
    isStopped,
    knownAgain: observation.takeSeenWhileUnknown,
    now,
    log,
  });
  let identityResolvedOnce = (): boolean => false;
  const scope = createScopeIdentity({
    table,
    ledger,
    intake,
    writer,
    drift,
    forgetObserved: observation.forget,
    source,
    scope: options.scope,
    identity: options.identity,
    run,
    identityResolvedOnce: () => identityResolvedOnce(),
    scopeRefreshMs: options.scopeRefreshMs ?? 300_000,
    identityRefreshMs: options.identityRefreshMs ?? 900_000,
    log,
  });
  const orchestrator = createResyncOrchestrator({
    table,
    ledger,
    intake,
    observation,
    scope,
    writer,
    rules,
    source,
    run,
    ...startOptions(options),
    progressIntervalMs: options.progressIntervalMs ?? 1_000,
    now,
    log,
  });
  pushing = () => orchestrator.initialResyncBegun || orchestrator.streaming;
  identityResolvedOnce = () => orchestrator.identityResolvedOnce;
  const outcomes = createWriteOutcomes({ table, ledger, intake, observation, drift, onRecovered: () => void orchestrator.resyncSafely('gc-recovered'), now, log });
  const status = createSyncStatus({
    table,
    ledger,
    writer,
    rules,
    source,
    orchestrator,
    gcHealth: outcomes.gcHealth,
    drift: () => ({ detected: observation.counts.driftDetected, repaired: observation.counts.driftRepaired }),
    gcReady: options.gcReady,
    gcReachable: options.gcReachable,
    gcStats: options.gcStats,
    gcMissingPermissions: options.gcMissingPermissions,
    extraReadiness: options.extraReadiness,
    lease: options.lease,
  });

  let started = false;
  let startup: Promise<void> = Promise.resolve();
  const unsubscribe: Array<() => void> = [];

  return {
    async start() {
      if (started) return;
      started = true;
      unsubscribe.push(...orchestrator.attach());
      try {
        await source.start();
      } catch (error) {
        // The source retries in the background; a failed first attempt is "not ready", not fatal.
        log.warn('Stat Server not reachable yet; retrying in the background', { reason: describe(error) });
      }
      startup = orchestrator.startUp().catch((error: unknown) => {
        if (!(error instanceof StoppedError)) log.error('start-up failed', { error: describe(error) });
      });
    },
    async stop() {
      if (run.stopped) return;
      run.stop();
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
    async refreshScope() {
      orchestrator.scopeEntered(await scope.refreshScope());
    },
    resync: (reason) => orchestrator.resync(reason),
    takeOver: orchestrator.takeOver,
    checkResync: orchestrator.checkResync,
    observeGc: observation.observeGc,
    checkByBulkRead: observation.checkByBulkRead,
    checkByPages: observation.checkByPages,
    handleAcknowledged: outcomes.handleAcknowledged,
    handleFieldAcknowledged: outcomes.handleFieldAcknowledged,
    handleFailed: outcomes.handleFailed,
    saveStore: ledger.save,
    syncedUsers: scope.syncedUsers,
    onSyncedUsersChange: scope.onSyncedUsersChange,
    readiness: status.readiness,
    metricsSnapshot: status.metricsSnapshot,
    counters: () => ({ ...intake.counts, ...observation.counts }),
    agentIds: () => table.agentIds(),
    agentCount: () => table.size,
    agentRecord: status.agentRecord,
    bySyncStatus: status.bySyncStatus,
    acknowledgedOf: (userId) => ledger.get(userId),
    recentChanges: intake.recentChanges,
    gcStats: status.gcStats,
    keepFallback,
  };
}

/** What the orchestrator's start-up (plain or streaming) takes from the connector's options. */
function startOptions(options: ConnectorOptions): Pick<ResyncOrchestratorOptions, 'canReadGc' | 'watchBeforeRead' | 'pagedIdentity' | 'gcState' | 'onStartChecked' | 'lease'> {
  return {
    canReadGc: options.gcState !== undefined || options.pagedState !== undefined,
    watchBeforeRead: options.watchBeforeRead,
    pagedIdentity: options.pagedIdentity,
    gcState: options.gcState,
    onStartChecked: options.onStartChecked,
    lease: options.lease,
  };
}
