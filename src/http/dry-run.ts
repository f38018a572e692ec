/**
 * `POST /dry-run`: the `exas dry-run` input and output over HTTP, optionally against candidate rules, plus the
 * GC requests the live writer would send and (with `"live": true`) the impact of the candidate on every live
 * agent. Nothing here changes any state.
 *
 * The work (parsing the body, loading candidate rules, evaluating, explaining, the GC request previews and the
 * answer's JSON) is a job: the raw body in, the answer's UTF-8 bytes out (transferred, never a large string:
 * receiving one costs a thread tens of milliseconds), run on a worker thread (see `jobs.ts`). It asks the serving
 * thread only for the live data it is entitled to see, with the read token: acknowledged presences and GC request
 * previews in chunks of at most `ASK_CHUNK` distinct agents or decisions, and the live agents for an impact
 * preview `ASK_CHUNK` at a time (so no answer holds the sync's thread for more than a moment).
 */
import { basename } from 'node:path';
import { transferWith } from '../platform/worker-pool.ts';
import { covers, type Grant } from './auth.ts';
import { parseJsonBody } from './body.ts';
import { badRequest, details, OperatorHttpError, type ErrorBody } from './errors.ts';
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
  type LiveAgent,
  type RulesProgram,
} from './rules-engine.ts';
import type { GcRequestPreview } from './types.ts';

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

/** Bounds of one dry run. */
export interface DryRunLimits {
  /** Most events in one request (default 10 000). */
  readonly maxEvents: number;
  /** Largest answer in bytes (default 8 MiB); a larger one is a 400 asking for fewer events or no explain. */
  readonly maxResponseBytes: number;
  /** Agents listed as examples in an impact preview. */
  readonly impactSampleSize: number;
}

/** Validates a parsed JSON body. Throws `OperatorHttpError` 400 naming the offending field. */
export function parseDryRunRequest(body: unknown, maxEvents = Number.MAX_SAFE_INTEGER): DryRunRequest {
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
  const events = record['events'];
  if (Array.isArray(events) && events.length > maxEvents) {
    throw badRequest(`too many events: ${events.length}; at most ${maxEvents} per dry run`, { field: 'events' });
  }
  // Everything else is the CLI's input, validated by the engine so both report the same errors. A null-prototype
  // object: no key of the body can reach Object.prototype (the body parser refuses those keys anyway).
  const cliInput: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of Object.entries(record)) {
    if (!(HTTP_ONLY_FIELDS as readonly string[]).includes(key)) cliInput[key] = value;
  }
  if (live === true && cliInput['events'] === undefined) cliInput['events'] = [];
  let parsed: DryRunEvent[];
  try {
    parsed = parseDryRunInput(cliInput);
  } catch (error) {
    if (error instanceof DryRunInputError) {
      if (error.index === null && error.field !== null && error.field !== 'events') {
        throw badRequest(`unknown field '${error.field}'; expected events, rules, live, explain`, { field: error.field });
      }
      throw badRequest(error.message, { field: error.field ?? '', ...(error.index !== null ? { index: error.index } : {}) });
    }
    throw error;
  }
  return { events: parsed, rulesText, live: live === true, explain: explain === true };
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

/** One dry run as a job: the raw body and what the caller may see. */
export interface DryRunJob {
  readonly body: Uint8Array;
  readonly grant: Grant;
  /** The live rules' source, or null when none are loaded. */
  readonly live: { readonly text: string; readonly file: string } | null;
  readonly limits: DryRunLimits;
  /** What the serving thread can answer: acknowledged presences, live agents, GC request previews. */
  readonly connector: { readonly agents: boolean; readonly liveAgents: boolean; readonly previewRequests: boolean };
}

/** One distinct decision a GC request preview is asked for. */
export interface PreviewChange {
  readonly agentId: string;
  readonly presence: string;
  readonly routingStatus: NonNullable<DryRunResult['routingStatus']>;
}

