/**
 * The rules file as YAML with positions (src/yaml/), so every later finding (schema, lint) can point at the node
 * it is about. Here live the rules file's own words for what the YAML parser finds: duplicate keys by name, a
 * second document, alias bombs.
 */
import { MAX_ALIAS_COUNT, parseYamlWithPositions, type PathSegment, type PositionedYaml } from '../yaml/index.ts';
import type { Diagnostic } from './diagnostic.ts';

export type { PathSegment } from '../yaml/index.ts';

/** A parsed rules file: its plain value plus what is needed to map a path back to a line and column. */
export interface RulesSource {
  readonly file: string;
  readonly value: unknown;
  /** Position of the value at `path` (or of its key, when `key` is set), falling back to the nearest parent. */
  at(path: readonly PathSegment[], key?: boolean): { line: number; column: number };
}

/** `errors` may be non-empty with a source (duplicate keys): the caller reports them along with later findings. */
export type ParseResult = { source: RulesSource; errors: Diagnostic[] } | { source: null; errors: Diagnostic[] };

/** Parses YAML text; never throws. YAML syntax errors, duplicate keys and alias bombs come back as diagnostics. */
export function parseRulesSource(text: string, file: string): ParseResult {
  let yaml: PositionedYaml;
  try {
    yaml = parseYamlWithPositions(text);
  } catch (error) {
    return { source: null, errors: [diagnostic(file, 1, 1, 'yaml-syntax', `cannot parse YAML: ${messageOf(error)}`)] };
  }
  const parseErrors = yaml.errors.map((error) => {
    const code = error.code === 'DUPLICATE_KEY' ? 'duplicate-key' : error.code === 'MULTIPLE_DOCS' ? 'multiple-documents' : 'yaml-syntax';
    const message =
      error.code === 'DUPLICATE_KEY'
        ? duplicateKeyMessage(text, error.offset)
        : error.code === 'PROTOTYPE_KEY'
          ? error.message
          : error.code === 'MULTIPLE_DOCS'
          ? 'the rules file must be a single YAML document (found another --- document here)'
          : `YAML syntax error: ${firstLine(error.message)}`;
    return diagnostic(file, error.line, error.column, code, message);
  });
  // A duplicate key leaves a usable document, so later checks still run and report everything at once.
  if (yaml.errors.some((error) => error.code !== 'DUPLICATE_KEY')) return { source: null, errors: parseErrors };
  if (yaml.aliasProblem !== undefined) {
    const { line, column, message } = yaml.aliasProblem;
    const wording = /alias/i.test(message) ? `YAML aliases expand too much (more than ${MAX_ALIAS_COUNT} expansions); refusing the file` : `cannot read YAML: ${message}`;
    return { source: null, errors: [diagnostic(file, line, column, 'alias-limit', wording)] };
  }
  return { source: { file, value: yaml.value, at: yaml.at }, errors: parseErrors };
}

function duplicateKeyMessage(text: string, offset: number): string {
  const match = /^(?:"((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)'|([^:,{}\[\]\n#]+?))\s*:/.exec(text.slice(offset, offset + 200));
  const name = match?.[1] ?? match?.[2] ?? match?.[3];
  return name ? `duplicate key '${name.trim()}'; a key may appear once in a mapping` : 'duplicate key; a key may appear once in a mapping';
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '').trim();
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function diagnostic(file: string, line: number, column: number, code: string, message: string): Diagnostic {
  return { severity: 'error', code, file, line, column, message };
}
