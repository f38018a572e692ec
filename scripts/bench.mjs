// `npm run bench [name…]`: builds each bench/<name>.bench.ts with esbuild and runs it with Node, one after
// another (never in parallel: the machine is shared and each bench compares peers side by side in one run).
// Each bench writes its own section of bench/RESULTS.md (see bench/lib/results.ts).
import { build } from 'esbuild';
import { readdirSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const wanted = process.argv.slice(2);
const benches = readdirSync('bench')
  .filter((file) => file.endsWith('.bench.ts'))
  .map((file) => file.slice(0, -'.bench.ts'.length))
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .sort();
if (benches.length === 0) {
  console.error(`no benchmark matches ${wanted.join(', ')}`);
  process.exit(2);
}
mkdirSync('bench/out', { recursive: true });
let failed = 0;
for (const name of benches) {
  const outfile = `bench/out/${name}.mjs`;
  await build({
    entryPoints: [`bench/${name}.bench.ts`],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'warning',
  });
  console.error(`\n=== bench ${name}`);
  const run = spawnSync(process.execPath, ['--expose-gc', outfile], { stdio: 'inherit' });
  if (run.status !== 0) {
    console.error(`bench ${name} failed (exit ${run.status})`);
    failed += 1;
  }
}
process.exit(failed === 0 ? 0 : 1);
