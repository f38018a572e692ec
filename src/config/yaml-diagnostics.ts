/**
 * The config file's wording for what src/yaml/ finds (syntax, duplicate keys, alias limits, ajv errors), as
 * `FILE:LINE:COLUMN` diagnostics with the offending key and a hint.
 */
import type { ErrorObject } from 'ajv';
import { ajvFindings, MAX_ALIAS_COUNT, type AjvFinding, type PathSegment, type PositionedYaml } from '../yaml/index.ts';

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

/** Turns ajv errors into positioned diagnostics with a hint (unknown keys, wrong types, enums, ranges). */
export function ajvDiagnostics(errors: readonly ErrorObject[], yaml: PositionedYaml, file: string): YamlDiagnostic[] {
  return ajvFindings(errors, yaml, describe).map(({ path, line, column, message, hint }) => ({
    severity: 'error',
    file,
    line,
    column,
    key: path.join('.'),
    message,
    ...(hint === undefined ? {} : { hint }),
  }));
}

function describe(error: ErrorObject, path: PathSegment[]): AjvFinding {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const extra = String(params['additionalProperty']);
      return { path: [...path, extra], key: true, message: `unknown key '${extra}'`, hint: 'remove it or check its spelling against docs/config.md' };
    }
    case 'required':
      return { path, key: false, message: `missing required key '${String(params['missingProperty'])}'` };
    case 'enum':
      return { path, key: false, message: `must be one of: ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'type':
      return { path, key: false, message: `must be ${String(params['type'])}` };
    case 'not':
      return {
        path,
        key: false,
        message: 'this value is not allowed here',
        ...(path.join('.').endsWith('keepFallback') ? { hint: 'keep must never resolve to Available; use Busy or another presence' } : {}),
      };
    default:
      return { path, key: false, message: error.message ?? error.keyword };
  }
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
