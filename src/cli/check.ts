/**
 * @module
 * `exas check [FILE]`: validates and lints a rules file (default ./exas.rules.yaml). Exit 0 with a one-line
 * summary on stdout when valid (warnings on stderr); exit 1 with `FILE:LINE:COLUMN: message` lines on stderr.
 */
import { parseArgs } from 'node:util';
import { formatDiagnostic, loadRulesFile, type Diagnostic } from '../rules/index.ts';
import { paint, type CliIo, type Command } from './io.ts';

export const DEFAULT_RULES_FILE = 'exas.rules.yaml';

/** Prints diagnostics to stderr, errors red and warnings yellow when colour is allowed. */
export function printDiagnostics(io: CliIo, diagnostics: readonly Diagnostic[]): void {
  for (const diagnostic of diagnostics) io.err(paint(io, diagnostic.severity === 'error' ? 'red' : 'yellow', formatDiagnostic(diagnostic)) + '\n');
}

export const check: Command = async (args, io) => {
  let file: string;
  try {
    const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
    if (positionals.length > 1) throw new Error('expected at most one FILE');
    file = positionals[0] ?? DEFAULT_RULES_FILE;
  } catch (error) {
    io.err(`exas check: ${error instanceof Error ? error.message : String(error)}\nusage: exas check [FILE]\n`);
    return 2;
  }
  const result = await loadRulesFile(file);
  printDiagnostics(io, [...result.errors, ...result.warnings]);
  // On failure stderr carries only `FILE:LINE:COLUMN: message` lines, so editors and CI matchers read every line.
  if (result.program === null) return 1;
  const { program } = result;
  const warnings = result.warnings.length;
  io.out(`${file}: OK, ${program.rules.length} rules, ${program.tests.length} tests, ${warnings} ${warnings === 1 ? 'warning' : 'warnings'}\n`);
  return 0;
};
