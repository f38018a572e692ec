/**
 * A fake `OperatorDeps` for the operator app's tests and the browser test: a few agents in memory, the real
 * rules engine, and counters of every side-effecting call so tests can prove a preview changed nothing.
 */
import { readFileSync } from 'node:fs';
import { emptyMetricsSnapshot, type MetricsSnapshot } from '../../../src/metrics/index.ts';
import type { AgentView, GcRequestPreview, LiveAgent, OperatorDeps, ReadinessChecks, ReloadResult } from '../../../src/http/index.ts';
import { loadRules, type DryRunResult, type RulesProgram } from '../../../src/rules/index.ts';

export const DEFAULT_RULES_TEXT = readFileSync(new URL('../../../exas.rules.yaml', import.meta.url), 'utf8');

export function defaultProgram(): RulesProgram {
  const { program, errors } = loadRules(DEFAULT_RULES_TEXT, 'exas.rules.yaml');
  if (!program) throw new Error(`default rules do not load: ${JSON.stringify(errors)}`);
  return program;
}

export const AGENTS: AgentView[] = [
  {
    agentId: '1001',
    userId: 'user-1001',
    syncStatus: 'in-sync',
    snapshot: { agentId: '1001', state: 'Ready', callType: 'None', reason: null, at: 1_764_500_000_000 },
    decision: { presence: 'OnQueue', routingStatus: 'Idle', rule: { name: 'ready-idle', file: 'exas.rules.yaml', line: 47 }, unmatched: false },
    desired: { presence: 'OnQueue', routingStatus: 'Idle' },
    acknowledged: { presence: 'OnQueue', routingStatus: 'Idle' },
    lastError: null,
    timestamps: { lastEventAt: 1_764_500_000_000, decidedAt: 1_764_500_000_001, lastWriteAt: 1_764_500_000_050, acknowledgedAt: 1_764_500_000_120 },
  },
  {
    agentId: '1002',
    userId: 'user-1002',
    syncStatus: 'pending',
    snapshot: { agentId: '1002', state: 'NotReady', callType: 'None', reason: 'Break', at: 1_764_500_001_000 },
    decision: { presence: 'Break', routingStatus: 'OffQueue', rule: { name: 'not-ready-break', file: 'exas.rules.yaml', line: 17 }, unmatched: false },
    desired: { presence: 'Break', routingStatus: 'OffQueue' },
    acknowledged: { presence: 'OnQueue', routingStatus: 'Idle' },
    lastError: null,
    timestamps: { lastEventAt: 1_764_500_001_000 },
  },
  {
    agentId: '1003',
    userId: 'user-1003',
    syncStatus: 'error',
    snapshot: { agentId: '1003', state: 'Ready', callType: 'Inbound', reason: null, at: 1_764_500_002_000 },
    decision: { presence: 'OnQueue', routingStatus: 'Interacting', rule: { name: 'ready-other-call', file: 'exas.rules.yaml', line: 55 }, unmatched: false },
    desired: { presence: 'OnQueue', routingStatus: 'Interacting' },
    acknowledged: { presence: 'Busy', routingStatus: 'OffQueue' },
    lastError: { message: 'GC rejected the event', code: 'bad.request', at: 1_764_500_002_500 },
    timestamps: { lastEventAt: 1_764_500_002_000 },
  },
  {
    agentId: '1004',
    userId: null,
    syncStatus: 'unknown',
    snapshot: null,
    unknownReason: 'invalid',
    decision: null,
    desired: null,
    acknowledged: null,
    lastError: null,
    timestamps: {},
  },
];

export interface FakeDeps extends OperatorDeps {
  /** Side-effecting calls made so far. */
  readonly calls: { reload: number; pause: number; resume: number };
  /** What the next reload reads. */
  nextRulesText: string;
  readinessState: ReadinessChecks;
}

export interface FakeDepsOptions {
  /** Without a live connector: no previewRequests / liveAgents hooks. */
  offline?: boolean;
  metrics?: Partial<MetricsSnapshot>;
}

