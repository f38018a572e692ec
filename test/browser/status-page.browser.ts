/**
 * Drives the status page in headless Chromium (Debian's /usr/bin/chromium through playwright-core): loads it,
 * checks the counts, looks up an agent, runs a dry run in the playground and checks the rendered result, and
 * saves a screenshot under test/artifacts/. Against EXAS_BROWSER_URL when set (e.g. the demo), otherwise
 * against an operator app served here with a fake OperatorDeps and the real rules engine.
 */
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOperatorServer } from '../../src/http/index.ts';
import { started } from '../helpers/servers.ts';
import { createFakeDeps } from '../unit/http/fake-deps.ts';
import { ARTIFACTS, CANDIDATE, HAS_CHROMIUM, launchChromium, type Browser } from './chromium.ts';

describe.skipIf(!HAS_CHROMIUM)('status page in headless Chromium', () => {
  let baseUrl: string;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const failedLoads: string[] = [];

  beforeAll(async () => {
    if (process.env['EXAS_BROWSER_URL']) baseUrl = process.env['EXAS_BROWSER_URL'].replace(/\/?$/, '/');
    else baseUrl = `${(await started(() => startOperatorServer(createFakeDeps()))).url}/`;
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
    expect(await page.textContent('#agent-list-title')).toBe('Agents error (1 of 1)');
    expect(await page.textContent('#agent-list tbody')).toContain('GC rejected the event');
    await page.click('#agent-list tbody button.link');
    await expect.poll(() => page.inputValue('#agent-id')).toBe('1003');
    await page.waitForSelector('#agent-result dl');
  });

  it('says so when an agent is not in scope', async () => {
    await page.fill('#agent-id', 'nobody');
    await page.click('#agent-form button');
    await page.waitForSelector('#agent-result .error');
    expect(await page.textContent('#agent-result .error')).toBe('agent nobody is not in scope');
  });

  it('runs a dry run of candidate rules and renders each result with the rule that explains it', async () => {
    await page.fill('#dry-rules', CANDIDATE);
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
    await page.fill('#dry-rules', 'version: 1\nrules:\n  - name: x\n    presence: Busy\n    routingStatus: Sleeping\n');
    await page.click('#dry-run');
    await page.waitForSelector('#dry-error:not(.hidden)');
    const text = (await page.textContent('#dry-error')) ?? '';
    expect(text).toContain('the candidate rules file has 1 error');
    expect(text).toContain('line 5, column 20');
  });

  it('renders without console errors (no CSP violations) and saves a screenshot', async () => {
    await page.fill('#dry-rules', CANDIDATE);
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
