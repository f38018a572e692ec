/**
 * Docs that cannot go stale: every command and curl example in README.md and docs/demo.md runs against a live
 * demo (emulators and sidecar on ephemeral loopback ports) and its answer is checked, so a wrong example fails
 * CI. What is run: each line of a ```sh block, each `$ command` of a plain block (with the output printed under
 * it compared), and each inline `curl …` of docs/demo.md. `curl` fails on an HTTP error (--fail-with-body), a
 * pipeline fails when any part does, and a pipeline into jq must print something. Commands that start servers
 * or install things are skipped by the explicit list below, each with its reason.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type RunningDemo } from '../../src/demo/index.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const DOCS = ['README.md', 'docs/demo.md'];

/** Examples that are not run, and why. Anything else in a ```sh block or an inline curl is run. */
const SKIPPED: ReadonlyArray<{ pattern: RegExp; reason: string }> = [
  { pattern: /^npm (install|start|test)\b/, reason: 'installs packages, or runs the demo / the whole suite until stopped' },
  { pattern: /\bexas demo\b|\bsrc\/cli\.ts demo\b|\bdeno task demo\b/, reason: 'starts the demo until Ctrl-C (this test runs one in-process)' },
  { pattern: /\bexas emulate\b/, reason: 'starts an emulator until Ctrl-C' },
  { pattern: /\[[A-Z-]|…|<[a-z|]+>|\bexas explain --state S\b/, reason: 'a synopsis with placeholders, not an example' },
];

/**
 * Examples whose section starts from a new demo (the doc restarts it): the faults earlier examples injected
 * (a 20 s GC outage, say) are cleared first, as a fresh demo would have none.
 */
const FRESH_DEMO: readonly RegExp[] = [/^npx exas doctor --config doctor-demo\.yaml$/];
const CLEAR_FAULTS = [
  `curl -s -X POST $G/emulator/faults -H 'content-type: application/json' -d '{}' >/dev/null`,
  `curl -s -X POST $S/emulator/faults -H 'content-type: application/json' -d '{}' >/dev/null`,
].join(' && ');

interface Example {
  readonly doc: string;
  readonly line: number;
  readonly command: string;
  /** The output the doc shows under a `$ command`, when it shows one. */
  readonly expected?: string;
}

/** The runnable examples of one markdown file. */
function examplesOf(doc: string): Example[] {
  const lines = readFileSync(join(ROOT, doc), 'utf8').split('\n');
  const out: Example[] = [];
  let fence: { lang: string; start: number } | null = null;
  let block: Array<{ text: string; line: number }> = [];
  lines.forEach((text, index) => {
    const fenceMatch = /^\s*```(\w*)\s*$/.exec(text);
    if (fenceMatch !== null) {
      if (fence === null) {
        fence = { lang: fenceMatch[1]!, start: index + 1 };
        block = [];
      } else {
        out.push(...blockExamples(doc, fence.lang, block));
        fence = null;
      }
      return;
    }
    if (fence !== null) {
      block.push({ text, line: index + 1 });
      return;
    }
    if (doc === 'docs/demo.md') for (const match of text.matchAll(/`(curl [^`]+)`/g)) out.push({ doc, line: index + 1, command: match[1]! });
  });
  return out;
}

function blockExamples(doc: string, lang: string, block: ReadonlyArray<{ text: string; line: number }>): Example[] {
  const out: Example[] = [];
  if (lang === 'sh' && !block.some((entry) => entry.text.startsWith('$ '))) {
    // Logical lines: a trailing backslash continues the command.
    for (let index = 0; index < block.length; index += 1) {
      const start = block[index]!;
      let command = start.text;
      while (command.endsWith('\\') && index + 1 < block.length) command = command.slice(0, -1) + ' ' + block[++index]!.text.trim();
      // A here-document (`cat > f <<'YAML'` … `YAML`) is one command with its lines.
      const hereDoc = /<<-?\s*'?(\w+)'?\s*$/.exec(command);
      if (hereDoc !== null) {
        while (index + 1 < block.length) {
          const next = block[++index]!.text;
          command += '\n' + next;
          if (next.trim() === hereDoc[1]) break;
        }
      }
      if (command.trim() !== '' && !command.trim().startsWith('#')) out.push({ doc, line: start.line, command: command.trim() });
    }
  } else if (lang === '' || lang === 'sh') {
    // A transcript: `$ command` followed by the output the doc promises, up to the next `$ ` line or the fence.
    block.forEach((entry, index) => {
      if (!entry.text.startsWith('$ ')) return;
      const rest = block.slice(index + 1);
      const end = rest.findIndex((next) => next.text.startsWith('$ '));
      const expected = (end === -1 ? rest : rest.slice(0, end)).map((next) => next.text).join('\n');
      out.push({ doc, line: entry.line, command: entry.text.slice(2), expected });
    });
  }
  return out;
}

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function runShell(command: string, env: Record<string, string>): Promise<Outcome> {
  // curl fails on HTTP errors with the body shown; `npx exas` runs the sources (the bundle has its own test).
  const prelude = [
    'set -o pipefail',
    'curl() { command curl --fail-with-body --silent --show-error --max-time 10 "$@"; }',
    `npx() { if [ "$1" = exas ]; then shift; "${join(ROOT, 'node_modules/.bin/deno')}" run -A "${join(ROOT, 'src/cli.ts')}" "$@"; else echo "npx $1: not run by the docs test" >&2; return 97; fi; }`,
  ].join('\n');
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', ['-c', `${prelude}\n${command}`], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
  });
}

