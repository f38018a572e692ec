/**
 * YAML parsed with positions: `yaml`'s `parseDocument` + `LineCounter`, duplicate keys as errors
 * (yaml's `DUPLICATE_KEY`, found in linear time), aliases expanded under a limit, and a lookup from a JSON path back to the node's line and
 * column. Callers word the problems their own way; this module only finds and places them.
 */
import { collapseSyntaxErrors } from './syntax.ts';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type ErrorCode, type Node, type Pair, type YAMLMap } from 'yaml';

/** Aliases beyond this many expansions are refused: a hand-written file needs few, a "billion laughs" needs many. */
export const MAX_ALIAS_COUNT = 100;

/** A JSON path into the document: map keys and sequence indexes. */
export type PathSegment = string | number;

/** A 1-based line and column. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/** One error or warning `yaml` reported, placed where it starts. `message` is yaml's own text (deep nesting reworded). */
export interface YamlProblem extends Position {
  /** yaml's code, or `PROTOTYPE_KEY` for a `__proto__`, `constructor` or `prototype` key (refused everywhere). */
  readonly code: ErrorCode | 'PROTOTYPE_KEY';
  readonly offset: number;
  readonly message: string;
}

/** Expanding aliases failed: an alias bomb (over `MAX_ALIAS_COUNT`) or an alias used before its anchor. */
export interface AliasProblem extends Position {
  /** The error `toJS` threw, as text. */
  readonly message: string;
}

/** A parsed YAML document: its plain value, what went wrong, and positions by path. */
export interface PositionedYaml {
  /**
   * The plain JavaScript value. Undefined when there are errors other than duplicate keys (a duplicate key leaves
   * a usable document, so later checks can still report everything at once), when aliases could not be expanded,
   * or when the document is empty.
   */
  readonly value: unknown;
  /** Syntax errors, duplicate keys (`DUPLICATE_KEY`), a second document (`MULTIPLE_DOCS`)… */
  readonly errors: readonly YamlProblem[];
  readonly warnings: readonly YamlProblem[];
  /** Set when the value could not be built because of an alias; `value` is then undefined. */
  readonly aliasProblem: AliasProblem | undefined;
  /**
   * Position of the value at `path` (or of its key, when `key` is set), falling back to the nearest parent that
   * exists (to its key, when `key` is set). Paths through an alias continue in the anchored node.
   */
  at(path: readonly PathSegment[], key?: boolean): Position;
}

/**
 * Parses YAML text keeping node positions. Never reports through stderr (yaml's `logLevel: 'error'`).
 *
 * @example
 * const yaml = parseYamlWithPositions('writer:\n  batchSise: 10\n');
 * yaml.at(['writer', 'batchSise'], true); // → { line: 2, column: 3 }
 */
export function parseYamlWithPositions(text: string): PositionedYaml {
  const lineCounter = new LineCounter();
  // Duplicate keys are found by keyProblems() below: yaml's own `uniqueKeys` check compares every key with every
  // earlier key of its mapping, so one mapping of 100 000 keys (a 1 MiB file) took minutes of CPU.
  const document = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false, strict: true, logLevel: 'error' });
  const position = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const problem = (found: { code: ErrorCode | 'PROTOTYPE_KEY'; pos: [number, number]; message: string }): YamlProblem => ({
    code: found.code,
    offset: found.pos[0],
    // yaml reports a stack overflow on deep nesting in the engine's words; say what the file has to change.
    message: found.code === 'RESOURCE_EXHAUSTION' && /call stack/i.test(found.message) ? 'nested too deeply to read (flatten the lists and mappings here)' : found.message,
    ...position(found.pos[0]),
  });
  // One slip is one error: the cascade after it is cut and the first is placed where the fix goes (syntax.ts).
  const errors = collapseSyntaxErrors(text, [...document.errors.map(problem), ...keyProblems(document).map(problem)]);
  const warnings = document.warnings.map(problem);
  let value: unknown = undefined;
  let aliasProblem: AliasProblem | undefined = undefined;
  if (errors.every((error) => error.code === 'DUPLICATE_KEY')) {
    try {
      value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      // toJS throws on an alias bomb ("billion laughs") and on an alias whose anchor is not defined before it.
      aliasProblem = { message: error instanceof Error ? error.message : String(error), ...position(firstAliasOffset(document)) };
    }
  }
  const at = (path: readonly PathSegment[], key = false): Position => position(locate(document, path, key));
  return { value, errors, warnings, aliasProblem, at };
}

/** Offset of the node at `path` (or its key), or of the deepest existing parent (or its key). */
function locate(document: Document.Parsed, path: readonly PathSegment[], key: boolean): number {
  let node: unknown = document.contents;
  let offset = rangeStart(node) ?? 0;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(document);
    if (isMap(node)) {
      const pair = pairByKey(node, segment);
      if (pair === undefined) return offset;
      // In key mode every step takes the key, so a key missing from the file falls back to its parent's key.
      // An empty value (`key:`) has no useful range of its own: point at the key.
      offset = (key ? rangeStart(pair.key) : undefined) ?? rangeStart(pair.value) ?? rangeStart(pair.key) ?? offset;
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

/** Keys that could reach an object's prototype chain when a mapping becomes a JavaScript object. */
export const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Keys that repeat within one mapping, as yaml's `uniqueKeys` reports them (same scalar value, first occurrence
 * wins), found in one pass per mapping; and prototype-bearing keys, which no EXAS file has a use for.
 */
function keyProblems(document: Document.Parsed): Array<{ code: ErrorCode | 'PROTOTYPE_KEY'; pos: [number, number]; message: string }> {
  const found: Array<{ code: ErrorCode | 'PROTOTYPE_KEY'; pos: [number, number]; message: string }> = [];
  visit(document, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const value = pair.key.value;
        if (typeof value === 'string' && PROTOTYPE_KEYS.has(value)) {
          const start = pair.key.range?.[0] ?? 0;
          found.push({ code: 'PROTOTYPE_KEY', pos: [start, start + 1], message: `the key '${value}' is not allowed (it could change an object's prototype)` });
          continue;
        }
        // yaml compares scalar keys with ===: a Set does the same (except NaN, which === never matches).
        if (typeof value === 'number' && Number.isNaN(value)) continue;
        if (seen.has(value)) {
          const start = pair.key.range?.[0] ?? 0;
          found.push({ code: 'DUPLICATE_KEY', pos: [start, start + 1], message: 'Map keys must be unique' });
        } else seen.add(value);
      }
    },
  });
  return found;
}

/** Index of each mapping's pairs by key text (first occurrence), built once: one lookup per path step. */
const pairIndexes = new WeakMap<object, Map<string, Pair>>();

function pairByKey(map: YAMLMap, segment: PathSegment): Pair | undefined {
  let index = pairIndexes.get(map);
  if (index === undefined) {
    index = new Map();
    for (const item of map.items) {
      if (isPair(item) && isScalar(item.key) && !index.has(String(item.key.value))) index.set(String(item.key.value), item);
    }
    pairIndexes.set(map, index);
  }
  return index.get(String(segment));
}

function rangeStart(node: unknown): number | undefined {
  if (node !== null && typeof node === 'object' && 'range' in node) {
    const range = (node as Node).range;
    if (Array.isArray(range)) return range[0];
  }
  return undefined;
}

function firstAliasOffset(document: Document.Parsed): number {
  let offset = 0;
  visit(document, {
    Alias(_key, node) {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}
