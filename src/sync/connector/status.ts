/**
 * The sync stage's status in plain numbers: readiness (`/readyz`), the `/metrics` snapshot, and each agent's sync
 * status (in sync, pending, error, unknown). Read-only over the other parts; the operator read model builds on it.
 */
import { addRetryCounts, zeroRetryCounts } from '../../gc/retry-cause.ts';
import type { LeaseView } from '../../ha/types.ts';
import type { MetricsSnapshot, MissingGcPermission, ReadinessChecks, SyncStatus } from '../../metrics/index.ts';
import type { Decision } from '../../rules/index.ts';
import type { StatSource } from '../../statserver/stat-source.ts';
import type { AgentSnapshot, GcUserState } from '../../vocabulary.ts';
import type { RulesHolder } from '../rules-holder.ts';
import type { Writer } from '../writer/index.ts';
import { timeAt, type AgentTable } from './agent-table.ts';
import type { Ledger } from './ledger.ts';
import type { GcHealth } from '../gc-health.ts';
import type { ResyncOrchestrator } from './resync-orchestrator.ts';

/** One agent as the connector holds it (a copy; times in epoch ms, absent when none). */
export interface AgentRecordView {
  readonly agentId: string;
  readonly userId: string | null;
  readonly snapshot: AgentSnapshot | null;
  readonly unknownReason: string | undefined;
  readonly decision: Decision | null;
  /** What the connector last asked the writer for. */
  readonly desired: GcUserState | null;
  /** The ledger's entry: what GC last acknowledged (or a read / the store said). */
  readonly acknowledged: GcUserState | undefined;
  readonly lastError: { readonly message: string; readonly at: number } | null;
  readonly syncStatus: SyncStatus;
  readonly lastEventAt?: number;
  readonly decidedAt?: number;
  readonly lastWriteAt?: number;
  readonly acknowledgedAt?: number;
}

export interface SyncStatusView {
  /** One agent as the connector holds it, or undefined when not in scope. */
  agentRecord(agentId: string): AgentRecordView | undefined;
  readiness(): ReadinessChecks;
  metricsSnapshot(): MetricsSnapshot;
  /** GC request counters and budgets, with the writer's retries merged in. */
  gcStats(): MetricsSnapshot['gc'];
  syncStatusOf(slot: number): SyncStatus;
  bySyncStatus(): Record<SyncStatus, number>;
}

export interface SyncStatusOptions {
  readonly table: AgentTable;
  readonly ledger: Pick<Ledger, 'get'>;
  readonly writer: Pick<Writer, 'get' | 'stats' | 'requestRetries' | 'paused'>;
  readonly rules: Pick<RulesHolder, 'current' | 'status'>;
  readonly source: StatSource;
  readonly orchestrator: Pick<ResyncOrchestrator, 'tracker' | 'identityResolvedOnce' | 'checkResync'>;
  readonly gcHealth: Pick<GcHealth, 'down'>;
  readonly drift: () => { detected: number; repaired: number };
  readonly gcReady: (() => boolean) | undefined;
  readonly gcReachable: (() => boolean) | undefined;
  readonly gcStats: (() => MetricsSnapshot['gc']) | undefined;
  readonly gcMissingPermissions: (() => readonly MissingGcPermission[]) | undefined;
  readonly extraReadiness: (() => Pick<ReadinessChecks, 'primarySourceReady' | 'usersNotPrimary'>) | undefined;
  readonly lease: (() => LeaseView) | undefined;
}