/** What is wrong with an answer, or null when it is right. */
function problemWith(example: Example, outcome: Outcome): string | null {
  if (outcome.code !== 0) return `exit ${outcome.code}\nstdout: ${outcome.stdout}\nstderr: ${outcome.stderr}`;
  if (/\|\s*jq\b/.test(example.command) && outcome.stdout.trim() === '') return `jq printed nothing\nstderr: ${outcome.stderr}`;
  if (example.expected !== undefined && example.expected.trim() !== '') {
    const want = example.expected.trim();
    const got = outcome.stdout.trim();
    const same = isJson(want) ? isJson(got) && JSON.stringify(JSON.parse(got)) === JSON.stringify(JSON.parse(want)) : got === want;
    if (!same) return `the doc shows:\n${want}\nthe command printed:\n${got}`;
  }
  return null;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const examples = DOCS.flatMap(examplesOf);
const skipped = (example: Example) => SKIPPED.find(({ pattern }) => pattern.test(example.command));
const runnable = examples.filter((example) => skipped(example) === undefined);

describe('the examples in README.md and docs/demo.md', () => {
  let demo: RunningDemo;
  const env: Record<string, string> = {};

  beforeAll(async () => {
    demo = await startDemo({ port: 0, agents: 20, eventsPerSecond: 0, logLevel: 'error', watchRules: false });
    await demo.sidecar.connector.ready();
    env['S'] = demo.urls.statServer;
    env['G'] = demo.urls.gc;
    env['X'] = demo.urls.sidecar;
    env['USER_ID'] = demo.gc.users()[0]!.userId;
  }, 60_000);

  afterAll(async () => {
    await demo?.stop();
    // Files the examples write beside the docs (docs/demo.md's doctor config).
    rmSync(join(ROOT, 'doctor-demo.yaml'), { force: true });
  });

  it('finds the examples, runs most of them, and every skip reason still applies to some example', () => {
    // Guards against a parser that silently finds nothing: the docs carry well over a dozen examples.
    expect(examples.length).toBeGreaterThan(15);
    expect(runnable.length).toBeGreaterThanOrEqual(10);
    for (const { pattern } of SKIPPED) expect(examples.some((example) => pattern.test(example.command)), String(pattern)).toBe(true);
  });

  it('a wrong example fails: the old "Explain a decision" body (no events) is answered 400', async () => {
    const old: Example = { doc: 'docs/demo.md', line: 0, command: `curl -s -X POST $X/dry-run -H 'content-type: application/json' -d '{"state":"Ready","callType":"Internal"}'` };
    expect(problemWith(old, await runShell(old.command, env))).toMatch(/^exit 22\n/);
    const shown: Example = { doc: 'README.md', line: 0, command: 'npx exas --version', expected: 'exas 0.0.0-not-this' };
    expect(problemWith(shown, await runShell(shown.command, env))).toMatch(/^the doc shows:/);
  });

  it.each(runnable.map((example) => [`${example.doc}:${example.line}: ${example.command.slice(0, 90)}`, example] as const))('%s', async (_name, example) => {
    // The docs take the URLs from the demo's ready line; here they are the live demo's.
    const command = example.command.replace(/^S=\S+ G=\S+ X=\S+\s*(#.*)?$/, 'true').replaceAll('<userId>', '$USER_ID');
    // Some examples read what an earlier one changed (GC follows Stat Server within milliseconds): retried, as a
    // person would run it again, for up to 5 s.
    if (FRESH_DEMO.some((pattern) => pattern.test(example.command))) expect(await runShell(CLEAR_FAULTS, env)).toMatchObject({ code: 0 });
    const deadline = Date.now() + 5_000;
    let problem: string | null;
    do {
      problem = problemWith(example, await runShell(command, env));
      if (problem !== null) await new Promise((wake) => setTimeout(wake, 200));
    } while (problem !== null && Date.now() < deadline);
    expect(problem, `${example.doc}:${example.line}: ${example.command}`).toBeNull();
  }, 30_000);
});
