/**
 * YAML syntax errors said the way a person fixes them. `yaml` reports one slip as a cascade (an unclosed `{`
 * gave seven errors down the rest of the file) and places a bad indentation at column 1 or at the value on the
 * line above. Here the cascade is cut to its first error, an unclosed `{`/`[` points at the bracket that opened
 * it, and a bad indentation points at the line that is out of line.
 */

/** A syntax error as `yaml` reports it: code, offset, 1-based line and column, message. */
export interface SyntaxProblem {
  readonly code: string;
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/**
 * The first syntax error, re-placed and reworded where the cause is recognisable; every later one is dropped
 * (after the first slip the parser is out of step with the file, so the rest are echoes). Duplicate keys are
 * not syntax errors and pass through untouched.
 *
 * @example
 * collapseSyntaxErrors('a: { b: 1\nc: 2\n', errors); // → [{ line: 1, column: 4, message: "unclosed '{' …" }]
 */
export function collapseSyntaxErrors<T extends SyntaxProblem>(text: string, errors: readonly T[]): T[] {
  const syntax = errors.filter((error) => error.code !== 'DUPLICATE_KEY');
  const first = syntax.reduce<T | undefined>((best, error) => (best === undefined || error.offset < best.offset ? error : best), undefined);
  const rest = errors.filter((error) => error.code === 'DUPLICATE_KEY');
  if (first === undefined) return rest;
  return [explain(text, first), ...rest].sort((a, b) => a.offset - b.offset);
}

function explain<T extends SyntaxProblem>(text: string, error: T): T {
  const lines = text.split('\n');
  if (/must be sufficiently indented and end with a [}\]]/.test(error.message) || error.code === 'MISSING_CHAR' && /end with a [}\]]|flow/i.test(error.message)) {
    const open = unclosedBracket(text, error.offset);
    if (open !== undefined) {
      const close = open.char === '{' ? '}' : ']';
      const what = open.char === '{' ? 'flow mapping' : 'flow list';
      return { ...error, ...positionOf(lines, open.offset), offset: open.offset, message: `unclosed '${open.char}': this ${what} needs a matching '${close}'` };
    }
  }
  if (['BAD_INDENT', 'MISSING_CHAR', 'BLOCK_AS_IMPLICIT_KEY', 'MULTILINE_IMPLICIT_KEY', 'UNEXPECTED_TOKEN'].includes(error.code)) {
    const bad = misindentedLine(lines, error.line);
    if (bad !== undefined) return { ...error, ...bad, offset: offsetOf(lines, bad.line, bad.column) };
  }
  // A problem placed at column 1 of an indented line is about the line's content: point at it.
  const line = lines[error.line - 1] ?? '';
  if (error.column === 1 && /^ +\S/.test(line)) {
    const column = line.length - line.trimStart().length + 1;
    return { ...error, column, offset: offsetOf(lines, error.line, column) };
  }
  return error;
}

/** The innermost `{` or `[` still open at `offset`, skipping quoted text and comments. */
function unclosedBracket(text: string, offset: number): { char: '{' | '['; offset: number } | undefined {
  const stack: Array<{ char: '{' | '['; offset: number }> = [];
  let quote: '"' | "'" | null = null;
  for (let index = 0; index < Math.min(offset + 1, text.length); index += 1) {
    const char = text[index]!;
    if (quote !== null) {
      if (char === '\\' && quote === '"') index += 1;
      else if (char === quote) quote = null;
      continue;
    }
    if ((char === '"' || char === "'") && /[\s{[,:]/.test(text[index - 1] ?? ' ')) quote = char;
    else if (char === '#' && /\s/.test(text[index - 1] ?? ' ')) while (index < text.length && text[index + 1] !== '\n') index += 1;
    else if (char === '{' || char === '[') stack.push({ char, offset: index });
    else if ((char === '}' || char === ']') && stack.length > 0) {
      // A closer of the wrong kind closes nothing: the innermost opener is the one left unclosed.
      if ((char === '}') === (stack[stack.length - 1]!.char === '{')) stack.pop();
      else break;
    }
  }
  return stack[stack.length - 1];
}

/**
 * The line near `errorLine` whose indentation matches neither the key above it nor a nesting under it: a key
 * of one mapping indented one space more or less than its siblings.
 */
function misindentedLine(lines: readonly string[], errorLine: number): { line: number; column: number; message: string } | undefined {
  const candidates = [errorLine, nextContentLine(lines, errorLine)].filter((line): line is number => line !== undefined);
  for (const line of candidates) {
    const above = previousContentLine(lines, line);
    if (above === undefined) continue;
    const text = lines[line - 1]!;
    const aboveText = lines[above - 1]!;
    // A line ending in `:` (or `- `) opens a nested block: deeper indentation is expected there.
    if (/:\s*(#.*)?$/.test(aboveText) || /^\s*-\s*$/.test(aboveText)) continue;
    const indent = indentOf(text);
    const aboveKeyColumn = indentOf(aboveText) + (/^\s*- /.test(aboveText) ? aboveText.trimStart().match(/^-\s+/)![0].length : 0);
    if (indent === aboveKeyColumn || /^\s*-( |$)/.test(text) && indent === indentOf(aboveText)) continue;
    if (indent > aboveKeyColumn || indent % 2 !== aboveKeyColumn % 2) {
      const key = keyOf(text);
      const aboveKey = keyOf(aboveText.replace(/^(\s*)- /, '$1  '));
      const subject = key === undefined ? 'this line' : `'${key}'`;
      const sibling = aboveKey === undefined ? 'the line above' : `'${aboveKey}' above it`;
      return {
        line,
        column: indent + 1,
        message: `bad indentation: ${subject} starts at column ${indent + 1}, ${sibling} at column ${aboveKeyColumn + 1}; keys of one mapping must line up`,
      };
    }
  }
  return undefined;
}

function keyOf(line: string): string | undefined {
  return /^\s*([^\s:#][^:#]*?)\s*:(\s|$)/.exec(line)?.[1];
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

function isContent(line: string | undefined): boolean {
  return line !== undefined && line.trim() !== '' && !line.trimStart().startsWith('#');
}

function previousContentLine(lines: readonly string[], line: number): number | undefined {
  for (let index = line - 1; index >= 1; index -= 1) if (isContent(lines[index - 1])) return index;
  return undefined;
}

function nextContentLine(lines: readonly string[], line: number): number | undefined {
  for (let index = line + 1; index <= lines.length; index += 1) if (isContent(lines[index - 1])) return index;
  return undefined;
}

function positionOf(lines: readonly string[], offset: number): { line: number; column: number } {
  let rest = offset;
  for (let index = 0; index < lines.length; index += 1) {
    const length = lines[index]!.length + 1;
    if (rest < length) return { line: index + 1, column: rest + 1 };
    rest -= length;
  }
  return { line: lines.length, column: 1 };
}

function offsetOf(lines: readonly string[], line: number, column: number): number {
  let offset = 0;
  for (let index = 0; index < line - 1 && index < lines.length; index += 1) offset += lines[index]!.length + 1;
  return offset + column - 1;
}
