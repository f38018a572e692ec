/**
 * Schema validation of a parsed rules file with ajv (schemas/rules.schema.json), turning ajv's errors into
 * positioned diagnostics: the instance path is walked back to the YAML node, unknown keys point at the key,
 * enum slips get a did-you-mean hint.
 */
import { Ajv, type ErrorObject } from 'ajv';
import schema from '../../schemas/rules.schema.json' with { type: 'json' };
import { ajvFindings, type AjvFinding } from '../yaml/index.ts';
import { didYouMean } from './did-you-mean.ts';
import type { Diagnostic } from './diagnostic.ts';
import type { PathSegment, RulesSource } from './source.ts';

// Compiled once per process: compiling the schema costs far more than validating a file.
let compiled: ReturnType<Ajv['compile']> | undefined;

function validator(): ReturnType<Ajv['compile']> {
  if (compiled === undefined) {
    const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
    compiled = ajv.compile(schema);
  }
  return compiled;
}

/** Validates the file against the schema; an empty list means the shape is right. */
export function validateShape(source: RulesSource): Diagnostic[] {
  const validate = validator();
  if (validate(source.value)) return [];
  return ajvFindings(validate.errors ?? [], source, (error, path) => describe(error, path, source.value)).map(({ line, column, message, code }) => ({
    severity: 'error',
    code,
    file: source.file,
    line,
    column,
    message,
  }));
}

function describe(error: ErrorObject, path: PathSegment[], root: unknown): AjvFinding {
  const where = label(path);
  const value = valueAt(root, path);
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String((error.params as { additionalProperty: string }).additionalProperty);
      const allowed = allowedKeys(error);
      return {
        path: [...path, name],
        key: true,
        message: `unknown key '${name}' in ${where}${didYouMean(name, allowed)}${allowed.length > 0 ? `; allowed: ${allowed.join(', ')}` : ''}`,
      };
    }
    case 'required': {
      const name = String((error.params as { missingProperty: string }).missingProperty);
      return { path, key: path.length > 0, message: `${where} is missing required key '${name}'` };
    }
    case 'enum': {
      const allowed = ((error.params as { allowedValues: unknown[] }).allowedValues ?? []).map(String);
      const shown = typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
      const hint = typeof value === 'string' ? didYouMean(value, allowed) : '';
      return { path, key: false, message: `unknown ${kind(path)} ${shown} in ${where}${hint}; expected one of ${allowed.join(', ')}` };
    }
    case 'const':
      return { path, key: false, message: `${where} must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}` };
    case 'type': {
      const expected = String((error.params as { type: unknown }).type).replace(',', ' or ');
      // YAML reads `101` or `yes` as a number or boolean; reason codes and names are strings.
      const quote = expected.includes('string') && (typeof value === 'number' || typeof value === 'boolean') ? ` (quote it: "${String(value)}")` : '';
      return { path, key: false, message: `${where} must be ${article(expected)}, not ${typeName(value)}${quote}` };
    }
    case 'minItems':
      return { path, key: false, message: `${where} must not be an empty list` };
    case 'minLength':
      return { path, key: false, message: `${where} must not be empty` };
    case 'minProperties':
      return { path, key: false, message: `${where} must not be empty` };
    default:
      return { path, key: false, message: `${where} ${error.message ?? 'is invalid'}` };
  }
}

function allowedKeys(error: ErrorObject): string[] {
  const parent = error.parentSchema as { properties?: Record<string, unknown> } | undefined;
  return Object.keys(parent?.properties ?? {});
}

/** What the values at this path name, for messages: "state", "call type", "routing status"… */
function kind(path: readonly PathSegment[]): string {
  const names = path.filter((segment): segment is string => typeof segment === 'string' && segment !== 'not');
  const last = names[names.length - 1];
  switch (last) {
    case 'state':
      return 'state';
    case 'callType':
      return 'call type';
    case 'routingStatus':
      return 'routing status';
    case 'system':
      return 'system presence';
    case 'case':
      return 'reason case mode';
    default:
      return 'value';
  }
}

/** A readable place: `rules[2].when.state`, or `the file` at the root. */
export function label(path: readonly PathSegment[]): string {
  if (path.length === 0) return 'the rules file';
  let out = '';
  for (const segment of path) out += typeof segment === 'number' ? `[${segment}]` : out === '' ? segment : `.${segment}`;
  return out;
}

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let node = root;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[String(segment)];
  }
  return node;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string '${value}'`;
  return `${typeof value} ${String(value)}`;
}

function article(expected: string): string {
  const words: Record<string, string> = { object: 'a mapping', array: 'a list', string: 'a string', null: 'null', boolean: 'true or false', number: 'a number', integer: 'an integer' };
  return expected
    .split(' or ')
    .map((word) => words[word] ?? word)
    .join(' or ');
}
