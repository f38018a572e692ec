/**
 * What the rules commands (`check`, `test`, `explain`, `dry-run`) share: the default rules file, the
 * `[FILE]` argument and `--format`, and diagnostics printed the way editors, CI matchers and people read them.
 */
import { parseArgs } from 'node:util';
import { formatDiagnostic, type Diagnostic } from '../rules/index.ts';
import { paint, type CliIo } from './io.ts';
import { snippet, SourceLines } from './snippet.ts';

export const DEFAULT_RULES_FILE = 'exas.rules.yaml';

/** How a command prints its findings: `text` (headline, source line and caret) or `json` (one document on stdout). */
export type OutputFormat = 'text' | 'json';

/**
 * Prints diagnostics to stderr: the `FILE:LINE:COLUMN: message` headline (errors red, warnings yellow when
 * colour is allowed), then the source line with a caret under the column.
 */
export function printDiagnostics(io: CliIo, diagnostics: readonly Diagnostic[], sources: SourceLines = new SourceLines()): void {
  diagnostics.forEach((diagnostic, index) => {
    const headline = paint(io, diagnostic.severity === 'error' ? 'red' : 'yellow', formatDiagnostic(diagnostic));
    // Findings at one place (the uncovered inputs all point at `rules:`) share one snippet, under the last.
    const next = diagnostics[index + 1];
    const samePlace = next !== undefined && next.file === diagnostic.file && next.line === diagnostic.line && next.column === diagnostic.column;
    const source = samePlace ? '' : snippet(sources, diagnostic.file, diagnostic.line, diagnostic.column);
    io.err(headline + '\n' + (source === '' ? '' : paint(io, 'dim', source) + '\n'));
  });
}

/** A diagnostic as `--format json` prints it: the same fields for every command and file kind. */
export interface JsonDiagnostic {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly severity: 'error' | 'warning';
  readonly code: string;
  readonly message: string;
}

export function jsonDiagnostic(diagnostic: Diagnostic): JsonDiagnostic {
  const { file, line, column, severity, message } = diagnostic;
  return { file, line, column, severity, code: diagnostic.code ?? 'rules', message };
}

/** The parsed arguments of `exas check|test [--format text|json] [FILE]` (plus the command's own options). */
export interface RulesFileArgs {
  readonly file: string;
  readonly format: OutputFormat;
  readonly values: Record<string, string | boolean | undefined>;
}

/**
 * Parses `[--format text|json] [FILE]` and `extra` options; null after printing the usage error (the caller then
 * exits 2).
 *
 * @example
 * const args = rulesFileArgs('check', argv, io, 'usage: exas check [FILE]\n');
 * if (args === null) return 2;
 */
export function rulesFileArgs(
  command: string,
  args: string[],
  io: CliIo,
  usage: string,
  extra: Record<string, { type: 'string' | 'boolean'; short?: string }> = {},
): RulesFileArgs | null {
  try {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { format: { type: 'string', short: 'f' }, ...extra } });
    if (positionals.length > 1) throw new Error(`expected at most one FILE, got ${positionals.length}: ${positionals.join(' ')}`);
    const format = values.format ?? 'text';
    if (format !== 'text' && format !== 'json') throw new Error(`--format must be text or json, got '${String(format)}'`);
    return { file: positionals[0] ?? DEFAULT_RULES_FILE, format, values: values as RulesFileArgs['values'] };
  } catch (error) {
    io.err(`exas ${command}: ${error instanceof Error ? error.message : String(error)}\n${usage}`);
    return null;
  }
}
