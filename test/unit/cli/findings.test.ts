/**
 * The CLI as a linter: --help everywhere, the source line and caret, --format json, --run, every finding in
 * one pass, YAML syntax errors where they are and an empty rule set said once.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../src/cli/commands.ts';
import { runCli } from '../../helpers/capture-io.ts';


const dir = mkdtempSync(join(tmpdir(), 'exas-cli-findings-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const RULE = '  - name: ready\n    when: { state: Ready }\n    presence: OnQueue\n    routingStatus: Idle\n';

describe('--help', () => {
  it.each(Object.keys(COMMANDS))('exas %s --help exits 0 with usage and examples on stdout', async (name) => {
    for (const flag of ['--help', '-h']) {
      const result = await runCli([name, flag]);
      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(new RegExp(`^usage: exas ${name} `));
      expect(result.stdout).toMatch(/\nexamples:\n {2}exas /);
    }
    expect((await runCli(['help', name])).stdout).toBe((await runCli([name, '--help'])).stdout);
  });

  it('--help after other arguments still answers with help (exas check some.yaml --help)', async () => {
    const result = await runCli(['check', 'nope.yaml', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^usage: exas check/);
  });

  it('exas --help lists every command with examples and exits 0; no command exits 2', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const name of Object.keys(COMMANDS)) expect(result.stdout).toContain(`\n  ${name.padEnd(10)} `);
    expect(result.stdout).toContain('\nexamples:\n  exas demo');
    expect((await runCli([])).code).toBe(2);
  });

  it.each(['gc', 'statserver'])('exas emulate %s --help: the emulator answers with its usage and examples', async (which) => {
    const result = await runCli(['emulate', which, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^usage: exas emulate ${which} `));
    expect(result.stdout).toContain(`\nexamples:\n  exas emulate ${which} `);
  });
});

describe('exas check --format json', () => {
  it('prints every finding with file, line, column, severity, code and message, rules and tests together', async () => {
    const path = file(
      'mixed.yaml',
      'rules:\n  - name: ready\n    when: { state: Redy }\n    presence: OnQueue\n    routingStatus: Idle\ntests:\n  - name: t\n    events:\n      - { state: Ready, expect: { rule: redy, presence: OnQeue } }\n',
    );
    const result = await runCli(['check', '--format', 'json', path]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    const document = JSON.parse(result.stdout) as { ok: boolean; diagnostics: unknown[] };
    expect(document.ok).toBe(false);
    expect(document.diagnostics).toEqual([
      { file: path, line: 3, column: 20, severity: 'error', code: 'unknown-value', message: expect.stringContaining("unknown state 'Redy'") },
      { file: path, line: 9, column: 41, severity: 'error', code: 'unknown-test-rule', message: "expected rule 'redy' is not a rule in this file (did you mean 'ready'?)" },
      { file: path, line: 9, column: 57, severity: 'error', code: 'unknown-test-presence', message: expect.stringContaining("expected presence 'OnQeue'") },
    ]);
  });

  it('a valid file: ok, counts, warnings as diagnostics, exit 0', async () => {
    const result = await runCli(['check', '--format', 'json', 'exas.rules.yaml']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ file: 'exas.rules.yaml', ok: true, rules: 13, tests: 15, diagnostics: [] });
  });

  it('an unknown format is a usage error', async () => {
    const result = await runCli(['check', '--format', 'xml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--format must be text or json, got 'xml'");
  });
});

describe('exas test', () => {
  const failing = file(
    'failing.yaml',
    `rules:\n${RULE}  - name: other\n    presence: Busy\n    routingStatus: OffQueue\ntests:\n  - name: break is busy\n    events:\n      - { state: NotReady, reason: Break, expect: { presence: Break } }\n  - name: ready is on queue\n    events:\n      - { state: Ready, expect: { presence: OnQueue } }\n`,
  );

  it('--run PATTERN runs only the matching tests', async () => {
    const result = await runCli(['test', '--run', '^ready', failing]);
    expect(result).toEqual({ code: 0, stdout: '1 passed, 0 failed, 1 skipped (--run)\n', stderr: '' });
    const all = await runCli(['test', failing]);
    expect(all.code).toBe(1);
    expect(all.stdout).toMatch(/1 passed, 1 failed\n$/);
  });

  it('--run that matches nothing fails, and a bad pattern is a usage error', async () => {
    const none = await runCli(['test', '--run', 'lunch', failing]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("no test name matches --run 'lunch' (2 tests in");
    expect((await runCli(['test', '--run', '(', failing])).code).toBe(2);
  });

  it('--format json: each test, and a failed one as a test-failed diagnostic at its failing event', async () => {
    const result = await runCli(['test', '--format', 'json', failing]);
    expect(result.code).toBe(1);
    const document = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(document).toMatchObject({ file: failing, ok: false, passed: 1, failed: 1, skipped: 0 });
    expect(document['tests']).toEqual([
      { name: 'break is busy', file: failing, line: 10, passed: false, failedEvent: 1, mismatches: [{ key: 'presence', expected: 'Break', actual: 'Busy' }] },
      { name: 'ready is on queue', file: failing, line: 13, passed: true },
    ]);
    expect(document['diagnostics']).toEqual([
      { file: failing, line: 12, column: 7, severity: 'error', code: 'test-failed', message: "test 'break is busy' failed at event 1: presence: expected Break, actual Busy" },
    ]);
  });

  it('a rule that can never match is reported and the tests still run, in one pass', async () => {
    const shadowed = file(
      'shadowed.yaml',
      `rules:\n  - name: all\n    presence: Busy\n    routingStatus: OffQueue\n${RULE}tests:\n  - name: ready\n    events:\n      - { state: Ready, expect: { presence: OnQueue } }\n`,
    );
    const result = await runCli(['test', shadowed]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${shadowed}:5:5: rule 'ready' can never match`);
    expect(result.stdout).toContain(`FAIL ${shadowed}:10: ready`);
    expect(result.stdout).toMatch(/0 passed, 1 failed\n$/);
  });
});

describe('YAML syntax errors and an empty rule set', () => {
  it('a bad indentation is placed at the line that is out of line, not at column 1', async () => {
    const more = await runCli(['check', file('indent-more.yaml', 'rules:\n  - name: ready\n    when: { state: Ready }\n    presence: OnQueue\n     routingStatus: Idle\n')]);
    expect(more.stderr).toMatch(/indent-more\.yaml:5:6: YAML syntax error: bad indentation: 'routingStatus' starts at column 6, 'presence' above it at column 5/);
    const less = await runCli(['check', file('indent-less.yaml', 'rules:\n  - name: ready\n    when: { state: Ready }\n    presence: OnQueue\n   routingStatus: Idle\n')]);
    expect(less.stderr).toMatch(/indent-less\.yaml:5:4: YAML syntax error: bad indentation: 'routingStatus' starts at column 4/);
    expect(less.stderr).toContain('5 |    routingStatus: Idle\n  |    ^^^^^^^^^^^^^\n');
  });

  it('an unclosed { is one error at the brace, not a cascade', async () => {
    const path = file('brace.yaml', `rules:\n  - name: ready\n    when: { state: Ready\n    presence: OnQueue\n    routingStatus: Idle\n  - name: other\n    presence: Busy\n    routingStatus: OffQueue\n`);
    const result = await runCli(['check', '--format', 'json', path]);
    const { diagnostics } = JSON.parse(result.stdout) as { diagnostics: unknown[] };
    expect(diagnostics).toEqual([
      { file: path, line: 3, column: 11, severity: 'error', code: 'yaml-syntax', message: "YAML syntax error: unclosed '{': this flow mapping needs a matching '}'" },
    ]);
  });

  it('rules: [] says the rule set is empty, once, without a line per test expectation', async () => {
    const path = file('empty.yaml', 'rules: []\ntests:\n  - name: t\n    events:\n      - { state: Ready, expect: { rule: ready } }\n      - { state: NotReady, expect: { rule: break } }\n');
    for (const command of ['check', 'test']) {
      const result = await runCli([command, path]);
      expect(result.code).toBe(1);
      const headlines = result.stderr.split('\n').filter((line) => line.startsWith(path));
      expect(headlines).toEqual([`${path}:1:1: the rule set is empty: add at least one rule under rules:`]);
    }
  });
});

describe('exas run --check: config diagnostics', () => {
  it('name the file as given, show the source line with a caret and the hint, top to bottom', async () => {
    const result = await runCli(['run', '--config', 'test/unit/config/fixtures/typo.yaml', '--check']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      [
        "test/unit/config/fixtures/typo.yaml:2:3: error: unknown key 'batchSise' (did you mean 'batchSize'?) in writer [writer.batchSise]",
        '  |',
        '2 |   batchSise: 5',
        '  |   ^^^^^^^^^',
        '  hint: allowed keys in writer: mode, batchSize, keepFallback',
        '',
      ].join('\n'),
    );
  });
});

describe('text diagnostics', () => {
  it('findings at one place share one snippet, under the last of them', async () => {
    const path = file('uncovered.yaml', 'rules:\n  - name: ready\n    when: { state: Ready }\n    presence: OnQueue\n    routingStatus: Idle\n');
    const result = await runCli(['check', path]);
    expect(result.code).toBe(0);
    const lines = result.stderr.trimEnd().split('\n');
    const headlines = lines.filter((line) => line.startsWith(`${path}:1:1: warning: no rule covers state`));
    expect(headlines).toHaveLength(3);
    expect(lines.filter((line) => line === '1 | rules:')).toHaveLength(1);
    expect(lines.slice(-3)).toEqual(['  |', '1 | rules:', '  | ^^^^^']);
  });
});
