// `npm run chaos -- [--profile short|full|ha] [--seed N] [--agents N] [--only 'fault+fault;fault']`: builds EXAS
// (src/cli.ts, the code bin/exas.mjs runs, into a private file, so a rebuild of dist/ during a run cannot
// change the EXAS a SIGKILL restarts) and the chaos harness (test/chaos/chaos.ts) with esbuild, and runs it.
// Exit 0 only when every check passed. `npm run soak` (scripts/soak.mjs) runs test/chaos/soak.ts the same way.
// EXAS_CHAOS_FROM=HEAD builds EXAS from the last commit instead of the working tree (a shared checkout where
// others have work in progress).
import { build } from 'esbuild';
import { execSync, spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// `--profile ha` runs the high-availability harness (test/chaos/ha.ts: two instances sharing an etcd lease).
const args = process.argv.slice(2);
const profileArg = args.findIndex((arg) => arg === '--profile');
const profile = profileArg >= 0 ? args[profileArg + 1] : args.find((arg) => arg.startsWith('--profile='))?.slice('--profile='.length);
const entry = process.argv[1]?.endsWith('soak.mjs') ? 'soak' : profile === 'ha' ? 'ha' : 'chaos';
const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' };
let root = process.cwd();
const from = process.env.EXAS_CHAOS_FROM;
if (from !== undefined && from !== '') {
  root = mkdtempSync(join(tmpdir(), 'exas-chaos-src-'));
  execSync(`git archive ${from} src schemas package.json | tar -x -C ${root}`);
  symlinkSync(resolve('node_modules'), join(root, 'node_modules'));
  console.error(`[chaos] EXAS built from ${from} (${execSync(`git rev-parse --short ${from}`).toString().trim()})`);
}
const cli = resolve('test/artifacts/chaos/exas-cli.mjs');
await build({ ...common, absWorkingDir: root, entryPoints: ['src/cli.ts'], outfile: cli, define: { 'import.meta.main': 'true' } });
const outfile = `test/artifacts/chaos/${entry}.mjs`;
await build({ ...common, entryPoints: [`test/chaos/${entry}.ts`], outfile });
const run = spawnSync(process.execPath, [outfile, ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, EXAS_CHAOS_CLI: cli } });
process.exit(run.status ?? 1);
