import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import process from 'node:process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const SCRIPT = resolve(import.meta.dirname, '..', '..', 'deploy', 'shard-scope.mjs');
const run = promisify(execFile);

async function shard(args: string[], input: string): Promise<string> {
  const child = run(process.execPath, [SCRIPT, ...args, '-']);
  child.child.stdin?.end(input);
  return (await child).stdout;
}

const AGENTS = Array.from({ length: 400 }, (_, index) => String(1001 + index));

describe('deploy/shard-scope.mjs', () => {
  it('splits a scope into disjoint shards that together hold every agent once', async () => {
    const input = ['# scope', ...AGENTS, AGENTS[0], ''].join('\n');
    const shards = await Promise.all([0, 1, 2, 3].map((index) => shard(['--shards', '4', '--index', String(index)], input)));
    const ids = shards.flatMap((text) => text.split('\n').filter((line) => line !== ''));
    expect(ids.sort()).toEqual([...AGENTS].sort());
    for (const text of shards) expect(text.split('\n').filter((line) => line !== '').length).toBeGreaterThan(50);
  });

  it('uses 32-bit FNV-1a, so every machine and runtime puts an agent in the same shard', async () => {
    // FNV-1a("a") = 0xe40c292c; with 2^32 shards the shard is the hash itself.
    expect(await shard(['--shards', String(2 ** 32)], 'a\n')).toBe(`${0xe40c292c}\ta\n`);
  });

  it('refuses a shard index outside the shard count', async () => {
    await expect(shard(['--shards', '2', '--index', '2'], '1001\n')).rejects.toMatchObject({ code: 2 });
  });
});
