/**
 * The EXAS CLI built from the working tree's src/cli.ts (esbuild, as `npm run chaos` does), so tests that run
 * `exas run` as a child process (to SIGKILL it) run the code under test, not a dist/ built earlier.
 */
import { build } from 'esbuild';
import { resolve } from 'node:path';

let built: Promise<string> | undefined;

/** Path of the built CLI (under test/artifacts/, where node_modules resolves); built once per test process. */
export function builtCli(): Promise<string> {
  built ??= (async () => {
    const outfile = resolve(import.meta.dirname, '..', 'artifacts', 'cli', `exas-cli-${process.pid}.mjs`);
    await build({
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'warning',
      absWorkingDir: resolve(import.meta.dirname, '..', '..'),
      entryPoints: ['src/cli.ts'],
      outfile,
      define: { 'import.meta.main': 'true' },
    });
    return outfile;
  })();
  return built;
}
