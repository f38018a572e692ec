/**
 * The job pool's fallback: where a worker cannot start (its module cannot be loaded, e.g. Deno without read
 * permission on it), jobs run on the calling thread rather than fail, and the pool says it is not isolated.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createJobPool } from '../../../src/platform/worker-pool.ts';

describe('createJobPool', () => {
  it('runs jobs on the calling thread when no worker can start, and reports it once', async () => {
    const failures: string[] = [];
    const pool = createJobPool<number, number, string, string>({
      entry: { url: new URL('./no-such-worker-module.mjs', import.meta.url) },
      handler: async (job, ask) => job * 2 + (await ask('how much?')).length,
      onStartFailure: (error) => failures.push(error.message),
    });
    const answers = await Promise.all([1, 2, 3].map((job) => pool.run(job, { onAsk: () => 'xx' })));
    expect(answers).toEqual([4, 6, 8]);
    expect(pool.isolated).toBe(false);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/no-such-worker-module|Cannot find module|ERR_MODULE_NOT_FOUND/);
    expect(fileURLToPath(new URL('./no-such-worker-module.mjs', import.meta.url))).toMatch(/no-such-worker-module/);
    await pool.close();
  });

  it('runs jobs on the calling thread without an entry (Node running the TypeScript sources)', async () => {
    const pool = createJobPool<number, number, never, never>({ entry: null, handler: async (job) => job + 1 });
    expect(await pool.run(41)).toBe(42);
    expect(pool.isolated).toBe(false);
  });
});
