import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli.ts';
import type { CliIo } from '../../../src/cli/io.ts';

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { out: (text) => void (stdout += text), err: (text) => void (stderr += text), readStdin: async () => '', colour: false };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'exas-run-check-'));
function config(batchSize: number): string {
  const path = join(dir, `batch-${batchSize}.yaml`);
  writeFileSync(path, `gc:\n  clients:\n    - clientId: exas-demo\n      clientSecret: exas-demo-secret\nwriter:\n  batchSize: ${batchSize}\n`);
  return path;
}

describe('exas run --check: writer.batchSize within GC inject limit', () => {
  it('rejects 101 with a message that names GC 100-event limit, at the line of the key', async () => {
    const path = config(101);
    const { code, stdout, stderr } = await run(['run', '--config', path, '--check']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`${path}:6:`);
    expect(stderr).toContain('[writer.batchSize]');
    expect(stderr).toMatch(/must be at most 100, not 101: GC accepts at most 100 events per inject request/);
  });

  it('accepts 100, the default and GC maximum', async () => {
    const path = config(100);
    const { code, stdout } = await run(['run', '--config', path, '--check']);
    expect(code).toBe(0);
    expect(stdout).toBe(`${path}: ok\n`);
  });
});
