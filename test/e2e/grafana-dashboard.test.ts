/**
 * ops/grafana/exas-dashboard.json stays true to the sidecar: every panel expression parses as PromQL (wrapped
 * into recording rules for `promtool check rules`), and names only metrics a live demo's /metrics exports.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type RunningDemo } from '../../src/demo/index.ts';
import { eventually } from '../helpers/e2e.ts';

const PROMTOOL = '/usr/bin/promtool';
const DASHBOARD = new URL('../../ops/grafana/exas-dashboard.json', import.meta.url);

/**
 * Metrics the dashboard shows that come with work on another branch; their panels show "no data" until then.
 * Remove an entry once the sidecar exports the metric, so the test checks it like any other.
 */
const ADDED_BY_PENDING_WORK: Readonly<Record<string, string>> = {};

/** Grafana's variables, replaced by values Prometheus accepts. */
const VARIABLES: ReadonlyArray<[RegExp, string]> = [
  [/\$__rate_interval/g, '5m'],
  [/\$__interval/g, '1m'],
  [/\$instance/g, '.*'],
];

/** PromQL words that are not metric names. */
const KEYWORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan',
]);

interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly targets?: ReadonlyArray<{ readonly expr: string }>;
  readonly panels?: readonly Panel[];
}

function panelsOf(dashboard: { panels: readonly Panel[] }): Panel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

function promql(expr: string): string {
  return VARIABLES.reduce((text, [variable, value]) => text.replace(variable, value), expr);
}

/** Metric names in a PromQL expression: identifiers that are not functions, label names, keywords or durations. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // range selectors
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ''); // grouping labels
  const names: string[] = [];
  for (const match of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const before = bare.charAt(match.index - 1);
    const isFunction = /^\s*\(/.test(bare.slice(match.index + match[0].length));
    // Part of a number (0.99, 1e3) or a function name: not a metric.
    if (/[0-9.]/.test(before) || isFunction || KEYWORDS.has(match[0].toLowerCase())) continue;
    names.push(match[0]);
  }
  return names;
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; title: string; panels: Panel[]; templating: { list: Array<{ definition?: string }> } };
const panels = panelsOf(dashboard);
const expressions = panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })));

describe('the Grafana dashboard', () => {
  it('is a dashboard with unique panel ids and a query on every panel but the rows', () => {
    expect(dashboard.uid).toBe('exas-sync');
    const ids = panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels.filter((p) => p.type !== 'row')) expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    const titles = panels.map((panel) => panel.title).join(' | ');
    // What an operator looks for first, each in its own place.
    for (const topic of ['Ready', 'Agents by sync status', 'Budget use', 'Event → GC latency', 'Resync', 'Drift', 'GC errors/s', 'Leader (HA)']) {
      expect(titles).toContain(topic);
    }
  });

  it('finds metric names in PromQL as the test reads them', () => {
    expect(metricNames('sum by (le) (rate(exas_event_to_gc_latency_seconds_bucket{instance=~".*"}[5m]))')).toEqual(['exas_event_to_gc_latency_seconds_bucket']);
    expect(metricNames('exas_a{x="y"} / on (client) exas_b * 60 > bool 1')).toEqual(['exas_a', 'exas_b']);
  });

  describe.runIf(existsSync(PROMTOOL))('with promtool', () => {
    it('every expression parses: promtool check rules accepts them all as recording rules', () => {
      const dir = mkdtempSync(join(tmpdir(), 'exas-grafana-'));
      try {
        const rules = expressions.map(({ expr }, index) => `      - record: grafana:panel_expr_${index}\n        expr: ${JSON.stringify(promql(expr))}`);
        writeFileSync(join(dir, 'dashboard.rules.yml'), `groups:\n  - name: exas-dashboard\n    rules:\n${rules.join('\n')}\n`);
        const run = spawnSync(PROMTOOL, ['check', 'rules', join(dir, 'dashboard.rules.yml')], { encoding: 'utf8' });
        expect(run.status, run.stdout + run.stderr).toBe(0);
        expect(run.stdout).toContain(`${expressions.length} rules found`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('against a live demo', () => {
    let demo: RunningDemo;
    let exported: Set<string>;

    beforeAll(async () => {
      demo = await startDemo({ port: 0, agents: 10, eventsPerSecond: 0, watchRules: false, logLevel: 'warn' });
      // Ready means the start-up resync decided and wrote every agent, so the labelled counters have series.
      await eventually(() => fetch(`${demo.urls.sidecar}/readyz`).then((response) => response.status), (status) => status === 200, 30_000);
      const text = await (await fetch(`${demo.urls.sidecar}/metrics`)).text();
      exported = new Set(
        text
          .split('\n')
          .filter((line) => line !== '' && !line.startsWith('#'))
          .map((line) => /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(line)?.[0] ?? ''),
      );
    }, 60_000);

    afterAll(async () => {
      await demo?.stop();
    });

    it('names only metrics the sidecar exports (or that pending work adds, listed above)', () => {
      const unknown: string[] = [];
      for (const { panel, expr } of expressions) {
        for (const name of metricNames(expr)) {
          if (!exported.has(name) && !(name in ADDED_BY_PENDING_WORK)) unknown.push(`${panel}: ${name}`);
        }
      }
      expect(unknown).toEqual([]);
      for (const variable of dashboard.templating.list) {
        const name = /label_values\((\w+)/.exec(variable.definition ?? '')?.[1];
        if (name !== undefined) expect(exported.has(name), name).toBe(true);
      }
    });
  });
});
