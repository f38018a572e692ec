/**
 * Drives the status page in headless Chromium (Debian's /usr/bin/chromium through playwright-core): loads it,
 * checks the counts and the charts, lists and pages agents, looks up an agent, types into the playground's
 * editor and sees the linter's diagnostic where the typo is, runs a dry run and checks the rendered result,
 * and saves screenshots under test/artifacts/. Against EXAS_BROWSER_URL when set (e.g. the demo), otherwise
 * against an operator app served here with a fake OperatorDeps, the real rules engine and 15 minutes of
 * made-up history.
 */
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOperatorServer } from '../../src/http/index.ts';
import { createExasMetrics, emptyMetricsSnapshot, type ExasMetrics, type MetricsSnapshot } from '../../src/metrics/index.ts';
import { started } from '../helpers/servers.ts';
import { createFakeDeps } from '../unit/http/fake-deps.ts';
import { ARTIFACTS, CANDIDATE, chartPoints, HAS_CHROMIUM, launchChromium, setRules, type Browser } from './chromium.ts';

/** 15 minutes of 5 s samples: a load that rises and falls, as the fake deps' source would report it. */
function withHistory(source: { metrics: () => MetricsSnapshot }): ExasMetrics {
  const start = Date.now() - 180 * 5_000;
  let clock = start;
  let events = 0;
  let step = 0;
  const metrics = createExasMetrics({ processMetrics: false, history: { now: () => clock } });
  source.metrics = () => {
    const load = Math.round(100 + 90 * Math.sin(step / 20));
    events += load * 5;
    const empty = emptyMetricsSnapshot();
    return {
      ...empty,
      statServer: { connected: true, eventsReceived: { CurrentState: events } },
      gc: { ...empty.gc, budgets: [{ client: 'client-0', available: 5, sent: Math.min(270, load * 2), limit: 270 }] },
      writer: { usersPending: Math.max(0, load - 150), oldestPendingAgeSeconds: 0 },
    };
  };
  metrics.setSource(source.metrics);
  for (step = 0; step < 180; step += 1) {
    for (let i = 0; i < 20; i += 1) metrics.eventToGcLatency.observe(0.04 + 0.002 * i + (step % 30 === 0 ? 0.3 : 0));
    metrics.history.sample();
    clock += 5_000;
  }
  return metrics;
}

