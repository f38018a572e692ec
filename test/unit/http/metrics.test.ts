import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createOperatorApp } from '../../../src/http/index.ts';
import { createExasMetrics, emptyMetricsSnapshot, MAX_LABEL_VALUES, OTHER_LABEL, UNMATCHED_LABEL } from '../../../src/metrics/index.ts';
import { AGENTS, createFakeDeps } from './fake-deps.ts';
import { zeroRetryCounts } from '../../../src/gc/retry-cause.ts';

const PROMTOOL = '/usr/bin/promtool';

/** Sample lines (not comments) of an exposition. */
function samples(text: string): string[] {
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

function busySnapshot() {
  return {
    ...emptyMetricsSnapshot(),
    statServer: { connected: true, eventsReceived: { CurrentState: 120, CurrentStateReason: 40, invalid: 2 }, refusedAgents: 3 },
    agents: { byEngageState: { Ready: 10, NotReady: 4, AfterCallWork: 1, LoggedOff: 3, Unknown: 2 }, bySyncStatus: { 'in-sync': 15, pending: 3, unknown: 2, error: 0 } },
    gc: {
      requests: [
        { endpoint: 'inject-presence', statusClass: '2xx' as const, count: 30 },
        { endpoint: 'inject-presence', statusClass: '4xx' as const, count: 2 },
        { endpoint: 'inject-routingstatus', statusClass: '5xx' as const, count: 1 },
      ],
      rateLimited: 2,
      retries: { read: { ...zeroRetryCounts(), '5xx': 2, timeout: 1 }, write: { ...zeroRetryCounts(), '429': 22, network: 4 } },
      budgets: [{ client: 'client-0', available: 250, sent: 42, limit: 300 }],
      primarySource: { fixed: 7, notPrimary: 2, confirmed: 90 },
    },
    writer: { usersPending: 3, oldestPendingAgeSeconds: 1.5 },
    drift: { detected: 4, repaired: 3 },
    resync: { inProgress: true, progressRatio: 0.25, completed: 1 },
    rules: { reloadSuccess: false, reloads: { success: 2, failure: 1 }, hash: 'abc123', lastSuccessAt: 1_764_500_000_000 },
  };
}

describe('createExasMetrics', () => {
  it('pulls every gauge and counter from the source at render time', async () => {
    const metrics = createExasMetrics({ source: busySnapshot, processMetrics: false });
    const lines = samples(await metrics.render());
    expect(lines).toEqual(
      expect.arrayContaining([
        'exas_statserver_events_received_total{kind="CurrentState"} 120',
        'exas_statserver_events_received_total{kind="invalid"} 2',
        'exas_statserver_connected 1',
        'exas_statserver_refused_agents 3',
        'exas_agents_by_engage_state{state="Ready"} 10',
        'exas_agents_by_engage_state{state="Unknown"} 2',
        'exas_agents_by_sync_status{status="in-sync"} 15',
        'exas_agents_by_sync_status{status="pending"} 3',
        'exas_agents_by_sync_status{status="unknown"} 2',
        'exas_agents_by_sync_status{status="error"} 0',
        'exas_gc_requests_total{endpoint="inject-presence",status_class="2xx"} 30',
        'exas_gc_requests_total{endpoint="inject-routingstatus",status_class="5xx"} 1',
        'exas_gc_rate_limited_total 2',
        'exas_gc_retries_total{operation="read",cause="5xx"} 2',
        'exas_gc_retries_total{operation="read",cause="timeout"} 1',
        'exas_gc_retries_total{operation="read",cause="429"} 0',
        'exas_gc_retries_total{operation="write",cause="429"} 22',
        'exas_gc_retries_total{operation="write",cause="network"} 4',
        'exas_gc_retries_total{operation="write",cause="5xx"} 0',
        'exas_gc_primary_source_fixed_total 7',
        'exas_gc_primary_source_not_primary_users 2',
        'exas_gc_budget_tokens_available{client="client-0"} 250',
        'exas_gc_budget_requests_per_minute{client="client-0"} 300',
        'exas_gc_budget_requests_in_window{client="client-0"} 42',
        'exas_writer_users_pending 3',
        'exas_writer_oldest_pending_change_age_seconds 1.5',
        'exas_drift_detected_total 4',
        'exas_drift_repaired_total 3',
        'exas_resync_in_progress 1',
        'exas_resync_progress_ratio 0.25',
        'exas_rules_reload_success 0',
        'exas_rules_reloads_total{result="success"} 2',
        'exas_rules_reloads_total{result="failure"} 1',
        'exas_rules_info{hash="abc123"} 1',
        'exas_rules_last_reload_success_timestamp_seconds 1764500000',
      ]),
    );
  });

  it('follows the source: a later scrape shows the new values, not a sum of old ones', async () => {
    let retries = 5;
    const metrics = createExasMetrics({
      source: () => ({ ...emptyMetricsSnapshot(), gc: { ...emptyMetricsSnapshot().gc, retries: { read: zeroRetryCounts(), write: { ...zeroRetryCounts(), '5xx': retries } } } }),
      processMetrics: false,
    });
    expect(samples(await metrics.render())).toContain('exas_gc_retries_total{operation="write",cause="5xx"} 5');
    retries = 7;
    expect(samples(await metrics.render())).toContain('exas_gc_retries_total{operation="write",cause="5xx"} 7');
  });

  it('records event→GC latency in a seconds histogram and decisions by rule name', async () => {
    const metrics = createExasMetrics({ processMetrics: false });
    metrics.eventToGcLatency.observe(0.03);
    metrics.eventToGcLatency.observe(0.4);
    metrics.decisions.record({ name: 'ready-idle', file: 'exas.rules.yaml', line: 47 });
    metrics.decisions.record({ name: 'ready-idle', file: 'exas.rules.yaml', line: 47 });
    metrics.decisions.record(null);
    const lines = samples(await metrics.render());
    expect(lines).toContain('exas_event_to_gc_latency_seconds_bucket{le="0.05"} 1');
    expect(lines).toContain('exas_event_to_gc_latency_seconds_bucket{le="0.5"} 2');
    expect(lines).toContain('exas_event_to_gc_latency_seconds_count 2');
    expect(lines).toContain('exas_rules_decisions_total{rule="ready-idle"} 2');
    expect(lines).toContain(`exas_rules_decisions_total{rule="${UNMATCHED_LABEL}"} 1`);
  });

  it('keeps decisions by rule bounded: names past the cap count under (other)', async () => {
    const metrics = createExasMetrics({ processMetrics: false });
    for (let i = 0; i < MAX_LABEL_VALUES + 5; i++) metrics.decisions.record({ name: `rule-${i}`, file: 'f', line: i + 1 });
    const ruleLines = samples(await metrics.render()).filter((line) => line.startsWith('exas_rules_decisions_total'));
    expect(ruleLines).toHaveLength(MAX_LABEL_VALUES + 1);
    expect(ruleLines).toContain(`exas_rules_decisions_total{rule="${OTHER_LABEL}"} 5`);
  });

  it('reports zeros, not errors, before a source is set', async () => {
    const lines = samples(await createExasMetrics({ processMetrics: false }).render());
    expect(lines).toContain('exas_writer_users_pending 0');
    expect(lines).toContain('exas_ready 0');
  });

  it('includes process metrics but no gauge named …_total', async () => {
    const text = await createExasMetrics().render();
    expect(text).toContain('# TYPE process_cpu_seconds_total counter');
    expect(text).toContain('# TYPE process_resident_memory_bytes gauge');
    expect(text).not.toMatch(/^# TYPE \S+_total gauge$/m);
  });
});

describe('GET /metrics', () => {
  it('serves the exposition with the Prometheus text content type and readiness gauges', async () => {
    const deps = createFakeDeps();
    deps.pause();
    const response = await createOperatorApp(deps).request('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const lines = samples(await response.text());
    expect(lines).toContain('exas_paused 1');
    expect(lines).toContain('exas_ready 0');
    expect(lines).toContain('exas_readiness_check{check="not_paused"} 0');
    expect(lines).toContain('exas_readiness_check{check="rules_loaded"} 1');
    expect(lines).toContain('exas_readiness_check{check="gc_reachable"} 1');
  });

  it('renders through the metric set the connector passes: its push instruments plus values pulled from deps.metrics', async () => {
    const metrics = createExasMetrics({ processMetrics: false });
    metrics.decisions.record({ name: 'acw', file: 'exas.rules.yaml', line: 68 });
    const deps = createFakeDeps();
    const text = await (await createOperatorApp(deps, { metrics }).request('/metrics')).text();
    expect(samples(text)).toContain('exas_rules_decisions_total{rule="acw"} 1');
    expect(samples(text)).toContain('exas_statserver_events_received_total{kind="CurrentState"} 12');
  });

  it('carries no per-agent label', async () => {
    const text = await (await createOperatorApp(createFakeDeps()).request('/metrics')).text();
    for (const agent of AGENTS) {
      expect(text).not.toContain(`"${agent.agentId}"`);
      if (agent.userId) expect(text).not.toContain(agent.userId);
    }
    expect(text).not.toMatch(/agent(_?id)?=/i);
  });

  it.runIf(existsSync(PROMTOOL))('passes promtool check metrics', async () => {
    const metrics = createExasMetrics({ source: busySnapshot });
    metrics.eventToGcLatency.observe(0.12);
    metrics.decisions.record({ name: 'ready-idle', file: 'exas.rules.yaml', line: 47 });
    const deps = createFakeDeps();
    const text = await (await createOperatorApp(deps, { metrics }).request('/metrics')).text();
    const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it.skipIf(existsSync(PROMTOOL))('passes promtool check metrics (skipped: /usr/bin/promtool is not installed; CI installs the Debian prometheus package)', () => {
    console.warn('skipping promtool check: /usr/bin/promtool not found (apt-get install prometheus)');
  });
});
