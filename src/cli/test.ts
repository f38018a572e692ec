/**
 * @module
 * `exas test [FILE]`: runs the rules file's own `tests:` section. Each failure shows the event sequence,
 * expected vs actual and the rule that fired; the last stdout line is `N passed, N failed`. Exit 1 on any failure.
 */
import { formatTestFailure, loadRulesFile, runRulesTests } from '../rules/index.ts';
import type { Command } from './io.ts';
import { printDiagnostics, rulesFileArgument } from './rules-file.ts';

export const test: Command = async (args, io) => {
  const file = rulesFileArgument('test', args, io);
  if (file === null) return 2;
  const result = await loadRulesFile(file);
  if (result.program === null) {
    printDiagnostics(io, result.errors);
    return 1;
  }
  const report = runRulesTests(result.program);
  for (const outcome of report.outcomes) if (!outcome.passed) io.out(formatTestFailure(outcome) + '\n\n');
  if (report.outcomes.length === 0) io.err(`exas test: ${file} has no tests: section\n`);
  io.out(`${report.passed} passed, ${report.failed} failed\n`);
  return report.failed === 0 ? 0 : 1;
};