describe.skipIf(!HAS_CHROMIUM)('status page in headless Chromium', () => {
  let baseUrl: string;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const failedLoads: string[] = [];

  beforeAll(async () => {
    if (process.env['EXAS_BROWSER_URL']) baseUrl = process.env['EXAS_BROWSER_URL'].replace(/\/?$/, '/');
    else {
      const deps = createFakeDeps();
      const metrics = withHistory(deps);
      baseUrl = `${(await started(() => startOperatorServer(deps, { metrics }))).url}/`;
    }
    browser = await launchChromium();
    page = browser.page;
    page.on('console', (message) => {
      // The 404 and 400 answers the tests provoke on purpose are logged as failed loads; anything else counts.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    page.on('response', (response) => {
      if (response.status() >= 400) failedLoads.push(`${response.status()} ${new URL(response.url()).pathname}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('loads and shows the counts by sync status, the GC budget and recent changes', async () => {
    await page.goto(baseUrl);
    await expect.poll(() => page.textContent('#ready-badge')).toBe('ready');
    expect(await page.textContent('#count-in-sync')).toBe('1');
    expect(await page.textContent('#count-error')).toBe('1');
    expect(await page.textContent('#budget-in-use')).toBe('60');
    expect(await page.textContent('#budget-limit')).toBe('300');
    expect(await page.textContent('#changes tbody')).toContain('ready-idle');
  });

  it('draws the last 15 minutes as charts with data points: GC requests against the budget, latency, pending, events/s', async () => {
    await expect.poll(() => chartPoints(page, 'chart-gc')).toMatchObject({ 'client-0': expect.any(Number), budget: expect.any(Number) });
    const gc = await chartPoints(page, 'chart-gc');
    const latency = await chartPoints(page, 'chart-latency');
    const pending = await chartPoints(page, 'chart-pending');
    const events = await chartPoints(page, 'chart-events');
    if (process.env['EXAS_BROWSER_URL'] === undefined) {
      expect(gc).toEqual({ 'client-0': 180, budget: 180 });
      expect(latency).toEqual({ p50: 180, p99: 180 });
      expect(pending).toEqual({ 'users pending': 180 });
      // The first sample has no rate yet.
      expect(events).toEqual({ 'events/s': 179 });
      expect(await page.textContent('#chart-gc-now')).toMatch(/^\d+ \/ 270$/);
      expect(await page.textContent('#chart-latency-now')).toBe('p99 78 ms');
    }
    // Each series is drawn: a polyline whose points are inside the chart.
    const coordinates = await page.$$eval('#chart-gc g.series[data-series="client-0"] polyline', (lines) => lines.map((line) => line.getAttribute('points') ?? ''));
    expect(coordinates.join(' ').split(' ').length).toBe(gc['client-0']);
    mkdirSync(ARTIFACTS, { recursive: true });
    const charts = await page.$('section.charts');
    await charts?.screenshot({ path: new URL('status-page-charts.png', ARTIFACTS).pathname });
  });

  it('shows the rule place relative to the live rules file, and keeps recent changes folded until opened', async () => {
    expect(await page.isVisible('#changes')).toBe(false);
    expect(await page.textContent('#changes-count')).toBe('(1)');
    await page.click('#changes-panel summary');
    expect(await page.isVisible('#changes')).toBe(true);
    expect(await page.textContent('#changes tbody')).toContain('ready-idle (exas.rules.yaml:');
  });

  it('looks up an agent and shows its decision with the rule that made it and its last error', async () => {
    await page.fill('#agent-id', '1003');
    await page.click('#agent-form button');
    await page.waitForSelector('#agent-result dl');
    const text = (await page.textContent('#agent-result')) ?? '';
    expect(text).toContain('ready-other-call (exas.rules.yaml:55)');
    expect(text).toContain('GC rejected the event');
    expect(text).toContain('OnQueue / Interacting');
  });

  it('shows markup in an agent id as text, never as HTML', async () => {
    const hostile = '<img src=x onerror="document.title=1">';
    await page.fill('#agent-id', hostile);
    await page.click('#agent-form button');
    await page.waitForSelector('#agent-result .error');
    expect(await page.textContent('#agent-result .error')).toBe(`agent ${hostile} is not in scope`);
    expect(await page.$('#agent-result img')).toBeNull();
    expect(await page.title()).toBe('EXAS status');
  });

  it('lists the agents of a sync status when its count is clicked, and looks one up from the list', async () => {
    await page.click('button.card[data-status="error"]');
    await page.waitForSelector('#agent-list:not(.hidden) tbody tr');
    expect(await page.textContent('#agent-list-title')).toBe('Agents error: 1–1 of 1');
    expect(await page.textContent('#agent-list tbody')).toContain('GC rejected the event');
    await page.click('#agent-list tbody button.link');
    await expect.poll(() => page.inputValue('#agent-id')).toBe('1003');
    await page.waitForSelector('#agent-result dl');
  });

  it('filters the agent list by id and pages through it', async () => {
    await page.selectOption('#agent-status', '');
    await page.fill('#agent-q', '100');
    await page.click('#agent-filter button');
    await expect.poll(() => page.textContent('#agent-list-title')).toBe('Agents matching "100": 1–4 of 4');
    expect(await page.$$eval('#agent-table tbody tr', (rows) => rows.length)).toBe(4);
    await page.fill('#agent-q', '1002');
    await page.press('#agent-q', 'Enter');
    await expect.poll(() => page.textContent('#agent-list-title')).toBe('Agents matching "1002": 1–1 of 1');
  });

  it('says so when an agent is not in scope', async () => {
    await page.fill('#agent-id', 'nobody');
    await page.click('#agent-form button');
    await page.waitForSelector('#agent-result .error');
    expect(await page.textContent('#agent-result .error')).toBe('agent nobody is not in scope');
  });

  it('runs a dry run of candidate rules and renders each result with the rule that explains it', async () => {
    await setRules(page, CANDIDATE);
    await page.click('#dry-run');
    await page.waitForSelector('#dry-results:not(.hidden) tbody tr');
    const rows = await page.$$eval('#dry-results tbody tr', (trs) => trs.map((tr) => Array.from(tr.children).map((td) => td.textContent ?? '')));
    expect(rows).toHaveLength(4);
    expect(rows[0]?.slice(1, 4)).toEqual(['1001', 'Busy', 'OffQueue']);
    expect(rows[0]?.[4]).toContain('everything-else-busy (candidate.rules.yaml:7)');
    expect(rows[3]?.slice(1, 4)).toEqual(['1001', 'Meal', 'OffQueue']);
    // The explain column quotes the candidate's line that holds the matching rule.
    expect(rows[3]?.[4]).toContain('- name: breaks-are-meals');
    expect(rows[3]?.[5]).toContain('POST /api/v2/events/users/presence');
  });

  it('explains a result: the rules considered and why each did or did not match', async () => {
    await page.click('#dry-results tbody tr:nth-child(1) details.why summary');
    const text = (await page.textContent('#dry-results tbody tr:nth-child(1) details.why pre')) ?? '';
    expect(text).toContain('✗ breaks-are-meals (candidate.rules.yaml:3) does not match: state');
    expect(text).toContain('✓ everything-else-busy (candidate.rules.yaml:7) matches');
    expect(await page.isVisible('#dry-results tbody tr:nth-child(1) details.why pre')).toBe(true);
  });

  it('shows the impact of the candidate on live agents', async () => {
    await page.check('#dry-live');
    await page.click('#dry-run');
    await page.waitForSelector('#dry-impact:not(.hidden)');
    expect(await page.textContent('#dry-impact')).toContain('live agents would change');
    await page.uncheck('#dry-live');
  });

  it('shows the line and column of each error in a broken candidate', async () => {
    await setRules(page, 'version: 1\nrules:\n  - name: x\n    presence: Busy\n    routingStatus: Sleeping\n');
    await page.click('#dry-run');
    await page.waitForSelector('#dry-error:not(.hidden)');
    const text = (await page.textContent('#dry-error')) ?? '';
    expect(text).toContain('the candidate rules file has 1 error');
    expect(text).toContain('line 5, column 20');
  });

  it('edits rules in a highlighting editor that shows a typo\'s diagnostic at the linter\'s line and column', async () => {
    await setRules(page, CANDIDATE);
    await expect.poll(() => page.textContent('#dry-rules-status')).toBe('no problems found');
    // YAML is highlighted: keys and values are told apart by token spans.
    expect(await page.$$eval('#dry-rules-editor .cm-line span', (spans) => spans.length)).toBeGreaterThan(5);
    // Type a typo: 'OffQueue' on line 6 loses its last letter.
    await page.click('#dry-rules-editor .cm-line:nth-child(6)');
    await page.keyboard.press('End');
    await page.keyboard.press('Backspace');
    const marked = page.locator('#dry-rules-editor .cm-line:nth-child(6) .cm-lintRange-error');
    await marked.waitFor();
    expect(await marked.textContent()).toBe('OffQueu');
    expect(await page.textContent('#dry-rules-status')).toBe('1 error, 0 warnings');
    // Line 6, column 20 is where the linter (exas check) puts it; hovering shows its message.
    const check = await page.evaluate(async (rules) => {
      const response = await fetch('rules/check', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rules }) });
      return (await response.json()) as { findings: Array<{ line: number; column: number; message: string }> };
    }, CANDIDATE.replace('OffQueue\n  - name: everything', 'OffQueu\n  - name: everything'));
    expect(check.findings).toEqual([expect.objectContaining({ line: 6, column: 20 })]);
    await marked.hover();
    const tooltip = page.locator('.cm-tooltip-lint');
    await tooltip.waitFor();
    expect(await tooltip.textContent()).toContain("unknown routing status 'OffQueu'");
    expect(await page.isVisible('#dry-rules-editor .cm-lint-marker-error')).toBe(true);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.locator('#dry-rules-editor').screenshot({ path: new URL('playground-editor.png', ARTIFACTS).pathname });
    await page.keyboard.type('e');
    await expect.poll(() => page.textContent('#dry-rules-status')).toBe('no problems found');
  });

  it('renders without console errors (no CSP violations) and saves a screenshot', async () => {
    await setRules(page, CANDIDATE);
    await page.click('#dry-run');
    await page.waitForSelector('#dry-error.hidden', { state: 'attached' });
    await page.waitForSelector('#dry-results:not(.hidden) tbody tr');
    await page.click('#dry-results tbody tr:nth-child(4) details.why summary');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL('status-page.png', ARTIFACTS).pathname, fullPage: true });
    expect(consoleErrors).toEqual([]);
    expect(failedLoads).toEqual([`404 /agents/${encodeURIComponent('<img src=x onerror="document.title=1">')}`, '404 /agents/nobody', '400 /dry-run']);
  });
});
