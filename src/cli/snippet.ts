/**
 * The source line under a diagnostic, with a caret under the column, the way rustc and `opa check` show it:
 *
 *     exas.rules.yaml:3:20: unknown state 'Redy' …
 *       |
 *     3 |     when: { state: Redy }
 *       |                    ^^^^
 *
 * The first line stays `FILE:LINE:COLUMN: message`, so editors and CI problem matchers still read it.
 */
import { readFileSync } from 'node:fs';

/** Reads each file once; a file that cannot be read (or is not a file: `environment EXAS_…`) gives no snippet. */
export class SourceLines {
  private readonly files = new Map<string, readonly string[] | null>();

  constructor(private readonly read: (file: string) => string = (file) => readFileSync(file, 'utf8')) {}

  line(file: string, line: number): string | undefined {
    let lines = this.files.get(file);
    if (lines === undefined) {
      try {
        lines = this.read(file).split(/\r?\n/);
      } catch {
        lines = null;
      }
      this.files.set(file, lines);
    }
    return lines?.[line - 1];
  }
}

/**
 * The snippet lines for `line:column` of `file` (without the headline), or an empty string when the line is
 * not in the file. Tabs before the column are kept so the caret lines up in a terminal.
 */
export function snippet(sources: SourceLines, file: string, line: number, column: number): string {
  const text = sources.line(file, line);
  if (text === undefined) return '';
  const gutter = ' '.repeat(String(line).length);
  const before = text.slice(0, Math.max(0, column - 1)).replace(/[^\t]/g, ' ');
  const carets = '^'.repeat(tokenLength(text, column - 1));
  return `${gutter} |\n${line} | ${text}\n${gutter} | ${before}${carets}`;
}

/** Length of the token starting at `index`: a quoted string, a word up to a `:`/`,`/bracket/space, at least 1. */
function tokenLength(text: string, index: number): number {
  const rest = text.slice(index);
  const quote = rest[0];
  if (quote === '"' || quote === "'") {
    const end = rest.indexOf(quote, 1);
    return end > 0 ? end + 1 : 1;
  }
  const word = /^[^\s,{}[\]]+/.exec(rest)?.[0] ?? '';
  const trimmed = word.endsWith(':') ? word.slice(0, -1) : word;
  return Math.max(1, trimmed.length);
}
