/**
 * `POST /dry-run`: the `exas dry-run` input and output over HTTP, optionally against candidate rules, plus the
 * GC requests the live writer would send and (with `"live": true`) the impact of the candidate on every live
 * agent. Nothing here changes any state.
 */
import { badRequest, details, OperatorHttpError } from './errors.ts';
import {
  dryRun,
  DryRunInputError,
  formatExplanation,
  loadRules,
  parseDryRunInput,
  previewImpact,
  type DryRunEvent,
  type DryRunResult,
  type ImpactPreview,
  type RulesProgram,
} from './rules-engine.ts';
import type { GcRequestPreview, OperatorDeps } from './types.ts';

/** The file name candidate rules are reported under. */
export const CANDIDATE_FILE = 'candidate.rules.yaml';

/** Top-level fields `POST /dry-run` takes beyond the CLI's input. */
const HTTP_ONLY_FIELDS = ['rules', 'live', 'explain'] as const;

export interface DryRunRequest {
  readonly events: DryRunEvent[];
  /** YAML text of candidate rules, when given. */
  readonly rulesText: string | undefined;
  readonly live: boolean;
  /** Attach to each result the text `exas explain` prints for its input. */
  readonly explain: boolean;
}

/** Validates a parsed JSON body. Throws `OperatorHttpError` 400 naming the offending field. */
export function parseDryRunRequest(body: unknown): DryRunRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('the body must be a JSON object: {"events":[…]}', { field: '' });
  }
  const record = body as Record<string, unknown>;
  const rulesText = record['rules'];
  if (rulesText !== undefined && typeof rulesText !== 'string') throw badRequest('"rules" must be the YAML text of a rules file', { field: 'rules' });
  const live = record['live'];
  if (live !== undefined && typeof live !== 'boolean') throw badRequest('"live" must be true or false', { field: 'live' });
  const explain = record['explain'];
  if (explain !== undefined && typeof explain !== 'boolean') throw badRequest('"explain" must be true or false', { field: 'explain' });
  // Everything else is the CLI's input, validated by the engine so both report the same errors.
  const cliInput: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (!(HTTP_ONLY_FIELDS as readonly string[]).includes(key)) cliInput[key] = value;
  }
  if (live === true && cliInput['events'] === undefined) cliInput['events'] = [];
  let events: DryRunEvent[];
  try {
    events = parseDryRunInput(cliInput);
  } catch (error) {
    if (error instanceof DryRunInputError) {
      if (error.index === null && error.field !== null && error.field !== 'events') {
        throw badRequest(`unknown field '${error.field}'; expected events, rules, live, explain`, { field: error.field });
      }
      throw badRequest(error.message, { field: error.field ?? '', ...(error.index !== null ? { index: error.index } : {}) });
    }
    throw error;
  }
  return { events, rulesText, live: live === true, explain: explain === true };
}

/** Loads candidate rules; a file with errors is a 400 with every error's place. */
export function loadCandidate(text: string): RulesProgram {
  const loaded = loadRules(text, CANDIDATE_FILE);
  if (loaded.program === null || loaded.errors.length > 0) {
    const count = loaded.errors.length;
    throw badRequest(`the candidate rules file has ${count} error${count === 1 ? '' : 's'}`, { details: details(loaded.errors) });
  }
  return loaded.program;
}

/** A dry-run result, plus the GC requests the live writer would send for it (when a connector is wired). */
export type DryRunResultView = DryRunResult & {
  readonly gcRequests?: readonly GcRequestPreview[];
  /** With `"explain": true`: each rule considered and why it did or did not match, as `exas explain` prints it. */
  readonly explanation?: string;
};

export interface DryRunResponse {
  readonly results: readonly DryRunResultView[];
  /** Present for `"live": true`. */
  readonly impact?: ImpactPreview;
}

/** Runs a validated request against the candidate (or live) rules. Must be called only after auth is settled. */
export function runDryRun(request: DryRunRequest, deps: OperatorDeps, sampleSize: number): DryRunResponse {
  const program = request.rulesText !== undefined ? loadCandidate(request.rulesText) : deps.rules();
  if (program === null) throw new OperatorHttpError(503, { error: 'no rules are loaded; send candidate rules in "rules"' });
  if (request.live && request.rulesText === undefined) {
    throw badRequest('"live": true previews candidate rules: send them in "rules"', { field: 'live' });
  }
  if (request.live && !deps.liveAgents) {
    throw new OperatorHttpError(409, { error: 'no live connector: the impact preview needs a running EXAS' });
  }
  // `keep` with nothing earlier in the input resolves to the presence GC acknowledged for that agent.
  const results = dryRun(program, request.events, (agentId) => deps.agent(agentId)?.acknowledged?.presence);
  const requests = deps.previewRequests && results.length > 0 ? deps.previewRequests(results) : undefined;
  const views: DryRunResultView[] = results.map((result, index) => {
    const event = request.events[index];
    return {
      ...result,
      ...(requests ? { gcRequests: requests[index] ?? [] } : {}),
      ...(request.explain && event ? { explanation: formatExplanation(program.explain(event.state, event.callType, event.reason)) } : {}),
    };
  });
  if (request.live && deps.liveAgents) {
    return { results: views, impact: previewImpact(program, deps.liveAgents(), sampleSize) };
  }
  return { results: views };
}
