/**
 * YAML with positions and ajv errors mapped to `FILE:LINE:COLUMN`, for any schema-validated YAML file.
 *
 * The rules engine (src/rules/) has its own loader for the rules file; this is a small generic copy for the
 * config file so that both report errors the same way (see the connector report for the duplication).
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type { ErrorObject } from 'ajv';

/** One problem in a YAML file, positioned at the offending key or value. */
export interface YamlDiagnostic {
  readonly severity: 'error' | 'warning';
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  /** Dotted path of the offending key (`writer.batchSize`), empty for the document. */
  readonly key: string;
  readonly message: string;
  readonly hint?: string;
}

export interface PositionedYaml {
  /** The plain JavaScript value (undefined for an empty document). */
  readonly value: unknown;
  /** Syntax errors and duplicate keys. */
  readonly diagnostics: YamlDiagnostic[];
  /** Line and column of the node at `path`; with `keyOf`, of the key naming it. Falls back to the nearest parent. */
  locate(path: ReadonlyArray<string | number>, keyOf?: boolean): { line: number; column: number };
}

/** Aliases beyond this many expansions are refused: a config needs few, a "billion laughs" needs many. */
export const MAX_ALIAS_COUNT = 100;

/** Parses YAML keeping node positions; duplicate keys are errors (yaml's `uniqueKeys`). */
export function parseYamlWithPositions(text: string, file: string): PositionedYaml {
  const lineCounter = new LineCounter();
  // logLevel 'error': yaml's warnings (e.g. collection keys) are not printed to stderr behind the caller's back.
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, keepSourceTokens: false, logLevel: 'error' });
  const position = (offset: number): { line: number; column: number } => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const diagnostics: YamlDiagnostic[] = [];
  for (const error of document.errors) {
    const at = position(error.pos[0]);
    const duplicate = error.code === 'DUPLICATE_KEY';
    diagnostics.push({
      severity: 'error',
      file,
      ...at,
      key: '',
      message: duplicate ? 'duplicate key' : firstLine(error.message),
      hint: duplicate ? 'each key may appear once in a mapping; remove or merge the repeated key' : 'fix the YAML syntax',
    });
  }
  for (const warning of document.warnings) {
    diagnostics.push({ severity: 'warning', file, ...position(warning.pos[0]), key: '', message: firstLine(warning.message) });
  }
  let value: unknown = undefined;
  if (document.errors.length === 0) {
    try {
      value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      // toJS throws on an alias bomb ("billion laughs") and on an alias whose anchor is not defined before it.
      diagnostics.push(aliasDiagnostic(file, position(firstAliasOffset(document)), error));
    }
  }

  const locate = (path: ReadonlyArray<string | number>, keyOf = false): { line: number; column: number } => {
    let node: unknown = document.contents;
    let keyNode: unknown = undefined;
    let best: { line: number; column: number } = { line: 1, column: 1 };
    const remember = (candidate: unknown): void => {
      const range = (candidate as Node | undefined)?.range;
      if (range !== undefined && range !== null) best = position(range[0]);
    };
    remember(node);
    for (const segment of path) {
      keyNode = undefined;
      if (isMap(node)) {
        const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment));
        if (pair === undefined) return best;
        keyNode = pair.key;
        node = pair.value;
      } else if (isSeq(node)) {
        const index = typeof segment === 'number' ? segment : Number(segment);
        node = node.items[index];
        if (node === undefined) return best;
      } else {
        return best;
      }
      remember(keyOf && keyNode !== undefined ? keyNode : (node ?? keyNode));
      if (node === null || node === undefined) remember(keyNode);
    }
    if (keyOf && keyNode !== undefined) remember(keyNode);
    return best;
  };
  return { value, diagnostics, locate };
}

/** Turns ajv errors into positioned diagnostics with a hint (unknown keys, wrong types, enums, ranges). */
export function ajvDiagnostics(errors: readonly ErrorObject[], yaml: PositionedYaml, file: string): YamlDiagnostic[] {
  const out: YamlDiagnostic[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    // anyOf/oneOf/not wrappers repeat what the inner errors say; the inner ones carry the useful message.
    if (error.keyword === 'if') continue;
    const path = splitPointer(error.instancePath);
    let key = path.join('.');
    let message: string;
    let hint: string | undefined;
    let keyOf = false;
    const params = error.params as Record<string, unknown>;
    switch (error.keyword) {
      case 'additionalProperties': {
        const extra = String(params['additionalProperty']);
        path.push(extra);
        key = path.join('.');
        keyOf = true;
        message = `unknown key '${extra}'`;
        hint = 'remove it or check its spelling against docs/config.md';
        break;
      }
      case 'required':
        message = `missing required key '${String(params['missingProperty'])}'`;
        break;
      case 'enum':
        message = `must be one of: ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
        break;
      case 'type':
        message = `must be ${String(params['type'])}`;
        break;
      case 'not':
        message = 'this value is not allowed here';
        hint = key.endsWith('keepFallback') ? 'keep must never resolve to Available; use Busy or another presence' : undefined;
        break;
      default:
        message = error.message ?? error.keyword;
    }
    const id = `${key}|${message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ severity: 'error', file, ...yaml.locate(path, keyOf), key, message, ...(hint === undefined ? {} : { hint }) });
  }
  return out;
}

/** `file:line:column: error: message (key) hint`, the format every EXAS YAML error uses. */
export function formatYamlDiagnostic(diagnostic: YamlDiagnostic): string {
  const where = `${diagnostic.file}:${diagnostic.line}:${diagnostic.column}`;
  const key = diagnostic.key === '' ? '' : ` [${diagnostic.key}]`;
  const hint = diagnostic.hint === undefined ? '' : `\n  hint: ${diagnostic.hint}`;
  return `${where}: ${diagnostic.severity}: ${diagnostic.message}${key}${hint}`;
}

function splitPointer(pointer: string): Array<string | number> {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

function aliasDiagnostic(file: string, at: { line: number; column: number }, error: unknown): YamlDiagnostic {
  const message = error instanceof Error ? error.message : String(error);
  const bomb = /excessive alias/i.test(message);
  return {
    severity: 'error',
    file,
    ...at,
    key: '',
    message: bomb ? `YAML aliases expand too much (more than ${MAX_ALIAS_COUNT} expansions); refusing the file` : firstLine(message),
    hint: bomb ? 'write the values out instead of nesting aliases' : 'define each &anchor before the *alias that uses it',
  };
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

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
