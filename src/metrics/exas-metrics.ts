/**
 * The EXAS metric set on prom-client (which runs unchanged under Node and Deno). Most values are pulled from a
 * `MetricsSource` at scrape time (collect callbacks), so the stages keep plain counters and pay nothing per
 * event for metrics; two instruments are pushed by the connector: event→GC latency and decisions by rule.
 */
import promClient from 'prom-client';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RuleRef } from '../vocabulary.ts';
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
  pulledCounter('exas_gc_retries_total', 'Genesys Cloud requests sent again after a 429, 5xx or timeout.', (s) => s.gc.retries);
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
      readinessGauge.set({ check: 'initial_resync_done' }, Number(checks.initialResyncDone));
      readinessGauge.set({ check: 'not_paused' }, Number(!checks.paused));
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
    eventToGcLatency: {
      observe(seconds) {
        if (Number.isFinite(seconds) && seconds >= 0) latency.observe(seconds);
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

/** True when every readiness condition holds and writes are not paused (a standby needs no finished resync). */
export function isReady(checks: ReadinessChecks): boolean {
  const resynced = checks.initialResyncDone || checks.lease?.role === 'standby';
  return checks.rulesLoaded && checks.statServerConnected && checks.gcTokenValid && resynced && !checks.paused;
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
