/**
 * The config file's wording for what src/yaml/ finds (syntax, duplicate keys, alias limits, ajv errors), as
 * `FILE:LINE:COLUMN` diagnostics with the offending key and a hint.
 */
import type { ErrorObject } from 'ajv';
import { ajvFindings, MAX_ALIAS_COUNT, type AjvFinding, type PathSegment, type PositionedYaml } from '../yaml/index.ts';
import { closest, didYouMean } from '../rules/did-you-mean.ts';

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
  /** A stable name for the kind of problem (`unknown-key`, `wrong-type`…), as in the rules file's diagnostics. */
  readonly code?: string;
  readonly message: string;
  readonly hint?: string;
}

/** Syntax errors, duplicate keys, yaml's warnings and an alias the config cannot expand. */
export function parseDiagnostics(yaml: PositionedYaml, file: string): YamlDiagnostic[] {
  const diagnostics: YamlDiagnostic[] = [];
  for (const error of yaml.errors) {
    const duplicate = error.code === 'DUPLICATE_KEY';
    const prototypeKey = error.code === 'PROTOTYPE_KEY';
    diagnostics.push({
      severity: 'error',
      file,
      line: error.line,
      column: error.column,
      key: '',
      message: duplicate ? 'duplicate key' : firstLine(error.message),
      hint: duplicate ? 'each key may appear once in a mapping; remove or merge the repeated key' : prototypeKey ? 'remove the key: no EXAS setting has this name' : 'fix the YAML syntax',
    });
  }
  for (const warning of yaml.warnings) {
    diagnostics.push({ severity: 'warning', file, line: warning.line, column: warning.column, key: '', message: firstLine(warning.message) });
  }
  // Any other error already refuses the file; the alias is reported only when it is the one problem.
  if (yaml.errors.length === 0 && yaml.aliasProblem !== undefined) {
    const { line, column, message } = yaml.aliasProblem;
    const bomb = /excessive alias/i.test(message);
    diagnostics.push({
      severity: 'error',
      file,
      line,
      column,
      key: '',
      message: bomb ? `YAML aliases expand too much (more than ${MAX_ALIAS_COUNT} expansions); refusing the file` : firstLine(message),
      hint: bomb ? 'write the values out instead of nesting aliases' : 'define each &anchor before the *alias that uses it',
    });
  }
  return diagnostics;
}

/**
 * Turns ajv errors (compiled with `verbose`, so each carries the value seen and its schema) into positioned
 * diagnostics worded for a person: the key, the value seen, what is expected, and a did-you-mean for a
 * misspelled key or enum value. Sorted by position, so they read top to bottom like the file.
 */
export function ajvDiagnostics(errors: readonly ErrorObject[], yaml: PositionedYaml, file: string): YamlDiagnostic[] {
  return ajvFindings(errors, yaml, describe)
    .map(({ path, line, column, message, hint, code }) => ({
      severity: 'error' as const,
      file,
      line,
      column,
      key: path.join('.'),
      code,
      message,
      ...(hint === undefined ? {} : { hint }),
    }))
    .sort((a, b) => a.line - b.line || a.column - b.column);
}

/** What the patterns of schemas/config.schema.json stand for, in words. */
const PATTERNS: Record<string, string> = {
  '^(https?|wss?)://': 'a URL starting with http://, https://, ws:// or wss://',
  '^https?://': 'a URL starting with http:// or https://',
  '^[A-Za-z_][A-Za-z0-9_]*$': 'an environment variable name (letters, digits and _, not starting with a digit)',
  '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9_.-]+):[0-9]{1,5}$': 'host:port, e.g. 127.0.0.1:9464 or [::1]:9464',
};

