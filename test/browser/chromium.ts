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
