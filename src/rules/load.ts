/**
 * `loadRules`: YAML text → parsed with positions → schema-validated → typed model → compiled → linted. Pure and
 * total: every problem comes back as a positioned Diagnostic, never as an exception.
 */
import { byPosition, type Diagnostic } from './diagnostic.ts';
import { compile, type Compiled, type RulesProgram } from './compile.ts';
import { lint } from './lint.ts';
import { buildModel, emptyRuleSetError, presenceErrors, testExpectationErrors, type Matcher, type RulesModel } from './model.ts';
import { parseRulesSource } from './source.ts';
import { validateShape } from './validate.ts';

/** A load's outcome: a program when there are no errors; warnings either way. */
export interface LoadResult {
  program: RulesProgram | null;
  /**
   * The compiled program even when the linter found errors (a rule that can never match), so `exas test` still
   * runs the tests and every finding shows in one pass. Never used to sync. Absent when the file did not compile.
   */
  testable?: RulesProgram;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

/** A load's outcome with the typed model (plain data: a worker thread can hand it back to be compiled). */
export interface ModelLoadResult extends LoadResult {
  model: RulesModel | null;
  /** The compiled program with its table as plain data (see `packProgram`), for a good file. */
  compiled: Compiled | null;
}

/** Most rules a file (or a candidate posted to /dry-run) may hold; real files hold tens. */
export const MAX_RULES = 10_000;

/**
 * Loads rules from YAML text; `file` names it in diagnostics and rule references. Never throws.
 * @example
 * const { program, errors } = loadRules(text, 'exas.rules.yaml');
 * if (program) program.decide('NotReady', 'None', 'Break'); // → { presence: 'Break', routingStatus: 'OffQueue', … }
 */
export function loadRules(text: string, file: string): LoadResult {
  const { program, testable, errors, warnings } = loadRulesModel(text, file);
  return { program, ...(testable === undefined ? {} : { testable }), errors, warnings };
}

/** `loadRules`, also returning the model of a good file (what a worker thread sends back to be compiled). */
export function loadRulesModel(text: string, file: string): ModelLoadResult {
  try {
    return loadUnsafe(text, file);
  } catch (error) {
    // Every known problem is a diagnostic; this only keeps a bug in the loader from becoming a stack trace.
    const message = error instanceof Error ? error.message : String(error);
    return { program: null, model: null, compiled: null, errors: [{ severity: 'error', code: 'internal-error', file, line: 1, column: 1, message: `internal error while loading rules: ${message}` }], warnings: [] };
  }
}

/**
 * The program of a model a full `loadRulesModel` already accepted (in a worker thread): only the compile step,
 * no YAML parsing, schema validation or linting, so the live thread spends milliseconds, not seconds.
 */
export function programOfModel(model: RulesModel, text: string): RulesProgram {
  return compile(model, text).program;
}

function loadUnsafe(text: string, file: string): ModelLoadResult {
  const failed = (errors: Diagnostic[]): ModelLoadResult => ({ program: null, model: null, compiled: null, errors, warnings: [] });
  const parsed = parseRulesSource(text, file);
  if (parsed.source === null) return failed(parsed.errors);
  const source = parsed.source;
  if (source.value === null || source.value === undefined) {
    return failed([{ severity: 'error', code: 'empty-file', file, line: 1, column: 1, message: 'the rules file is empty: expected a mapping with a rules: list' }]);
  }
  const shapeErrors = validateShape(source);
  if (shapeErrors.length > 0) {
    // Every finding in one pass: the tolerant checks (presences, test expectations, an empty rule set) run on a
    // file that failed the schema too, skipping a place the schema already reported.
    const placed = new Set(shapeErrors.map((d) => `${d.line}:${d.column}`));
    const more = [...presenceErrors(source), ...testExpectationErrors(source), ...emptyRuleSetError(source)].filter((d) => !placed.has(`${d.line}:${d.column}`));
    return failed([...parsed.errors, ...shapeErrors, ...more].sort(byPosition));
  }
  const { model, errors: modelErrors } = buildModel(source);
  if (modelErrors.length > 0) return failed([...parsed.errors, ...modelErrors, ...emptyRuleSetError(source)].sort(byPosition));
  if (model.rules.length > MAX_RULES) {
    const { line, column } = source.at(['rules'], true);
    const tooMany: Diagnostic = { severity: 'error', code: 'too-large', file, line, column, message: `the rules file has ${model.rules.length} rules; at most ${MAX_RULES} are accepted` };
    return failed([...parsed.errors, tooMany].sort(byPosition));
  }
  const work = compileWork(model);
  if (work > MAX_COMPILE_WORK) {
    const { line, column } = source.at(['rules'], true);
    const message = `the rules file is too large to compile (${model.rules.length} rules × reason names would take ${work} table steps; at most ${MAX_COMPILE_WORK}): use fewer rules that match 'any' or 'not' reasons, or fewer distinct reasons`;
    const tooLarge: Diagnostic = { severity: 'error', code: 'too-large', file, line, column, message };
    return failed([...parsed.errors, tooLarge].sort(byPosition));
  }
  const compiled = compile(model, text);
  const linted = lint(model, compiled, source);
  const errors = [...parsed.errors, ...linted.errors].sort(byPosition);
  const ok = errors.length === 0;
  return { program: ok ? compiled.program : null, testable: compiled.program, model: ok ? model : null, compiled: ok ? compiled : null, errors, warnings: linted.warnings.sort(byPosition) };
}

/**
 * Most table steps the compiler may take (about a second of CPU). Every rule visits each cell it covers, and a
 * rule matching 'any' or 'not' reasons covers one cell per distinct reason name: a crafted file (or a candidate
 * posted to /dry-run) of thousands of such rules would otherwise hold the event loop for minutes. Real files
 * take thousands of steps.
 */
export const MAX_COMPILE_WORK = 30_000_000;

/** The compiler's table steps for `model`, counted without building the table. */
function compileWork(model: RulesModel): number {
  const reasonNames = new Set<string>();
  for (const rule of model.rules) if (rule.reason.kind !== 'any') for (const value of rule.reason.values) if (value !== null) reasonNames.add(value);
  const classes = reasonNames.size + 2;
  const count = <T>(matcher: Matcher<T>, universe: number): number =>
    matcher.kind === 'any' ? universe : matcher.kind === 'in' ? matcher.values.length : Math.max(0, universe - matcher.values.length);
  let work = 24 * classes;
  for (const rule of model.rules) work += count(rule.state, 4) * count(rule.callType, 6) * (rule.reason.kind === 'in' ? rule.reason.values.length : classes);
  return work;
}
