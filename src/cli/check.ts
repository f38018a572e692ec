/**
 * @module
 * `exas check [FILE]`: validates and lints a rules file (default ./exas.rules.yaml). Exit 0 with a one-line
 * summary on stdout when valid (warnings on stderr); exit 1 with `FILE:LINE:COLUMN: message` lines on stderr.
 */
import { loadRulesFile } from '../rules/index.ts';
import type { Command } from './io.ts';
import { printDiagnostics, rulesFileArgument } from './rules-file.ts';

export const check: Command = async (args, io) => {
  const file = rulesFileArgument('check', args, io);
  if (file === null) return 2;
  const result = await loadRulesFile(file);
  printDiagnostics(io, [...result.errors, ...result.warnings]);
  // On failure stderr carries only `FILE:LINE:COLUMN: message` lines, so editors and CI matchers read every line.
  if (result.program === null) return 1;
  const { program } = result;
  const warnings = result.warnings.length;
  io.out(`${file}: OK, ${program.rules.length} rules, ${program.tests.length} tests, ${warnings} ${warnings === 1 ? 'warning' : 'warnings'}\n`);
  return 0;
};
