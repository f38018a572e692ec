/**
 * What the rules commands (`check`, `test`, `explain`, `dry-run`) share: the default rules file, the
 * `[FILE]` argument, and diagnostics printed the way editors and CI matchers read them.
 */
import { parseArgs } from 'node:util';
import { formatDiagnostic, type Diagnostic } from '../rules/index.ts';
import { paint, type CliIo } from './io.ts';

export const DEFAULT_RULES_FILE = 'exas.rules.yaml';

/** Prints diagnostics to stderr, errors red and warnings yellow when colour is allowed. */
export function printDiagnostics(io: CliIo, diagnostics: readonly Diagnostic[]): void {
  for (const diagnostic of diagnostics) io.err(paint(io, diagnostic.severity === 'error' ? 'red' : 'yellow', formatDiagnostic(diagnostic)) + '\n');
}

/**
 * The rules file of `exas <command> [FILE]` (default ./exas.rules.yaml), or null after printing the usage
 * error: the caller then exits 2.
 *
 * @example
 * const file = rulesFileArgument('check', args, io);
 * if (file === null) return 2;
 */
export function rulesFileArgument(command: string, args: string[], io: CliIo): string | null {
  try {
    const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
    if (positionals.length > 1) throw new Error('expected at most one FILE');
    return positionals[0] ?? DEFAULT_RULES_FILE;
  } catch (error) {
    io.err(`exas ${command}: ${error instanceof Error ? error.message : String(error)}\nusage: exas ${command} [FILE]\n`);
    return null;
  }
}
