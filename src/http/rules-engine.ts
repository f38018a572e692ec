/**
 * The parts of the rules engine (`src/rules/`) the operator surface uses, in one place, so the HTTP layer names
 * the engine's API once.
 */
export {
  dryRun,
  DryRunInputError,
  formatExplanation,
  loadRules,
  parseDryRunInput,
  previewImpact,
  type Decision,
  type Diagnostic,
  type DryRunEvent,
  type DryRunResult,
  type ImpactPreview,
  type ImpactSample,
  type ImpactTransition,
  type LiveAgent,
  type RulesProgram,
} from '../rules/index.ts';
