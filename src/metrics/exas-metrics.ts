/**
 * The EXAS metric set on prom-client (which runs unchanged under Node and Deno). Most values are pulled from a
 * `MetricsSource` at scrape time (collect callbacks), so the stages keep plain counters and pay nothing per
 * event for metrics; two instruments are pushed by the connector: event→GC latency and decisions by rule.
 */
import promClient from 'prom-client';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RuleRef } from '../vocabulary.ts';
import { createMetricsHistory, type MetricsHistory, type MetricsHistoryOptions } from './history.ts';
import { GC_RETRY_CAUSES } from '../gc/retry-cause.ts';
import { SYNC_STATUSES, type MetricsSnapshot, type MetricsSource, type ReadinessChecks } from './snapshot.ts';

/** At most this many values of any label a rules file or the connector controls; the rest fold into `(other)`. */
export const MAX_LABEL_VALUES = 100;
export const OTHER_LABEL = '(other)';
export const UNMATCHED_LABEL = '(unmatched)';

/**
 * Process metrics prom-client names `…_total` although they are gauges; promtool rejects a gauge with that
 * suffix, and the same numbers exist without it (`nodejs_active_handles` etc.).
 */
const DEFAULT_METRICS_LEFT_OUT = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Latency buckets in seconds: the 250 ms p99 goal sits between two of them; overload shows up to 5 minutes. */
export const LATENCY_BUCKETS_SECONDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export interface ExasMetricsOptions {
  /** Where pulled values come from. Without one (or until `setSource`), pulled metrics report zeros. */
  source?: MetricsSource;
  /** Readiness conditions for `exas_ready`, `exas_readiness_check` and `exas_paused`. */
  readiness?: () => ReadinessChecks;
  /** Include process and Node runtime metrics (default true). Tests that make many registries turn it off. */
  processMetrics?: boolean;
  /** Interval, length and clock of the in-memory history behind the status page's charts. */
  history?: Omit<MetricsHistoryOptions, 'source'>;
}

/** The metric set of one EXAS process. */
export interface ExasMetrics {
  /** The `Content-Type` of `render()`'s text (Prometheus text exposition 0.0.4). */
  readonly contentType: string;
  /** The underlying registry, for adding process-local metrics. */
  readonly registry: Registry;
  /** Observes the time from a Stat Server event to GC acknowledging the write it caused. */
  readonly eventToGcLatency: { observe(seconds: number): void };
  /** Counts one decision by the rule that made it (`null` when no rule matched). */
  readonly decisions: { record(rule: RuleRef | null): void };
  /**
   * The last minutes of a few values for the status page's charts, sampled from the same source. Sampling
   * starts with `history.start()` (the sidecar's start) and stops with `history.stop()`.
   */
  readonly history: MetricsHistory;
  /** Replaces the pulled-value source (the connector calls this once wired). */
  setSource(source: MetricsSource): void;
  /** Replaces the readiness provider. */
  setReadiness(readiness: () => ReadinessChecks): void;
  /** Takes one snapshot from the source and renders every metric as Prometheus text. */
  render(): Promise<string>;
}

/**
 * Creates the metric set with its own registry (no global state, so tests can make many).
 *
 * @example
 * const metrics = createExasMetrics({ source: () => connector.metricsSnapshot() });
 * metrics.eventToGcLatency.observe(0.042);
 * response.headers.set('content-type', metrics.contentType);
 * return await metrics.render();
 */
