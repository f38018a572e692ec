/**
 * @module
 * The rules stage: load a rules file (YAML with positions) → validate (JSON Schema) → lint → compile into an
 * O(1) lookup table → decide / explain. Pure: the only I/O is `loadRulesFile`, in its own module.
 */
export { byPosition, formatDiagnostic, RulesError, type Diagnostic } from './diagnostic.ts';
export { loadRules, loadRulesModel, MAX_RULES, programOfModel, type LoadResult, type ModelLoadResult } from './load.ts';
export { DEFAULT_MAX_RULES_FILE_BYTES, loadRulesFile, readRulesText, type RulesText } from './load-file.ts';
export type { RulesModel } from './model.ts';
export { UNMATCHED, type Decision, type Explanation, type RuleConsidered, type RulesProgram } from './compile.ts';
export type { CustomPresence, ReasonCase, RulesTest, TestExpectation, TestStep } from './model.ts';
export { dryRun, DryRunInputError, parseDryRunInput, type DryRunEvent, type DryRunResult } from './dry-run.ts';
export { formatTestFailure, runRulesTests, type RulesTestOutcome, type RulesTestReport, type TestMismatch } from './run-tests.ts';
export { formatExplanation } from './explain.ts';
export type { Facet } from './naive.ts';
export { previewImpact, type ImpactPreview, type ImpactSample, type ImpactTransition, type LiveAgent } from './impact.ts';
export { vetRules, type VetResult } from './vet.ts';
export { packedBuffers, packProgram, unpackProgram, type PackedProgram } from './packed.ts';
