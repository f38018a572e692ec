/**
 * ajv errors placed in a YAML file: each error's instance path is walked back to the YAML node (or, for an
 * unknown key, to the key itself). The caller words each error; this module parses paths, skips what repeats
 * and positions what is left.
 */
import type { ErrorObject } from 'ajv';
import type { PathSegment, Position, PositionedYaml } from './positions.ts';

/** What the caller says about one ajv error: where to point, and the message (plus an optional hint). */
export interface AjvFinding {
  /** The instance path, or a longer one (an unknown key's own name appended). */
  readonly path: readonly PathSegment[];
  /** Point at the key naming the value at `path` rather than at the value. */
  readonly key: boolean;
  readonly message: string;
  readonly hint?: string;
}

/** A finding with the line and column `path` resolves to, and a stable code for its kind (`unknown-key`…). */
export type PositionedFinding = AjvFinding & Position & { readonly code: string };

/** ajv keywords → the codes EXAS diagnostics carry (the same in the rules and the config file). */
const CODES: Record<string, string> = {
  additionalProperties: 'unknown-key',
  required: 'missing-key',
  enum: 'unknown-value',
  const: 'wrong-value',
  type: 'wrong-type',
  minItems: 'empty-value',
  minLength: 'empty-value',
  minProperties: 'empty-value',
  minimum: 'out-of-range',
  maximum: 'out-of-range',
  exclusiveMinimum: 'out-of-range',
  exclusiveMaximum: 'out-of-range',
  pattern: 'bad-format',
  format: 'bad-format',
  not: 'not-allowed',
};

/**
 * Positions ajv's errors with the caller's wording. `describe` gets each error with its instance path already
 * split; it returns undefined to drop an error. The same message at the same path is reported once (ajv with
 * `allErrors` repeats itself across `anyOf` branches), and `if` errors are dropped: the failing branch reports
 * the real problem.
 *
 * @example
 * ajvFindings(validate.errors ?? [], yaml, (error, path) => ({ path, key: false, message: error.message ?? 'invalid' }));
 */
export function ajvFindings(
  errors: readonly ErrorObject[],
  yaml: Pick<PositionedYaml, 'at'>,
  describe: (error: ErrorObject, path: PathSegment[]) => AjvFinding | undefined,
): PositionedFinding[] {
  const out: PositionedFinding[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    if (error.keyword === 'if') continue;
    const finding = describe(error, instancePath(error.instancePath));
    if (finding === undefined) continue;
    const id = `${JSON.stringify(finding.path)}|${finding.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ ...finding, code: CODES[error.keyword] ?? 'invalid-value', ...yaml.at(finding.path, finding.key) });
  }
  return out;
}

/** A JSON Pointer (`/rules/2/when`) as path segments, digits as sequence indexes. */
function instancePath(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}
