/**
 * The status page of the running demo (both emulators and the real sidecar, as `npm start` runs them), driven in
 * headless Chromium: the counts reach every agent in sync, the charts fill with the sidecar's own samples while
 * agents change, an agent lookup shows the rule that decided it, and a dry run of candidate rules renders its
 * results. Saves test/artifacts/demo-status-page.png and demo-charts.png.
 */
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type RunningDemo } from '../../src/demo/index.ts';
import { ARTIFACTS, CANDIDATE, chartPoints, HAS_CHROMIUM, launchChromium, setRules, type Browser } from './chromium.ts';

const AGENTS = 20;

describe.skipIf(!HAS_CHROMIUM)('the demo status page in headless Chromium', () => {
  let demo: RunningDemo;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    // A still crowd (0 events/s) so the counts settle; agent 1001 is put on a break through the Stat Server emulator.
    demo = await startDemo({ port: 0, agents: AGENTS, eventsPerSecond: 0, watchRules: false, logLevel: 'warn' });
    demo.statServer.setAgent('1001', { state: 'NotReady', callType: 'None', reason: 'Break' });
    browser = await launchChromium();
    page = browser.page;
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  });

  it('shows every demo agent in sync once EXAS has converged GC', async () => {
    await page.goto(`${demo.urls.sidecar}/`);
    await expect.poll(() => page.textContent('#ready-badge'), { timeout: 20_000 }).toBe('ready');
    await expect.poll(() => page.textContent('#count-in-sync'), { timeout: 20_000, interval: 500 }).toBe(String(AGENTS));
    expect(await page.textContent('#count-error')).toBe('0');
  });

  it('draws the sidecar\'s samples as charts while agents change, and names rules by their relative path', async () => {
    // Agents 1002… walk through states every 300 ms; the sidecar samples every 5 s.
    const states = [
      { state: 'Ready', callType: 'Inbound', reason: null },
      { state: 'AfterCallWork', callType: 'None', reason: null },
      { state: 'Ready', callType: 'None', reason: null },
    ] as const;
    let step = 0;
    const walk = setInterval(() => {
      step += 1;
      for (let index = 2; index <= AGENTS; index += 1) demo.statServer.setAgent(String(1000 + index), states[(step + index) % states.length]!);
    }, 300);
    try {
      await expect.poll(async () => (await chartPoints(page, 'chart-events'))['events/s'] ?? 0, { timeout: 30_000, interval: 1_000 }).toBeGreaterThanOrEqual(3);
      await expect.poll(async () => (await chartPoints(page, 'chart-latency'))['p99'] ?? 0, { timeout: 15_000, interval: 1_000 }).toBeGreaterThanOrEqual(2);
    } finally {
      clearInterval(walk);
    }
    const gc = await chartPoints(page, 'chart-gc');
    expect(gc['client-0']).toBeGreaterThanOrEqual(3);
    expect(gc['budget']).toBe(gc['client-0']);
    expect(await chartPoints(page, 'chart-pending')).toEqual({ 'users pending': gc['client-0'] });
    // GC counted requests in the window, and they are within the budget.
    const [sent, limit] = ((await page.textContent('#chart-gc-now')) ?? '').split(' / ').map(Number);
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThanOrEqual(limit!);
    expect(Number(await page.textContent('#budget-in-use'))).toBeGreaterThan(0);
    // The demo's rules file is an absolute path; the changes table shows it relative to its folder.
    await page.click('#changes-panel summary');
    const rules = await page.$$eval('#changes tbody td:nth-child(5)', (cells) => cells.map((cell) => cell.textContent ?? ''));
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) expect(rule).toMatch(/^[\w-]+ \(exas\.rules\.yaml:\d+\)$/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.locator('section.charts').screenshot({ path: new URL('demo-charts.png', ARTIFACTS).pathname });
  });

  it('looks up an agent on a break and shows the rule that mapped it to Break / OffQueue', async () => {
    await page.fill('#agent-id', '1001');
    await page.click('#agent-form button');
    await page.waitForSelector('#agent-result dl');
    const text = (await page.textContent('#agent-result')) ?? '';
    expect(text).toContain('not-ready-break');
    expect(text).toContain('Break / OffQueue');
  });

  it('runs a dry run of candidate rules against the live demo and renders each result with its rule', async () => {
    await setRules(page, CANDIDATE);
    await page.click('#dry-run');
    await page.waitForSelector('#dry-results:not(.hidden) tbody tr');
    const rows = await page.$$eval('#dry-results tbody tr', (trs) => trs.map((tr) => Array.from(tr.children).map((td) => td.textContent ?? '')));
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      const [presence, routingStatus, rule] = [row[2], row[3], row[4] ?? ''];
      expect(routingStatus).toBe('OffQueue');
      if (presence === 'Meal') expect(rule).toContain('breaks-are-meals (candidate.rules.yaml:3)');
      else expect(rule).toContain('everything-else-busy (candidate.rules.yaml:7)');
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL('demo-status-page.png', ARTIFACTS).pathname, fullPage: true });
    expect(consoleErrors).toEqual([]);
  });
});
