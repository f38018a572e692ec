// `npm run chaos -- [--profile short|full] [--seed N] [--agents N] [--only 'fault+fault;fault']`: builds EXAS
// (src/cli.ts, the code bin/exas.mjs runs, into a private file, so a rebuild of dist/ during a run cannot
// change the EXAS a SIGKILL restarts) and the chaos harness (test/chaos/chaos.ts) with esbuild, and runs it.
// Exit 0 only when every check passed. `npm run soak` (scripts/soak.mjs) runs test/chaos/soak.ts the same way.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';

const entry = process.argv[1]?.endsWith('soak.mjs') ? 'soak' : 'chaos';
const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' };
await build({ ...common, entryPoints: ['src/cli.ts'], outfile: 'test/artifacts/chaos/exas-cli.mjs', define: { 'import.meta.main': 'true' } });
const outfile = `test/artifacts/chaos/${entry}.mjs`;
await build({ ...common, entryPoints: [`test/chaos/${entry}.ts`], outfile });
const run = spawnSync(process.execPath, [outfile, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, EXAS_CHAOS_CLI: 'test/artifacts/chaos/exas-cli.mjs' },
});
process.exit(run.status ?? 1);
