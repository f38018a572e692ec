/**
 * The playground's editor is committed as a generated module (src/http/page/editor-bundle.ts), so running from
 * src/ and both build outputs serve it without a build step. This test rebuilds it and fails when the committed
 * one no longer matches its source or the installed CodeMirror: run `node scripts/build.mjs --editor`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EDITOR_JS } from '../../../src/http/page/editor-bundle.ts';

interface BuildScript {
  EDITOR_MODULE: string;
  buildEditor(): Promise<{ script: string; module: string }>;
}

describe('the bundled rules editor', () => {
  it('matches a fresh build of src/http/page/editor/ with the installed CodeMirror', async () => {
    const script = '../../../scripts/build.mjs';
    const build = (await import(script)) as BuildScript;
    const fresh = await build.buildEditor();
    const committed = readFileSync(new URL(`../../../${build.EDITOR_MODULE}`, import.meta.url), 'utf8');
    expect(committed === fresh.module, 'src/http/page/editor-bundle.ts is stale: run node scripts/build.mjs --editor').toBe(true);
    expect(EDITOR_JS).toBe(fresh.script);
  });

  it('names every bundled package with its version and licence, and reaches for nothing outside the page', () => {
    const header = readFileSync(new URL('../../../src/http/page/editor-bundle.ts', import.meta.url), 'utf8').split('\n').slice(0, 30).join('\n');
    for (const name of ['@codemirror/state', '@codemirror/view', '@codemirror/language', '@codemirror/lang-yaml', '@codemirror/lint']) {
      expect(header).toMatch(new RegExp(`//   ${name}@\\d+\\.\\d+\\.\\d+ \\(MIT\\)`));
    }
    // No CDN, no module loading at run time: one classic script.
    expect(EDITOR_JS).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    expect(EDITOR_JS).not.toMatch(/\bimport\s*\(/);
    expect(EDITOR_JS).toContain('ExasEditor');
  });
});
