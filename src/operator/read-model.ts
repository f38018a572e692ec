/**
 * The operator read model: what `/agents`, `/api/summary`, the impact preview and the operator commands see of a
 * running EXAS (`OperatorDeps`), built on the connector and the writer. It depends on the sync stage; sync knows
 * nothing of it (test/architecture.test.ts checks that). Reads are computed on request, from the connector's
 * dense per-agent columns and the writer's per-user view; nothing is cached here.
 */
import { createLogger, type Logger } from '../log.ts';
import type { DryRunResult, LiveAgent } from '../rules/index.ts';
import type { StatSource } from '../statserver/stat-source.ts';
import type { AgentRecordView, Connector } from '../sync/connector/index.ts';
import type { GcRequestPreview } from '../sync/gc-adapters.ts';
import type { RulesHolder } from '../sync/rules-holder.ts';
import type { Writer } from '../sync/writer/index.ts';
import type { GcUserState } from '../vocabulary.ts';
import type { AgentFilter, AgentView, OperatorDeps, ReloadResult, StatusSummary } from './types.ts';

export interface OperatorReadModelOptions {
  readonly connector: Connector;
  readonly writer: Pick<Writer, 'get' | 'stats' | 'pause' | 'resume'>;
  readonly rules: Pick<RulesHolder, 'current' | 'status' | 'reload'>;
  readonly source: Pick<StatSource, 'refusal'>;
  /** For the impact preview: the GC requests a set of changes would cost (optional). */
  readonly previewRequests?: (changes: ReadonlyArray<{ userId: string; from: GcUserState | undefined; to: GcUserState }>) => GcRequestPreview[];
  readonly now?: () => number;
  readonly logger?: Logger;
}

/** The connector with the operator surface on it: what the sidecar hands to the HTTP server and to tests. */
export type OperatedConnector = Connector & OperatorDeps;

/**
 * Creates the operator read model.
 *
 * @example
 * const deps = createOperatorReadModel({ connector, writer, rules, source });
 * deps.agent('1001')?.syncStatus; // 'in-sync'
 */
export function createOperatorReadModel(options: OperatorReadModelOptions): OperatorDeps {
  const { connector, writer, rules, source } = options;
  const now = options.now ?? Date.now;
  const log = options.logger ?? createLogger('sync.connector');

  /** Stat Server's refusal of the agent's statistics, for the agent view (absent when it opened them). */
  const statServerRefusal = (agentId: string): Pick<AgentView, 'statServerRefusal'> => {
    const refusal = source.refusal(agentId);
    return refusal === undefined ? {} : { statServerRefusal: { message: refusal.message, since: refusal.since, lastAt: refusal.lastAt } };
  };

  const viewOf = (record: AgentRecordView): AgentView => {
    const writerView = record.userId === null ? undefined : writer.get(record.userId);
    const ack = record.userId === null ? undefined : (writerView?.acknowledged ?? record.acknowledged);
    const lastError = record.lastError !== null ? record.lastError : writerView?.lastError !== undefined ? { message: writerView.lastError, at: record.lastWriteAt ?? 0 } : null;
    return {
      agentId: record.agentId,
      userId: record.userId,
      syncStatus: record.syncStatus,
      snapshot: record.snapshot,
      ...(record.unknownReason === undefined ? {} : { unknownReason: record.unknownReason }),
      ...statServerRefusal(record.agentId),
      decision: record.decision,
      desired: writerView?.desired ?? record.desired,
      acknowledged: ack ?? null,
      lastError,
      timestamps: {
        ...(record.lastEventAt === undefined ? {} : { lastEventAt: record.lastEventAt }),
        ...(record.decidedAt === undefined ? {} : { decidedAt: record.decidedAt }),
        ...(record.lastWriteAt === undefined ? {} : { lastWriteAt: record.lastWriteAt }),
        ...(record.acknowledgedAt === undefined ? {} : { acknowledgedAt: record.acknowledgedAt }),
      },
    };
  };

  function* records(): Generator<AgentRecordView> {
    for (const agentId of connector.agentIds()) {
      const record = connector.agentRecord(agentId);
      if (record !== undefined) yield record;
    }
  }

  return {
    rules: () => rules.current(),
    readiness: () => connector.readiness(),
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
      const record = connector.agentRecord(agentId);
      return record === undefined ? undefined : viewOf(record);
    },
    agents(filter: AgentFilter) {
      const needle = filter.idContains?.toLowerCase();
      const all = [...records()].filter(
        (record) => (filter.status === undefined || record.syncStatus === filter.status) && (needle === undefined || record.agentId.toLowerCase().includes(needle)),
      );
      return { total: all.length, items: all.slice(filter.offset, filter.offset + filter.limit).map(viewOf) };
    },
    *liveAgents(): Iterable<LiveAgent> {
      for (const record of records()) {
        if (record.snapshot === null) continue;
        const current = record.userId === null ? undefined : record.acknowledged;
        yield { agentId: record.agentId, state: record.snapshot.state, callType: record.snapshot.callType, reason: record.snapshot.reason, current };
      }
    },
    previewRequests(results: readonly DryRunResult[]): GcRequestPreview[][] {
      const preview = options.previewRequests;
      return results.map((result) => {
        if (preview === undefined || result.presence === null || result.routingStatus === null) return [];
        const agentId = result.agentId;
        const userId = connector.agentRecord(agentId)?.userId ?? agentId;
        const from = connector.acknowledgedOf(userId);
        const presence = result.presence === 'keep' ? (from?.presence ?? connector.keepFallback) : result.presence;
        return preview([{ userId, from, to: { presence, routingStatus: result.routingStatus } }]);
      });
    },
    summary(): StatusSummary {
      const budgets = connector.gcStats().budgets;
      const limit = budgets.reduce((sum, budget) => sum + budget.limit, 0);
      const available = budgets.reduce((sum, budget) => sum + budget.available, 0);
      // What GC counts: requests sent in the window, not limit − available (pacing holds tokens back).
      const sent = budgets.reduce((sum, budget) => sum + budget.sent, 0);
      const writerStats = writer.stats();
      const program = rules.current();
      const status = rules.status();
      return {
        generatedAt: now(),
        agents: { total: connector.agentCount(), bySyncStatus: connector.bySyncStatus() },
        budget: { limit, available, inUse: sent },
        writer: { usersPending: writerStats.pendingUsers, oldestPendingAgeSeconds: writerStats.oldestPendingAgeSeconds },
        rules: program === null ? null : { file: program.file, hash: program.hash, ...(status.lastSuccessAt === undefined ? {} : { loadedAt: status.lastSuccessAt }) },
        recentChanges: [...connector.recentChanges()],
      };
    },
    metrics: () => connector.metricsSnapshot(),
  };
}

/** The connector and its operator surface as one object (the sidecar's `connector`; tests use it the same way). */
export function withOperatorSurface(connector: Connector, options: Omit<OperatorReadModelOptions, 'connector'>): OperatedConnector {
  return { ...connector, ...createOperatorReadModel({ ...options, connector }) };
}