export function createExasMetrics(options: ExasMetricsOptions = {}): ExasMetrics {
  const registry = new promClient.Registry();
  let source: MetricsSource | undefined = options.source;
  let readiness: (() => ReadinessChecks) | undefined = options.readiness;
  // One snapshot per scrape, shared by every collect callback so the values are consistent with each other.
  let current: MetricsSnapshot | undefined;
  const snap = (): MetricsSnapshot | undefined => current;
  const registers = [registry];
  const history = createMetricsHistory({ ...options.history, source: () => source?.() });

  if (options.processMetrics ?? true) {
    promClient.collectDefaultMetrics({ register: registry });
    for (const name of DEFAULT_METRICS_LEFT_OUT) registry.removeSingleMetric(name);
  }

  const pulledGauge = (name: string, help: string, value: (s: MetricsSnapshot) => number): Gauge => {
    const gauge: Gauge = new promClient.Gauge({
      name,
      help,
      registers,
      collect() {
        const s = snap();
        gauge.set(s ? value(s) : 0);
      },
    });
    return gauge;
  };
  const pulledCounter = (name: string, help: string, value: (s: MetricsSnapshot) => number): Counter => {
    const counter: Counter = new promClient.Counter({
      name,
      help,
      registers,
      collect() {
        const s = snap();
        counter.reset();
        counter.inc(s ? nonNegative(value(s)) : 0);
      },
    });
    return counter;
  };

  const eventsReceived: Counter<'kind'> = new promClient.Counter({
    name: 'exas_statserver_events_received_total',
    help: 'Stat Server events received, by kind.',
    labelNames: ['kind'],
    registers,
    collect() {
      eventsReceived.reset();
      const s = snap();
      if (!s) return;
      for (const [kind, count] of bounded(Object.entries(s.statServer.eventsReceived))) eventsReceived.inc({ kind }, nonNegative(count));
    },
  });
  pulledGauge('exas_statserver_connected', 'Whether EXAS is connected to a Stat Server (1) or not (0).', (s) => Number(s.statServer.connected));
  pulledGauge(
    'exas_statserver_refused_agents',
    'Agents in scope whose statistics Stat Server refused to open (unknown employee id, say); see /agents/:id, retried every few minutes.',
    (s) => s.statServer.refusedAgents ?? 0,
  );

  const byState: Gauge<'state'> = new promClient.Gauge({
    name: 'exas_agents_by_engage_state',
    help: 'Agents in scope by Engage state (Unknown: state cannot be known now).',
    labelNames: ['state'],
    registers,
    collect() {
      byState.reset();
      const s = snap();
      if (!s) return;
      for (const [state, count] of Object.entries(s.agents.byEngageState)) byState.set({ state }, count ?? 0);
    },
  });
  const bySync: Gauge<'status'> = new promClient.Gauge({
    name: 'exas_agents_by_sync_status',
    help: 'Agents in scope by sync status: in-sync, pending, unknown, error.',
    labelNames: ['status'],
    registers,
    collect() {
      const s = snap();
      for (const status of SYNC_STATUSES) bySync.set({ status }, s ? s.agents.bySyncStatus[status] : 0);
    },
  });

  const gcRequests: Counter<'endpoint' | 'status_class'> = new promClient.Counter({
    name: 'exas_gc_requests_total',
    help: 'Genesys Cloud requests by endpoint and response status class (network: no response).',
    labelNames: ['endpoint', 'status_class'],
    registers,
    collect() {
      gcRequests.reset();
      const s = snap();
      if (!s) return;
      const endpoints = new Set([...new Set(s.gc.requests.map((r) => r.endpoint))].slice(0, MAX_LABEL_VALUES));
      for (const request of s.gc.requests) {
        const endpoint = endpoints.has(request.endpoint) ? request.endpoint : OTHER_LABEL;
        gcRequests.inc({ endpoint, status_class: request.statusClass }, nonNegative(request.count));
      }
    },
  });
  pulledCounter('exas_gc_rate_limited_total', 'Genesys Cloud responses with status 429.', (s) => s.gc.rateLimited);
  const gcRetries: Counter<'operation' | 'cause'> = new promClient.Counter({
    name: 'exas_gc_retries_total',
    help: 'Genesys Cloud requests sent again, by operation (read, write) and cause (429, 5xx, timeout, network, auth, event).',
    labelNames: ['operation', 'cause'],
    registers,
    collect() {
      gcRetries.reset();
      const retries = snap()?.gc.retries;
      // Every series exists from the start (zero), so rate() and alerts see the first retry.
      for (const operation of ['read', 'write'] as const) {
        for (const cause of GC_RETRY_CAUSES) gcRetries.inc({ operation, cause }, nonNegative(retries?.[operation][cause] ?? 0));
      }
    },
  });
  const permissionDenied: Counter<'endpoint'> = new promClient.Counter({
    name: 'exas_gc_permission_denied_total',
    help: 'Genesys Cloud requests refused with 403 (a permission the OAuth client lacks; never retried), by endpoint.',
    labelNames: ['endpoint'],
    registers,
    collect() {
      permissionDenied.reset();
      const denied = snap()?.gc.permissions?.denied ?? [];
      const endpoints = new Set(denied.map((entry) => entry.endpoint).slice(0, MAX_LABEL_VALUES));
      for (const entry of denied) permissionDenied.inc({ endpoint: endpoints.has(entry.endpoint) ? entry.endpoint : OTHER_LABEL }, nonNegative(entry.count));
    },
  });
  const permissionMissing: Gauge<'permission'> = new promClient.Gauge({
    name: 'exas_gc_permission_missing',
    help: 'GC permissions the OAuth client lacks now (1 per permission a 403 named; gone once the endpoint succeeds again).',
    labelNames: ['permission'],
    registers,
    collect() {
      permissionMissing.reset();
      // A permission name is bounded by what GC defines (a handful per endpoint EXAS calls), never per agent.
      for (const permission of (snap()?.gc.permissions?.missing ?? []).slice(0, MAX_LABEL_VALUES)) permissionMissing.set({ permission }, 1);
    },
  });
  pulledCounter('exas_gc_primary_source_fixed_total', "Users EXAS made its presence source the primary source of (gc.primarySource: fix).", (s) => s.gc.primarySource?.fixed ?? 0);
  pulledGauge(
    'exas_gc_primary_source_not_primary_users',
    "Synced users known not to have EXAS's presence source as primary source: their injected presence does not show (gc.primarySource: check, or a fix GC refused).",
    (s) => s.gc.primarySource?.notPrimary ?? 0,
  );
  const budgetAvailable: Gauge<'client'> = new promClient.Gauge({
    name: 'exas_gc_budget_tokens_available',
    help: 'Requests the GC client may send now without waiting (rate budget tokens available).',
    labelNames: ['client'],
    registers,
    collect() {
      budgetAvailable.reset();
      for (const budget of snap()?.gc.budgets ?? []) budgetAvailable.set({ client: budget.client }, budget.available);
    },
  });
  const budgetSent: Gauge<'client'> = new promClient.Gauge({
    name: 'exas_gc_budget_requests_in_window',
    help: 'Requests the GC client sent in the last 60 s window, which is what GC counts against its per-minute limit.',
    labelNames: ['client'],
    registers,
    collect() {
      budgetSent.reset();
      for (const budget of snap()?.gc.budgets ?? []) budgetSent.set({ client: budget.client }, budget.sent);
    },
  });
  const budgetLimit: Gauge<'client'> = new promClient.Gauge({
    name: 'exas_gc_budget_requests_per_minute',
    help: 'The configured GC request budget per minute of each GC client.',
    labelNames: ['client'],
    registers,
    collect() {
      budgetLimit.reset();
      for (const budget of snap()?.gc.budgets ?? []) budgetLimit.set({ client: budget.client }, budget.limit);
    },
  });

  pulledGauge('exas_writer_users_pending', 'Users whose desired GC state is not yet written (writer queue depth).', (s) => s.writer.usersPending);
  pulledGauge(
    'exas_writer_oldest_pending_change_age_seconds',
    'Age of the oldest change not yet written to GC (0 when none is pending).',
    (s) => s.writer.oldestPendingAgeSeconds,
  );
  const latency: Histogram = new promClient.Histogram({
    name: 'exas_event_to_gc_latency_seconds',
    help: 'Time from a Stat Server event to GC acknowledging the write it caused.',
    buckets: LATENCY_BUCKETS_SECONDS,
    registers,
  });

  pulledCounter('exas_drift_detected_total', 'Changes made in GC by someone else to a synced user (drift) seen.', (s) => s.drift.detected);
  pulledCounter('exas_drift_repaired_total', 'Drifted users EXAS re-asserted the mapped state for.', (s) => s.drift.repaired);

  pulledGauge('exas_resync_in_progress', 'Whether a full resync is running (1) or not (0).', (s) => Number(s.resync.inProgress));
  pulledGauge('exas_resync_progress_ratio', 'Progress of the running resync from 0 to 1 (1 when none runs).', (s) => s.resync.progressRatio);
  pulledCounter('exas_resyncs_completed_total', 'Full resyncs completed.', (s) => s.resync.completed);

  pulledGauge('exas_rules_reload_success', 'Whether the last rules load or reload succeeded (1) or was rejected (0).', (s) =>
    Number(s.rules.reloadSuccess),
  );
  const reloads: Counter<'result'> = new promClient.Counter({
    name: 'exas_rules_reloads_total',
    help: 'Rules loads and reloads by result (success, failure).',
    labelNames: ['result'],
    registers,
    collect() {
      reloads.reset();
      const s = snap();
      reloads.inc({ result: 'success' }, s ? nonNegative(s.rules.reloads.success) : 0);
      reloads.inc({ result: 'failure' }, s ? nonNegative(s.rules.reloads.failure) : 0);
    },
  });
  const rejections: Counter<'reason'> = new promClient.Counter({
    name: 'exas_rules_rejections_total',
    help: "Rules files refused by reason: errors (does not load), tests (its own tests fail), unreadable (missing or too large).",
    labelNames: ['reason'],
    registers,
    collect() {
      rejections.reset();
      const counts = snap()?.rules.rejections ?? {};
      for (const reason of ['errors', 'tests', 'unreadable']) rejections.inc({ reason }, nonNegative(counts[reason] ?? 0));
    },
  });
  pulledCounter('exas_store_saves_total', 'Saves of the acknowledged-state store that succeeded.', (s) => s.store?.saves ?? 0);
  pulledCounter('exas_store_save_failures_total', 'Saves of the acknowledged-state store that failed (the previous file stays).', (s) => s.store?.saveFailures ?? 0);
  pulledGauge('exas_store_save_failing', 'Whether the last save of the acknowledged-state store failed (1) or not (0).', (s) => Number((s.store?.consecutiveFailures ?? 0) > 0));
  pulledGauge('exas_store_last_save_success_timestamp_seconds', 'When the acknowledged-state store was last saved (Unix seconds; 0 if never).', (s) =>
    (s.store?.lastSaveAt ?? 0) / 1000,
  );
  pulledGauge('exas_rules_last_reload_success_timestamp_seconds', 'When the live rules were loaded (Unix seconds; 0 if never).', (s) =>
    s.rules.lastSuccessAt === undefined ? 0 : s.rules.lastSuccessAt / 1000,
  );
  const rulesInfo: Gauge<'hash'> = new promClient.Gauge({
    name: 'exas_rules_info',
    help: 'The hash of the live rules file (one series, value 1).',
    labelNames: ['hash'],
    registers,
    collect() {
      rulesInfo.reset();
      const hash = snap()?.rules.hash;
      if (hash) rulesInfo.set({ hash }, 1);
    },
  });
  const decisions: Counter<'rule'> = new promClient.Counter({
    name: 'exas_rules_decisions_total',
    help: `Rule decisions by rule name (${UNMATCHED_LABEL}: no rule matched; ${OTHER_LABEL}: beyond ${MAX_LABEL_VALUES} names).`,
    labelNames: ['rule'],
    registers,
  });
  const seenRules = new Set<string>();

  const readinessGauge: Gauge<'check'> = new promClient.Gauge({
    name: 'exas_readiness_check',
    help: 'Each readiness condition of /readyz: 1 when met.',
    labelNames: ['check'],
    registers,
    collect() {
      readinessGauge.reset();
      const checks = readiness?.();
      if (!checks) return;
      readinessGauge.set({ check: 'rules_loaded' }, Number(checks.rulesLoaded));
      readinessGauge.set({ check: 'statserver_connected' }, Number(checks.statServerConnected));
      readinessGauge.set({ check: 'gc_token_valid' }, Number(checks.gcTokenValid));
      readinessGauge.set({ check: 'gc_reachable' }, Number(checks.gcReachable));
      readinessGauge.set({ check: 'initial_resync_done' }, Number(checks.initialResyncDone));
      readinessGauge.set({ check: 'not_paused' }, Number(!checks.paused));
      if (checks.gcMissingPermissions !== undefined) readinessGauge.set({ check: 'gc_permissions' }, Number(checks.gcMissingPermissions.length === 0));
      if (checks.primarySourceReady !== undefined) readinessGauge.set({ check: 'primary_source_ready' }, Number(checks.primarySourceReady));
      if (checks.lease !== undefined) readinessGauge.set({ check: 'lease_service_reachable' }, Number(checks.lease.healthy !== false));
    },
  });
  const readyGauge: Gauge = new promClient.Gauge({
    name: 'exas_ready',
    help: 'Whether /readyz reports ready (1) or not (0).',
    registers,
    collect() {
      const checks = readiness?.();
      readyGauge.set(checks ? Number(isReady(checks)) : 0);
    },
  });
  const leaderGauge: Gauge = new promClient.Gauge({
    name: 'exas_leader',
    help: 'Whether this instance holds the lease and may write to GC (1) or stands by (0); 1 without high availability.',
    registers,
    collect() {
      const lease = readiness?.().lease;
      leaderGauge.set(lease === undefined ? 1 : Number(lease.role === 'leader'));
    },
  });
  const leaderTransitions: Counter = new promClient.Counter({
    name: 'exas_leader_transitions_total',
    help: 'Changes between leader and standby since start (high availability).',
    registers,
    collect() {
      leaderTransitions.reset();
      leaderTransitions.inc(nonNegative(readiness?.().lease?.transitions ?? 0));
    },
  });
  const pausedGauge: Gauge = new promClient.Gauge({
    name: 'exas_paused',
    help: 'Whether writes to GC are paused by an operator (1) or not (0).',
    registers,
    collect() {
      pausedGauge.set(Number(readiness?.().paused ?? false));
    },
  });

  return {
    contentType: registry.contentType,
    registry,
    history,
    eventToGcLatency: {
      observe(seconds) {
        if (!(Number.isFinite(seconds) && seconds >= 0)) return;
        latency.observe(seconds);
        history.observeLatency(seconds);
      },
    },
    decisions: {
      record(rule) {
        let name = rule === null ? UNMATCHED_LABEL : rule.name;
        if (!seenRules.has(name)) {
          if (seenRules.size >= MAX_LABEL_VALUES) name = OTHER_LABEL;
          else seenRules.add(name);
        }
        decisions.inc({ rule: name });
      },
    },
    setSource(next) {
      source = next;
    },
    setReadiness(next) {
      readiness = next;
    },
    async render() {
      current = source?.();
      try {
        return await registry.metrics();
      } finally {
        current = undefined;
      }
    },
  };
}

/** True when every readiness condition holds and writes are not paused (a standby needs no finished resync, but must reach its lease's service). */
export function isReady(checks: ReadinessChecks): boolean {
  // A healthy standby is ready without a finished resync: it writes nothing until it takes over.
  const resynced = checks.initialResyncDone || checks.lease?.role === 'standby';
  return checks.rulesLoaded && checks.statServerConnected && checks.gcTokenValid && checks.gcReachable && resynced && !checks.paused && (checks.gcMissingPermissions?.length ?? 0) === 0 && checks.primarySourceReady !== false && checks.lease?.healthy !== false;
}

function nonNegative(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

/** Keeps the first MAX_LABEL_VALUES entries by label and sums the rest under `(other)`. */
function bounded<T extends readonly [string, number]>(entries: readonly T[]): Array<[string, number]> {
  if (entries.length <= MAX_LABEL_VALUES) return entries.map(([k, v]) => [k, v]);
  const kept: Array<[string, number]> = entries.slice(0, MAX_LABEL_VALUES).map(([k, v]) => [k, v]);
  const rest = entries.slice(MAX_LABEL_VALUES).reduce((sum, [, v]) => sum + nonNegative(v), 0);
  kept.push([OTHER_LABEL, rest]);
  return kept;
}