export function createFakeDeps(options: FakeDepsOptions = {}): FakeDeps {
  let rules: RulesProgram | null = defaultProgram();
  let reloadSuccess = true;
  const reloads = { success: 1, failure: 0 };
  const deps: FakeDeps = {
    calls: { reload: 0, pause: 0, resume: 0 },
    nextRulesText: DEFAULT_RULES_TEXT,
    readinessState: { rulesLoaded: true, statServerConnected: true, gcTokenValid: true, gcReachable: true, initialResyncDone: true, paused: false },
    rules: () => rules,
    readiness: () => deps.readinessState,
    async reload(): Promise<ReloadResult> {
      deps.calls.reload++;
      const loaded = loadRules(deps.nextRulesText, 'exas.rules.yaml');
      if (!loaded.program) {
        reloads.failure++;
        reloadSuccess = false;
        return { ok: false, errors: loaded.errors };
      }
      rules = loaded.program;
      reloads.success++;
      reloadSuccess = true;
      return { ok: true, hash: rules.hash };
    },
    pause() {
      deps.calls.pause++;
      deps.readinessState = { ...deps.readinessState, paused: true };
    },
    resume() {
      deps.calls.resume++;
      deps.readinessState = { ...deps.readinessState, paused: false };
    },
    agent: (agentId) => AGENTS.find((agent) => agent.agentId === agentId),
    agents(filter) {
      const needle = filter.idContains?.toLowerCase();
      const matching = AGENTS.filter(
        (agent) => (filter.status === undefined || agent.syncStatus === filter.status) && (needle === undefined || agent.agentId.toLowerCase().includes(needle)),
      );
      return { total: matching.length, items: matching.slice(filter.offset, filter.offset + filter.limit) };
    },
    summary: () => ({
      generatedAt: 1_764_500_003_000,
      agents: { total: AGENTS.length, bySyncStatus: { 'in-sync': 1, pending: 1, unknown: 1, error: 1 } },
      budget: { limit: 300, available: 240, inUse: 60 },
      writer: { usersPending: 1, oldestPendingAgeSeconds: 2 },
      rules: rules ? { file: rules.file, hash: rules.hash } : null,
      recentChanges: [
        {
          agentId: '1001',
          at: 1_764_500_000_050,
          from: { presence: 'Busy', routingStatus: 'OffQueue' },
          to: { presence: 'OnQueue', routingStatus: 'Idle' },
          rule: { name: 'ready-idle', file: 'exas.rules.yaml', line: 47 },
        },
      ],
    }),
    metrics: () => ({
      ...emptyMetricsSnapshot(),
      statServer: { connected: true, eventsReceived: { CurrentState: 12, CurrentStateReason: 5 } },
      agents: { byEngageState: { Ready: 2, NotReady: 1, Unknown: 1 }, bySyncStatus: { 'in-sync': 1, pending: 1, unknown: 1, error: 1 } },
      rules: { reloadSuccess, reloads: { ...reloads }, hash: rules?.hash ?? null, lastSuccessAt: 1_764_500_000_000 },
      ...options.metrics,
    }),
  };
  if (!options.offline) {
    deps.previewRequests = (results: readonly DryRunResult[]): GcRequestPreview[][] =>
      results.map((result) => {
        const acknowledged = AGENTS.find((agent) => agent.agentId === result.agentId)?.acknowledged;
        const requests: GcRequestPreview[] = [];
        if (result.presence !== null && result.presence !== acknowledged?.presence) {
          requests.push({ method: 'POST', path: '/api/v2/events/users/presence', body: { events: [{ userId: `user-${result.agentId}`, presence: result.presence }] } });
        }
        if (result.routingStatus !== null && result.routingStatus !== acknowledged?.routingStatus) {
          requests.push({ method: 'POST', path: '/api/v2/events/users/routingstatus', body: { events: [{ userId: `user-${result.agentId}`, routingStatus: result.routingStatus }] } });
        }
        return requests;
      });
    deps.liveAgents = (): LiveAgent[] =>
      AGENTS.filter((agent) => agent.snapshot !== null).map((agent) => ({
        agentId: agent.agentId,
        state: agent.snapshot!.state,
        callType: agent.snapshot!.callType,
        reason: agent.snapshot!.reason,
        current: agent.acknowledged ?? undefined,
      }));
  }
  return deps;
}
