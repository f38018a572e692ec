/**
 * `POST /rules/check`: lints the YAML text of a rules file as `exas check` does, and answers every finding with its
 * line and column (200 either way: a file with errors is the expected answer, not a failed request). The
 * playground's editor calls it as the user types and shows each finding where it is.
 */
import { parseJsonBody } from './body.ts';
import { CANDIDATE_FILE } from './dry-run.ts';
import { badRequest, OperatorHttpError, type ErrorBody } from './errors.ts';
import { loadRules } from './rules-engine.ts';

/** One finding, line and column from 1. */
export interface RulesFinding {
  readonly severity: 'error' | 'warning';
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export interface RulesCheckResponse {
  /** True when the file has no errors (warnings allowed): a reload would take it. */
  readonly ok: boolean;
  /** Errors and warnings, top to bottom. */
  readonly findings: readonly RulesFinding[];
}

/** Checks a parsed JSON body `{"rules": "…"}`; any other shape is a 400 naming the field. */
export function checkRulesRequest(body: unknown): RulesCheckResponse {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the body must be a JSON object: {"rules":"…"}', { field: '' });
  const record = body as Record<string, unknown>;
  const unknown = Object.keys(record).find((key) => key !== 'rules');
  if (unknown !== undefined) throw badRequest(`unknown field '${unknown}'; expected rules`, { field: unknown });
  const text = record['rules'];
  if (typeof text !== 'string') throw badRequest('"rules" must be the YAML text of a rules file', { field: 'rules' });
  const loaded = loadRules(text, CANDIDATE_FILE);
  const findings = [...loaded.errors, ...loaded.warnings]
    .map(({ severity, line, column, message }) => ({ severity, line, column, message }))
    .sort((a, b) => a.line - b.line || a.column - b.column);
  return { ok: loaded.errors.length === 0, findings };
}

/** What a rules-check job answers: the findings, or the 400 of a malformed body. */
export type RulesCheckJobResult =
  | { readonly kind: 'ok'; readonly response: RulesCheckResponse }
  | { readonly kind: 'error'; readonly status: OperatorHttpError['status']; readonly body: ErrorBody };

/**
 * Runs `POST /rules/check` on the raw body as an operator job (a worker thread, like dry runs: linting a large
 * candidate is CPU work that must not run on the sync's event loop). Never throws for a bad body.
 */
export function runRulesCheckJob(body: Uint8Array): RulesCheckJobResult {
  try {
    return { kind: 'ok', response: checkRulesRequest(parseJsonBody(body)) };
  } catch (error) {
    if (error instanceof OperatorHttpError) return { kind: 'error', status: error.status, body: error.body };
    throw error;
  }
}