function describe(error: ErrorObject, path: PathSegment[]): AjvFinding {
  const params = error.params as Record<string, unknown>;
  const where = path.length === 0 ? 'the config' : label(path);
  const seen = shown(error.data);
  switch (error.keyword) {
    case 'additionalProperties': {
      const extra = String(params['additionalProperty']);
      const allowed = Object.keys((error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
      const suggestion = closest(extra, allowed);
      return {
        path: [...path, extra],
        key: true,
        message: `unknown key '${extra}'${suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`}${path.length === 0 ? '' : ` in ${where}`}`,
        hint: allowed.length > 0 ? `allowed keys${path.length === 0 ? '' : ` in ${where}`}: ${allowed.join(', ')}` : 'remove it or check its spelling against docs/config.md',
      };
    }
    case 'required':
      return { path, key: false, message: `${where} is missing required key '${String(params['missingProperty'])}'` };
    case 'enum': {
      const allowed = (params['allowedValues'] as unknown[]).map(String);
      const hint = typeof error.data === 'string' ? didYouMean(error.data, allowed) : '';
      return { path, key: false, message: `unknown value ${seen} for ${where}${hint}; expected one of ${allowed.join(', ')}` };
    }
    case 'type':
      return { path, key: false, message: `${where} must be ${typeWords(String(params['type']))}, not ${seen}` };
    case 'minimum':
      return { path, key: false, message: `${where} must be at least ${String(params['limit'])}, not ${seen}` };
    case 'maximum':
      // The one maximum that is not EXAS's choice: GC refuses bigger inject batches with a 400.
      if (path.join('.') === 'writer.batchSize') {
        return {
          path,
          key: false,
          message: `${where} must be at most ${String(params['limit'])}, not ${seen}: GC accepts at most 100 events per inject request ("A maximum of 100 events are allowed per request", BatchUserPresenceEventRequest / BatchUserRoutingStatusEventRequest in the official SDKs); a bigger batch gets a 400`,
          hint: 'use 100 (the default) or less',
        };
      }
      return { path, key: false, message: `${where} must be at most ${String(params['limit'])}, not ${seen}` };
    case 'exclusiveMinimum':
      return { path, key: false, message: `${where} must be more than ${String(params['limit'])}, not ${seen}` };
    case 'exclusiveMaximum':
      return { path, key: false, message: `${where} must be less than ${String(params['limit'])}, not ${seen}` };
    case 'minLength':
      return { path, key: false, message: `${where} must not be empty` };
    case 'minItems':
      return { path, key: false, message: `${where} needs at least ${String(params['limit'])} ${Number(params['limit']) === 1 ? 'entry' : 'entries'}` };
    case 'uniqueItems':
      return { path, key: false, message: `${where} lists the same value twice (entries ${String(params['j'])} and ${String(params['i'])})` };
    case 'pattern': {
      const pattern = String(params['pattern']);
      return { path, key: false, message: `${where} must be ${PATTERNS[pattern] ?? `text matching ${pattern}`}, not ${seen}` };
    }
    case 'not':
      return {
        path,
        key: false,
        message: `${seen} is not allowed for ${where}`,
        ...(path.join('.').endsWith('keepFallback') ? { hint: 'keep must never resolve to Available; use Busy or another presence' } : {}),
      };
    default:
      return { path, key: false, message: `${where} ${error.message ?? error.keyword}${error.data === undefined ? '' : `, not ${seen}`}` };
  }
}

/** `statServer.endpoints[0].baseUrl`: the key as a person reads it. */
function label(path: readonly PathSegment[]): string {
  return path.map((segment, index) => (typeof segment === 'number' ? `[${segment}]` : index === 0 ? segment : `.${segment}`)).join('');
}

/** The value as the message shows it: `'ten'`, `7`, `a list`, `a mapping`, `null`. */
function shown(value: unknown): string {
  if (typeof value === 'string') return `'${value.length > 60 ? value.slice(0, 57) + '...' : value}'`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

function typeWords(types: string): string {
  const words: Record<string, string> = { object: 'a mapping', array: 'a list', string: 'text', boolean: 'true or false', number: 'a number', integer: 'a whole number', null: 'null' };
  return types
    .split(',')
    .map((type) => words[type] ?? type)
    .join(' or ');
}

/** `file:line:column: error: message (key) hint`, the format every EXAS YAML error uses. */
export function formatYamlDiagnostic(diagnostic: YamlDiagnostic): string {
  const where = `${diagnostic.file}:${diagnostic.line}:${diagnostic.column}`;
  const key = diagnostic.key === '' ? '' : ` [${diagnostic.key}]`;
  const hint = diagnostic.hint === undefined ? '' : `\n  hint: ${diagnostic.hint}`;
  return `${where}: ${diagnostic.severity}: ${diagnostic.message}${key}${hint}`;
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
