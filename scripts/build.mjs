// Builds dist/cli.mjs, the JavaScript the `exas` bin runs on Node (Node 20 cannot run .ts sources).
// Dependencies stay external here: this build serves a clone after `npm install`.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  outfile: 'dist/cli.mjs',
  sourcemap: true,
  logLevel: 'warning',
});
