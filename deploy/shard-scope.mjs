#!/usr/bin/env node
// Splits a scope file (one Engage agent id a line, '#' comments) into N disjoint shards by a stable hash of
// the agent id, so N sidecars, each with its own GC client, share one Stat Server's agents (docs/deploy.md).
// The same id always lands in the same shard on every machine and Node/Deno version (32-bit FNV-1a, UTF-8).
//   node deploy/shard-scope.mjs --shards 4 --index 0 exas-agents.txt > exas-agents.0.txt
//   node deploy/shard-scope.mjs --shards 4 exas-agents.txt           # prints "shard<TAB>agentId" for all
// Adding a shard moves about 1/N of the agents; give a moved agent's old sidecar its new scope first (it
// closes the agent's statistics and leaves its GC user as it is), then the new one.
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** 32-bit FNV-1a of the UTF-8 bytes of `text`. */
export function fnv1a(text) {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The shard (0 … shards-1) that owns `agentId`. */
export function shardOf(agentId, shards) {
  return fnv1a(agentId) % shards;
}

function main() {
  const { values, positionals } = parseArgs({
    options: { shards: { type: 'string' }, index: { type: 'string' } },
    allowPositionals: true,
  });
  const shards = Number(values.shards);
  if (!Number.isInteger(shards) || shards < 1) throw new Error('--shards N (an integer ≥ 1) is required');
  const index = values.index === undefined ? undefined : Number(values.index);
  if (index !== undefined && !(Number.isInteger(index) && index >= 0 && index < shards)) throw new Error(`--index must be 0 … ${shards - 1}`);
  const text = positionals[0] === undefined || positionals[0] === '-' ? readFileSync(0, 'utf8') : readFileSync(positionals[0], 'utf8');
  const ids = [...new Set(text.split(/\r?\n/).map((line) => line.replace(/#.*$/, '').trim()).filter((line) => line !== ''))];
  const lines = [];
  for (const id of ids) {
    const shard = shardOf(id, shards);
    if (index === undefined) lines.push(`${shard}\t${id}`);
    else if (shard === index) lines.push(id);
  }
  process.stdout.write(lines.length > 0 ? lines.join('\n') + '\n' : '');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main();
  } catch (error) {
    process.stderr.write(`shard-scope: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  }
}
