/**
 * @module
 * `exas test [--run PATTERN] [--format text|json] [FILE]`: runs the rules file's own `tests:` section. Each
 * failure shows the event sequence, expected vs actual and the rule that fired; the last stdout line is
 * `N passed, N failed`. Findings of the file itself are printed too, and the tests still run when the file
 * compiled (a rule that can never match is an error, not a reason to hide test results). Exit 1 on any failure.
 */
import { byPosition, formatTestFailure, loadRulesFile, runRulesTests, type Diagnostic, type RulesTestOutcome } from '../rules/index.ts';
import type { Command } from './io.ts';
import { jsonDiagnostic, printDiagnostics, rulesFileArgs } from './rules-file.ts';
import { SourceLines } from './snippet.ts';

export const TEST_HELP = `usage: exas test [--run PATTERN] [--format text|json] [FILE]

Runs the tests: section of a rules file (default ./exas.rules.yaml). Each test is a sequence of Engage
events with the presence / routing status / rule expected after each one. A failing test prints its events,
expected vs actual and the rule that fired; the last line is "N passed, N failed". Errors in the file are
printed as well (as by exas check); the exit code is 1 on any error or failed test.

options:
  -r, --run PATTERN        run only the tests whose name matches the regular expression PATTERN
                           (no match is an error: a mistyped pattern must not pass silently)
  -f, --format text|json   json: {"file","ok","passed","failed","skipped","tests":[…],"diagnostics":[…]} on
                           stdout; a failed test is also a diagnostic with code test-failed
  -h, --help               this help

examples:
  exas test
  exas test rules/aliases.yaml
  exas test --run 'break|lunch'
  exas test --format json | jq '.tests[] | select(.passed | not) | .name'
`;

export const test: Command = async (args, io) => {
  const parsed = rulesFileArgs('test', args, io, TEST_HELP.split('\n\n')[0] + '\n', { run: { type: 'string', short: 'r' } });
  if (parsed === null) return 2;
  const { file, format } = parsed;
  const pattern = parsed.values['run'];
  let selected: RegExp | undefined;
  try {
    selected = typeof pattern === 'string' ? new RegExp(pattern) : undefined;
  } catch (error) {
    io.err(`exas test: --run: not a regular expression: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  const result = await loadRulesFile(file);
  const program = result.program ?? result.testable ?? null;
  const report = program === null ? null : runRulesTests(program, (test) => selected === undefined || selected.test(test.name));
  const sources = new SourceLines();
  const failures = (report?.outcomes ?? []).filter((outcome) => !outcome.passed).map((outcome) => failureDiagnostic(outcome, sources));
  const noneSelected = report !== null && selected !== undefined && report.outcomes.length === 0;
  const ok = result.errors.length === 0 && report !== null && report.failed === 0 && !noneSelected;

  if (format === 'json') {
    const document = {
      file,
      ok,
      passed: report?.passed ?? 0,
      failed: report?.failed ?? 0,
      skipped: report?.skipped ?? 0,
      tests: (report?.outcomes ?? []).map(jsonOutcome),
      diagnostics: [...result.errors, ...result.warnings, ...failures].sort(byPosition).map(jsonDiagnostic),
    };
    io.out(JSON.stringify(document, null, 2) + '\n');
    return ok ? 0 : 1;
  }
  printDiagnostics(io, [...result.errors, ...result.warnings].sort(byPosition), sources);
  if (program === null || report === null) return 1;
  for (const outcome of report.outcomes) if (!outcome.passed) io.out(formatTestFailure(outcome) + '\n\n');
  if (program.tests.length === 0) io.err(`exas test: ${file} has no tests: section\n`);
  if (noneSelected) io.err(`exas test: no test name matches --run '${pattern}' (${program.tests.length} tests in ${file})\n`);
  const skipped = report.skipped > 0 ? `, ${report.skipped} skipped (--run)` : '';
  io.out(`${report.passed} passed, ${report.failed} failed${skipped}\n`);
  return ok ? 0 : 1;
};

/** A failed test as a diagnostic at its failing event, so editors and `--format json` place it. */
function failureDiagnostic(outcome: RulesTestOutcome, sources: SourceLines): Diagnostic {
  const { test } = outcome;
  const line = outcome.failedStep === undefined ? test.line : test.steps[outcome.failedStep]!.line;
  const text = sources.line(test.file, line) ?? '';
  const column = text.length - text.trimStart().length + 1;
  const what = outcome.mismatches.map((m) => `${m.key}: expected ${m.expected}, actual ${m.actual}`).join('; ');
  return { severity: 'error', code: 'test-failed', file: test.file, line, column, message: `test '${test.name}' failed at event ${(outcome.failedStep ?? 0) + 1}: ${what}` };
}

function jsonOutcome(outcome: RulesTestOutcome): Record<string, unknown> {
  const { test } = outcome;
  return {
    name: test.name,
    file: test.file,
    line: test.line,
    passed: outcome.passed,
    ...(outcome.passed ? {} : { failedEvent: (outcome.failedStep ?? 0) + 1, mismatches: outcome.mismatches }),
  };
}
