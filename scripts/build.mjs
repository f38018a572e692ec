// Builds the two JavaScript outputs of EXAS:
//   dist/cli.mjs   what the `exas` bin runs in a clone after `npm install` (Node 20 cannot run .ts sources);
//                  dependencies stay external, resolved from node_modules.
//   dist/exas.mjs  the sidecar: one ES module with every dependency, the JSON schemas and the status page
//                  inside, so it needs no other file than the rules and config it is given. It runs as
//                  `node dist/exas.mjs …` and `deno run … dist/exas.mjs …` (docs/deploy.md).
// `node scripts/build.mjs` builds both; `--cli` or `--bundle [--outfile PATH]` builds one.
//
// `--editor` regenerates src/http/page/editor-bundle.ts: the status page's rules editor (CodeMirror 6, a
// devDependency) bundled for the browser into one string that the sidecar serves as /editor.js. It is committed,
// so running from src/ (tests, Deno) and both outputs above need no build step for it; a unit test fails when
// it no longer matches src/http/page/editor/ and the installed CodeMirror.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

const cli = {
  absWorkingDir: ROOT,
  entryPoints: ['src/cli.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  outfile: 'dist/cli.mjs',
  sourcemap: true,
  // The built file is its own operator worker (src/http/jobs.ts).
  define: { 'import.meta.exasWorkerSelf': 'true' },
  logLevel: 'warning',
};

// CommonJS dependencies (faye, ws, prom-client, …) call `require('node:…')` and read `__dirname`; an ES
// module has neither, so the banner provides them. Both resolve against the bundle's own URL, which works
// under Node and under Deno (whose `node:module` has createRequire).
const banner = [
  `// exas ${pkg.version} — ${pkg.description}`,
  `// ${pkg.license} licence. Run: node exas.mjs <command> | deno run <permissions> exas.mjs <command> (see docs/deploy.md)`,
  `import { createRequire as __exasCreateRequire } from 'node:module';`,
  `import { fileURLToPath as __exasFileURLToPath } from 'node:url';`,
  `import { dirname as __exasDirname } from 'node:path';`,
  `const require = __exasCreateRequire(import.meta.url);`,
  `const __filename = __exasFileURLToPath(import.meta.url);`,
  `const __dirname = __exasDirname(__filename);`,
].join('\n');

const bundle = {
  absWorkingDir: ROOT,
  entryPoints: ['src/cli.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: ['node20', 'deno2'],
  outfile: 'dist/exas.mjs',
  sourcemap: true,
  // The bundle is always the main module; src/cli.ts runs `main` when `import.meta.main` is true.
  // Node 20 leaves it undefined, so it is fixed here rather than left to the runtime.
  define: {
    'import.meta.main': 'true',
    // The bundle is its own operator worker (src/http/jobs.ts): one file, nothing else to ship.
    'import.meta.exasWorkerSelf': 'true',
    // ws probes the optional native add-ons bufferutil / utf-8-validate unless these are set; its pure
    // JavaScript paths are used instead, which also keeps the bundle free of a run-time module lookup
    // (and of an env permission under Deno).
    'process.env.WS_NO_BUFFER_UTIL': '"1"',
    'process.env.WS_NO_UTF_8_VALIDATE': '"1"',
    // tunnel-agent (faye, emulator only) reads NODE_DEBUG at load time; under Deno that needs a permission.
    'process.env.NODE_DEBUG': 'undefined',
  },
  // `debug` (pulled in by the proxy agents of cometd-nodejs-client) enumerates the whole environment at
  // load time, which under Deno needs an unrestricted --allow-env; its tracing is replaced by a no-op.
  alias: { debug: './scripts/bundle-shims/debug.cjs' },
  // Belt and braces: never bundled, never required (see the defines above).
  external: ['bufferutil', 'utf-8-validate'],
  banner: { js: banner },
  legalComments: 'eof',
  metafile: true,
  logLevel: 'warning',
};

/**
 * Builds the self-contained bundle to `outfile` (default dist/exas.mjs) and returns esbuild's metafile.
 * Throws when the bundle would carry a devDependency.
 */
export async function buildBundle(outfile = 'dist/exas.mjs') {
  const result = await build({ ...bundle, outfile });
  checkBundle(result.metafile);
  return result.metafile;
}

export const EDITOR_MODULE = 'src/http/page/editor-bundle.ts';

/** The rules editor for the browser: one minified script, and the TypeScript module that carries it. */
export async function buildEditor() {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ['src/http/page/editor/main.ts'],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: true,
    legalComments: 'none',
    metafile: true,
    write: false,
    logLevel: 'warning',
  });
  const script = result.outputFiles[0].text.trimEnd();
  const packages = new Map();
  for (const input of Object.keys(result.metafile.inputs)) {
    const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match && !packages.has(match[1])) {
      const meta = JSON.parse(readFileSync(new URL(`../node_modules/${match[1]}/package.json`, import.meta.url), 'utf8'));
      packages.set(match[1], `${match[1]}@${meta.version} (${meta.license})`);
    }
  }
  const module = [
    '// Generated by `node scripts/build.mjs --editor` from src/http/page/editor/main.ts. Do not edit.',
    '// Bundles, under their own licences:',
    ...[...packages.keys()].sort().map((name) => `//   ${packages.get(name)}`),
    '/** The status page\'s rules editor: CodeMirror 6 with YAML and inline rules diagnostics (served as /editor.js). */',
    `export const EDITOR_JS: string = ${JSON.stringify(script)};`,
    '',
  ].join('\n');
  return { script, module };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const only = process.argv[2];
  if (only === '--editor') {
    const { module } = await buildEditor();
    writeFileSync(new URL(`../${EDITOR_MODULE}`, import.meta.url), module);
    process.exit(0);
  }
  const outfileAt = process.argv.indexOf('--outfile');
  const builds = [];
  if (only !== '--bundle') builds.push(build(cli));
  if (only !== '--cli') builds.push(buildBundle(outfileAt > 0 ? process.argv[outfileAt + 1] : undefined));
  await Promise.all(builds);
}

// The bundle must not reach for devDependencies at run time.
function checkBundle(metafile) {
  const dev = new Set(Object.keys(pkg.devDependencies ?? {}));
  const used = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) used.add(match[1]);
  }
  const leaked = [...used].filter((name) => dev.has(name));
  if (leaked.length > 0) throw new Error(`dist/exas.mjs bundles devDependencies: ${leaked.join(', ')}`);
}