/** Questions a dry-run job asks the serving thread (lists at most `ASK_CHUNK` long). */
export type DryRunQuestion =
  | { readonly kind: 'presences'; readonly agentIds: readonly string[] }
  | { readonly kind: 'requests'; readonly changes: readonly PreviewChange[] }
  /** Live agents `offset` … `offset + ASK_CHUNK` (fewer at the end). */
  | { readonly kind: 'live-agents'; readonly offset: number };
export type DryRunAnswer = Readonly<Record<string, string>> | readonly LiveAgent[] | ReadonlyArray<readonly GcRequestPreview[]>;

/** Most agents or decisions in one question: each answer is a moment of the serving thread's time. */
export const ASK_CHUNK = 500;

/** A job's answer: the response as UTF-8 JSON bytes, or the HTTP error. */
export type DryRunJobResult =
  | { readonly kind: 'json'; readonly bytes: Uint8Array }
  | { readonly kind: 'error'; readonly status: OperatorHttpError['status']; readonly body: ErrorBody; readonly headers: Readonly<Record<string, string>> };

/** The live program a worker compiled last, kept while the live rules do not change. */
let liveCache: { text: string; file: string; program: RulesProgram } | undefined;

function liveProgram(live: { text: string; file: string }): RulesProgram {
  if (liveCache !== undefined && liveCache.file === live.file && liveCache.text === live.text) return liveCache.program;
  const loaded = loadRules(live.text, live.file);
  if (loaded.program === null) throw new OperatorHttpError(503, { error: 'the live rules could not be evaluated' });
  liveCache = { ...live, program: loaded.program };
  return loaded.program;
}

/** Runs a dry-run job (on a worker thread, or inline). Never throws: errors come back as `kind: 'error'`. */
export async function runDryRunJob(job: DryRunJob, ask: (question: DryRunQuestion) => Promise<DryRunAnswer>): Promise<DryRunJobResult> {
  try {
    const request = parseDryRunRequest(parseJsonBody(job.body), job.limits.maxEvents);
    const reader = covers(job.grant, 'read');
    if (!reader && (request.rulesText !== undefined || request.live)) {
      throw new OperatorHttpError(
        401,
        { error: 'unauthorized: candidate rules and the live impact preview need the read (or admin) token as "Authorization: Bearer <token>"' },
        { 'www-authenticate': 'Bearer realm="exas"' },
      );
    }
    let response = await evaluate(request, job, reader, ask);
    // The GC requests the live writer would send: live data (the acknowledged state), so for readers only.
    if (reader && job.connector.previewRequests && response.results.length > 0) response = { ...response, results: await withRequests(response.results, ask) };
    const json = JSON.stringify(response);
    checkResponseSize(json, job.limits.maxResponseBytes);
    const bytes = new TextEncoder().encode(json);
    return transferWith({ kind: 'json', bytes }, [bytes.buffer]);
  } catch (error) {
    if (error instanceof OperatorHttpError) return { kind: 'error', status: error.status, body: error.body, headers: error.headers };
    throw error;
  }
}

/**
 * Adds to each result the GC requests the writer would send for it. A preview depends only on the agent and the
 * decision, so the serving thread is asked once per distinct pair (200 agents × a few decisions for 10,000
 * events), `ASK_CHUNK` at a time.
 */
async function withRequests(results: readonly DryRunResultView[], ask: (question: DryRunQuestion) => Promise<DryRunAnswer>): Promise<DryRunResultView[]> {
  const keyOf = (result: DryRunResultView): string | null =>
    result.presence === null || result.routingStatus === null ? null : `${result.agentId}\u0000${result.presence}\u0000${result.routingStatus}`;
  const distinct = new Map<string, PreviewChange>();
  for (const result of results) {
    const key = keyOf(result);
    if (key !== null && !distinct.has(key)) distinct.set(key, { agentId: result.agentId, presence: result.presence!, routingStatus: result.routingStatus! });
  }
  const previews = new Map<string, readonly GcRequestPreview[]>();
  const keys = [...distinct.keys()];
  for (let at = 0; at < keys.length; at += ASK_CHUNK) {
    const chunk = keys.slice(at, at + ASK_CHUNK);
    const answer = (await ask({ kind: 'requests', changes: chunk.map((key) => distinct.get(key)!) })) as ReadonlyArray<readonly GcRequestPreview[]>;
    chunk.forEach((key, i) => previews.set(key, answer[i] ?? []));
  }
  return results.map((result) => {
    const key = keyOf(result);
    return { ...result, gcRequests: key === null ? [] : (previews.get(key) ?? []) };
  });
}

