/**
 * The shipped deploy files set the memory settings docs/deploy.md recommends themselves (issue 17): a V8 heap
 * cap and a small young generation for Deno (`DENO_V8_FLAGS`) and Node (`NODE_OPTIONS`), the same cap in both,
 * and glibc's malloc thresholds, so a deployment gets the measured RSS without hand-tuning.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const FILES = ['deploy/docker/Dockerfile', 'deploy/systemd/exas.service', 'deploy/kubernetes/base/exas.yaml'];

/** The heap caps a file sets, by runtime. */
function caps(text: string): { deno: number[]; node: number[] } {
  const deno = [...text.matchAll(/DENO_V8_FLAGS[=:\s\n-]*(?:value:\s*)?--max-old-space-size=(\d+),--max-semi-space-size=1\b/g)].map((match) => Number(match[1]));
  const node = [...text.matchAll(/NODE_OPTIONS[^\n]*\n?[^\n]*?--max-old-space-size=(\d+) --max-semi-space-size=1 --v8-pool-size=1/g)].map((match) => Number(match[1]));
  return { deno, node };
}

describe('deploy files: memory settings', () => {
  for (const file of FILES) {
    it(`${file} caps the V8 heap for Deno and Node alike and sets the malloc thresholds`, () => {
      const text = readFileSync(join(ROOT, file), 'utf8');
      const found = caps(text);
      expect(found.deno).toHaveLength(1);
      expect(found.node).toEqual(found.deno);
      expect(found.deno[0]).toBeGreaterThanOrEqual(64);
      expect(text).toMatch(/MALLOC_TRIM_THRESHOLD_[=:\s\w"-]{0,40}?131072/);
      expect(text).toMatch(/MALLOC_MMAP_THRESHOLD_[=:\s\w"-]{0,40}?131072/);
    });
  }

  it('every file sets the same cap', () => {
    const all = FILES.map((file) => caps(readFileSync(join(ROOT, file), 'utf8')).deno[0]);
    expect(new Set(all).size).toBe(1);
  });
});
