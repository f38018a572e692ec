/**
 * Diagnostics of the rules loader and linter: one finding at one place in one file, printed the way compilers
 * and editors expect (`FILE:LINE:COLUMN: message`), so a terminal or CI log links straight to the spot.
 */

/** One finding at a 1-based line and column of a rules file. */
export interface Diagnostic {
  severity: 'error' | 'warning';
  /**
   * A stable name for the kind of finding (`unknown-value`, `shadowed-rule`…), for `--format json`. Every
   * diagnostic the loader makes has one; optional only for diagnostics made elsewhere (`rules` when absent).
   */
  code?: string;
  file: string;
  line: number;
  column: number;
  message: string;
}

/** `FILE:LINE:COLUMN: message`; warnings read `FILE:LINE:COLUMN: warning: message`. */
export function formatDiagnostic(d: Diagnostic): string {
  const prefix = d.severity === 'warning' ? 'warning: ' : '';
  return `${d.file}:${d.line}:${d.column}: ${prefix}${d.message}`;
}

/** Orders diagnostics by position, so output reads top to bottom like the file. */
export function byPosition(a: Diagnostic, b: Diagnostic): number {
  return a.line - b.line || a.column - b.column;
}

/**
 * Thrown by callers that need an exception rather than a list (e.g. a hot reload that must reject a bad file):
 * carries the first error's place and every diagnostic.
 */
export class RulesError extends Error {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly diagnostics: readonly Diagnostic[];

  constructor(diagnostics: readonly Diagnostic[]) {
    const first = diagnostics[0];
    super(first === undefined ? 'invalid rules' : diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'RulesError';
    this.file = first?.file ?? '';
    this.line = first?.line ?? 1;
    this.column = first?.column ?? 1;
    this.diagnostics = diagnostics;
  }
}