export function createSyncStatus(options: SyncStatusOptions): SyncStatusView {
  const { table, writer, rules, source, orchestrator } = options;
  const tracker = orchestrator.tracker;

  const syncStatusOf = (slot: number): SyncStatus => {
    const userId = table.userId[slot] ?? null;
    if (table.snapshot[slot] == null || userId === null) return 'unknown';
    const view = writer.get(userId);
    if (view === undefined) return table.desired[slot] == null ? 'unknown' : 'pending';
    if (view.failed) return 'error';
    if (view.pendingSince !== undefined || view.inFlight) return 'pending';
    return 'in-sync';
  };

  const bySyncStatus = (): Record<SyncStatus, number> => {
    const out: Record<SyncStatus, number> = { 'in-sync': 0, pending: 0, unknown: 0, error: 0 };
    for (const slot of table.slots()) out[syncStatusOf(slot)] += 1;
    return out;
  };

  const gcStats = (): MetricsSnapshot['gc'] => {
    const gc = options.gcStats?.() ?? { requests: [], rateLimited: 0, retries: { read: zeroRetryCounts(), write: zeroRetryCounts() }, budgets: [] };
    const write = addRetryCounts({ ...gc.retries.write }, writer.requestRetries());
    return { ...gc, retries: { read: gc.retries.read, write } };
  };

  const readinessNow = (): ReadinessChecks => ({
    rulesLoaded: rules.current() !== null,
    statServerConnected: source.isConnected(),
    // A 503 outage is not a token problem: the two are told apart so the operator looks in the right place.
    gcTokenValid: options.gcReady !== undefined ? options.gcReady() : orchestrator.identityResolvedOnce,
    gcReachable: !options.gcHealth.down && (options.gcReachable?.() ?? true),
    initialResyncDone: tracker.initialDone,
    paused: writer.paused,
    ...(options.gcMissingPermissions === undefined ? {} : { gcMissingPermissions: options.gcMissingPermissions() }),
    ...options.extraReadiness?.(),
    ...(options.lease === undefined ? {} : { lease: options.lease() }),
  });

  const metricsSnapshot = (): MetricsSnapshot => {
    const byEngageState: Record<string, number> = {};
    for (const slot of table.slots()) {
      const key = table.snapshot[slot]?.state ?? 'Unknown';
      byEngageState[key] = (byEngageState[key] ?? 0) + 1;
    }
    const writerStats = writer.stats();
    // A standby owes GC nothing: its desired states wait behind the closed gate for a takeover, not as a backlog.
    const standby = options.lease?.().role === 'standby';
    const rulesStatus = rules.status();
    const progress = tracker.inProgress ? tracker.check() : undefined;
    const drift = options.drift();
    return {
      statServer: (({ eventsReceived, refusedAgents }) => ({ connected: source.isConnected(), eventsReceived, refusedAgents }))(source.stats()),
      agents: { byEngageState, bySyncStatus: bySyncStatus() },
      gc: gcStats(),
      writer: standby ? { usersPending: 0, oldestPendingAgeSeconds: 0 } : { usersPending: writerStats.pendingUsers, oldestPendingAgeSeconds: writerStats.oldestPendingAgeSeconds },
      drift: { detected: drift.detected, repaired: drift.repaired },
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

  return {
    agentRecord(agentId) {
      const slot = table.slotOf(agentId);
      if (slot === undefined) return undefined;
      const userId = table.userId[slot] ?? null;
      const times = { lastEventAt: timeAt(table.lastEventAt, slot), decidedAt: timeAt(table.decidedAt, slot), lastWriteAt: timeAt(table.lastWriteAt, slot), acknowledgedAt: timeAt(table.acknowledgedAt, slot) };
      return {
        agentId,
        userId,
        snapshot: table.snapshot[slot] ?? null,
        unknownReason: table.unknownReason[slot],
        decision: table.decision[slot] ?? null,
        desired: table.desired[slot] ?? null,
        acknowledged: userId === null ? undefined : options.ledger.get(userId),
        lastError: table.lastError[slot] ?? null,
        syncStatus: syncStatusOf(slot),
        ...Object.fromEntries(Object.entries(times).filter(([, at]) => at !== undefined)),
      };
    },
    readiness() {
      // Settle the resync view now rather than at the next progress tick, so a probe never sees a stale "not yet".
      if (tracker.inProgress) orchestrator.checkResync();
      return readinessNow();
    },
    metricsSnapshot,
    gcStats,
    syncStatusOf,
    bySyncStatus,
  };
}