/** Throws 400 when an answer is larger than the limit (string length counts UTF-16 units: near enough, and cheap). */
export function checkResponseSize(json: string, maxBytes: number): void {
  if (json.length > maxBytes) {
    throw badRequest(`the answer would be about ${json.length} bytes, more than the ${maxBytes}-byte limit: send fewer events, or leave out "explain"`, { field: 'events' });
  }
}

async function evaluate(request: DryRunRequest, job: DryRunJob, reader: boolean, ask: (question: DryRunQuestion) => Promise<DryRunAnswer>): Promise<DryRunResponse> {
  if (request.live && request.rulesText === undefined) {
    throw badRequest('"live": true previews candidate rules: send them in "rules"', { field: 'live' });
  }
  if (request.live && !job.connector.liveAgents) {
    throw new OperatorHttpError(409, { error: 'no live connector: the impact preview needs a running EXAS' });
  }
  const program = request.rulesText !== undefined ? loadCandidate(request.rulesText) : job.live === null ? null : liveProgram(job.live);
  if (program === null) throw new OperatorHttpError(503, { error: 'no rules are loaded; send candidate rules in "rules"' });
  // `keep` with nothing earlier in the input resolves to the presence GC acknowledged for that agent: live data,
  // so only for callers with the read token.
  let previous: Readonly<Record<string, string>> = {};
  if (reader && job.connector.agents && request.events.length > 0) {
    const agentIds = [...new Set(request.events.map((event) => event.agentId))];
    const found: Record<string, string> = Object.create(null) as Record<string, string>;
    for (let at = 0; at < agentIds.length; at += ASK_CHUNK) {
      Object.assign(found, (await ask({ kind: 'presences', agentIds: agentIds.slice(at, at + ASK_CHUNK) })) as Readonly<Record<string, string>>);
    }
    previous = found;
  }
  const lookup = (agentId: string): string | undefined => (Object.hasOwn(previous, agentId) ? previous[agentId] : undefined);
  // Anonymous callers see the rules file's name, never its path on the server.
  const shownFile = reader ? program.file : basename(program.file);
  const redact = (result: DryRunResult): DryRunResult => (reader || result.rule === null ? result : { ...result, rule: { ...result.rule, file: shownFile } });
  const results = dryRun(program, request.events, lookup);
  // Explanations are the bulk of a large answer: stop as soon as they alone pass the limit, before building more.
  let explained = 0;
  const views: DryRunResultView[] = results.map((result, index) => {
    const event = request.events[index];
    const shown = redact(result);
    if (!request.explain || !event) return shown;
    let explanation = formatExplanation(program.explain(event.state, event.callType, event.reason));
    if (!reader) explanation = explanation.replaceAll(`${program.file}:`, `${shownFile}:`);
    explained += explanation.length;
    if (explained > job.limits.maxResponseBytes) {
      throw badRequest(`the explanations alone pass the ${job.limits.maxResponseBytes}-byte answer limit at event ${index}: send fewer events, or leave out "explain"`, { field: 'explain' });
    }
    return { ...shown, explanation };
  });
  if (request.live) {
    const agents: LiveAgent[] = [];
    for (;;) {
      const page = (await ask({ kind: 'live-agents', offset: agents.length })) as readonly LiveAgent[];
      agents.push(...page);
      if (page.length < ASK_CHUNK) break;
    }
    return { results: views, impact: previewImpact(program, agents, job.limits.impactSampleSize) };
  }
  return { results: views };
}
