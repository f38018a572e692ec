/**
 * The rules file as YAML with positions: parses with `yaml`'s `parseDocument` + `LineCounter` so every later
 * finding (schema, lint) can point at the node it is about. Duplicate keys are reported by `uniqueKeys`;
 * alias bombs are stopped by `maxAliasCount`.
 */
import { Alias, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type { Diagnostic } from './diagnostic.ts';

/** Aliases beyond this many expansions are refused: a legitimate rules file needs few, a "billion laughs" needs many. */
export const MAX_ALIAS_COUNT = 100;

/** A JSON path into the document: map keys and sequence indexes. */
export type PathSegment = string | number;

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
  const lineCounter = new LineCounter();
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true, logLevel: 'error' });
  } catch (error) {
    return { source: null, errors: [diagnostic(file, 1, 1, `cannot parse YAML: ${messageOf(error)}`)] };
  }
  const position = (offset: number): { line: number; column: number } => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const parseErrors = doc.errors.map((error) => {
    const { line, column } = position(error.pos[0]);
    const message =
      error.code === 'DUPLICATE_KEY'
        ? duplicateKeyMessage(text, error.pos[0])
        : error.code === 'MULTIPLE_DOCS'
          ? 'the rules file must be a single YAML document (found another --- document here)'
          : `YAML syntax error: ${firstLine(error.message)}`;
    return diagnostic(file, line, column, message);
  });
  // A duplicate key leaves a usable document, so later checks still run and report everything at once.
  if (doc.errors.some((error) => error.code !== 'DUPLICATE_KEY')) return { source: null, errors: parseErrors };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const { line, column } = position(firstAliasOffset(doc));
    const message = /alias/i.test(messageOf(error))
      ? `YAML aliases expand too much (more than ${MAX_ALIAS_COUNT} expansions); refusing the file`
      : `cannot read YAML: ${messageOf(error)}`;
    return { source: null, errors: [diagnostic(file, line, column, message)] };
  }
  const at = (path: readonly PathSegment[], key = false): { line: number; column: number } => {
    const found = locate(doc, path, key);
    return position(found);
  };
  return { source: { file, value, at }, errors: parseErrors };
}

/** Offset of the node at `path` (or its key), or of the deepest existing parent. */
function locate(doc: Document.Parsed, path: readonly PathSegment[], key: boolean): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (let i = 0; i < path.length; i += 1) {
    const segment = path[i]!;
    if (isAlias(node)) node = (node as Alias).resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && keyText(item.key) === String(segment));
      if (pair === undefined) return offset;
      const last = i === path.length - 1;
      if (last && key) return rangeStart(pair.key) ?? offset;
      // An empty value (`key:`) has no useful range of its own: point at the key.
      offset = rangeStart(pair.value) ?? rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) return offset;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else {
      return offset;
    }
  }
  return offset;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  if (node !== null && typeof node === 'object' && 'range' in node) {
    const range = (node as Node).range;
    if (Array.isArray(range)) return range[0];
  }
  return undefined;
}

function firstAliasOffset(doc: Document.Parsed): number {
  let offset = 0;
  visit(doc, {
    Alias(_key, node) {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
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

function diagnostic(file: string, line: number, column: number, message: string): Diagnostic {
  return { severity: 'error', file, line, column, message };
}
