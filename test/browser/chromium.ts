/**
 * What the browser tests share: where Chromium is, the flags it needs on these machines (no network beyond
 * loopback, no sandbox as root), a fresh profile per run, and the candidate rules file the dry-run tests paste.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env['EXAS_CHROMIUM'] ?? '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM);
export const ARTIFACTS = new URL('../artifacts/', import.meta.url);

/** A candidate rules file: breaks become Meal, everything else Busy / OffQueue. */
export const CANDIDATE = [
  'version: 1',
  'rules:',
  '  - name: breaks-are-meals',
  '    when: { state: NotReady, reason: Break }',
  '    presence: Meal',
  '    routingStatus: OffQueue',
  '  - name: everything-else-busy',
  '    presence: Busy',
  '    routingStatus: OffQueue',
  '',
].join('\n');

/**
 * Replaces the playground's rules with `text` as a user would: select all, delete, paste-like insert (in the
 * CodeMirror editor, or the textarea when it did not load). Not `fill`: on a contenteditable that replaces
 * styled text through the browser's editing commands, which leave style attributes the CSP then reports.
 */
export async function setRules(page: Page, text: string): Promise<void> {
  if (!(await page.isVisible('#dry-rules-editor .cm-content'))) {
    await page.fill('#dry-rules', text);
    return;
  }
  await page.click('#dry-rules-editor .cm-content');
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
}

/** How many data points each series of a status-page chart carries (`data-points` of its `g.series`). */
export async function chartPoints(page: Page, chartId: string): Promise<Record<string, number>> {
  return page.$$eval(`#${chartId} svg g.series`, (groups) =>
    Object.fromEntries(groups.map((g) => [g.getAttribute('data-series') ?? '', Number(g.getAttribute('data-points'))])),
  );
}

export interface Browser {
  readonly context: BrowserContext;
  readonly page: Page;
  close(): Promise<void>;
}

/** Starts headless Chromium with a fresh profile; `close()` ends it and removes the profile. */
export async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'exas-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
