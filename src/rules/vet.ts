/**
 * Vetting a rules file before it goes live: load it (parse, validate, compile, lint) and, unless told not to,
 * run its own `tests:`. Pure and plain-data in and out, so it runs on a worker thread; the accepted program comes
 * back packed (its decision table as typed arrays), for the serving thread to adopt without compiling it again
 * (`unpackProgram`).
 */
import type { Diagnostic } from './diagnostic.ts';
import { loadRulesModel } from './load.ts';
import { packProgram, type PackedProgram } from './packed.ts';
import { runRulesTests } from './run-tests.ts';

export type VetResult =
  | { readonly ok: true; readonly packed: PackedProgram; readonly warnings: readonly Diagnostic[]; readonly tests: { readonly passed: number; readonly failed: number } }
  | {
      readonly ok: false;
      /** `errors`: the file does not load; `tests`: it loads but its own tests fail. */
      readonly reason: 'errors' | 'tests';
      readonly errors: readonly Diagnostic[];
    };

/** Loads `text` and runs its tests (with `runTests`); a failing test is reported as an error at the test. */
export function vetRules(text: string, file: string, runTests: boolean): VetResult {
  const loaded = loadRulesModel(text, file);
  if (loaded.program === null || loaded.model === null || loaded.compiled === null) return { ok: false, reason: 'errors', errors: loaded.errors };
  if (!runTests) return { ok: true, packed: packProgram(loaded.model, loaded.compiled), warnings: loaded.warnings, tests: { passed: 0, failed: 0 } };
  const report = runRulesTests(loaded.program);
  if (report.failed > 0) {
    const errors: Diagnostic[] = report.outcomes
      .filter((outcome) => !outcome.passed)
      .map((outcome) => {
        const step = outcome.failedStep === undefined ? undefined : outcome.test.steps[outcome.failedStep];
        const mismatch = outcome.mismatches.map((m) => `${m.key}: expected ${m.expected}, actual ${m.actual}`).join('; ');
        return { severity: 'error', file, line: step?.line ?? outcome.test.line, column: 1, message: `test '${outcome.test.name}' fails: ${mismatch}` };
      });
    return { ok: false, reason: 'tests', errors };
  }
  return { ok: true, packed: packProgram(loaded.model, loaded.compiled), warnings: loaded.warnings, tests: { passed: report.passed, failed: 0 } };
}
