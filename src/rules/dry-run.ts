/**
 * Dry run: apply a sequence of Engage events to a program, per agent and in order, and report what EXAS would
 * set in GC. `keep` resolves to the agent's previous presence from earlier events (or from `previousPresence`,
 * which the live server seeds from acknowledged GC state); with nothing known, the pure dry run says null.
 */
import { CALL_TYPES, ENGAGE_STATES, isCallType, isEngageState, KEEP, type CallType, type EngageState, type RoutingStatus, type RuleRef } from '../vocabulary.ts';
import { didYouMean } from './did-you-mean.ts';
import type { RulesProgram } from './compile.ts';

/** One Engage event of a dry run. */
export interface DryRunEvent {
  agentId: string;
  state: EngageState;
  callType: CallType;
  reason: string | null;
}

/**
 * The outcome of one event. `presenceChanged` is true when the resulting presence differs from the agent's
 * previous known presence, or when none was known and the result is non-null; false for unmatched events and
 * for `keep` (which by definition leaves presence as it was).
 */
export interface DryRunResult {
  agentId: string;
  presence: string | null;
  routingStatus: RoutingStatus | null;
  presenceChanged: boolean;
  rule: RuleRef | null;
  unmatched?: true;
}

/** Invalid dry-run input: which event (index into `events`, or null for the whole input) and which field. */
export class DryRunInputError extends Error {
  readonly index: number | null;
  readonly field: string | null;

  constructor(message: string, index: number | null, field: string | null) {
    super(message);
    this.name = 'DryRunInputError';
    this.index = index;
    this.field = field;
  }
}

const EVENT_FIELDS = ['agentId', 'state', 'callType', 'reason'];

/**
 * Validates `{"events":[{agentId, state, callType?, reason?}, …]}` (callType defaults to None, reason to null;
 * unknown fields are errors). Throws DryRunInputError naming the event index and field.
 */
export function parseDryRunInput(input: unknown): DryRunEvent[] {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new DryRunInputError('input must be a JSON object {"events": [...]}', null, null);
  }
  for (const key of Object.keys(input)) {
    if (key !== 'events') throw new DryRunInputError(`unknown field '${key}' in input; expected only "events"`, null, key);
  }
  const events = (input as { events?: unknown }).events;
  if (!Array.isArray(events)) throw new DryRunInputError('input.events must be an array of events', null, 'events');
  return events.map((event: unknown, index) => parseEvent(event, index));
}

function parseEvent(event: unknown, index: number): DryRunEvent {
  const fail = (field: string | null, message: string): never => {
    throw new DryRunInputError(`events[${index}]${field === null ? '' : `.${field}`}: ${message}`, index, field);
  };
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return fail(null, 'must be an object');
  const record = event as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!EVENT_FIELDS.includes(key)) fail(key, `unknown field${didYouMean(key, EVENT_FIELDS)}; allowed: ${EVENT_FIELDS.join(', ')}`);
  }
  const { agentId, state, callType = 'None', reason = null } = record;
  if (typeof agentId !== 'string' || agentId === '') fail('agentId', 'required, a non-empty string');
  if (!isEngageState(state)) {
    fail('state', state === undefined ? `required, one of ${ENGAGE_STATES.join(', ')}` : `unknown state ${JSON.stringify(state)}${typeof state === 'string' ? didYouMean(state, ENGAGE_STATES) : ''}; expected one of ${ENGAGE_STATES.join(', ')}`);
  }
  if (!isCallType(callType)) {
    fail('callType', `unknown call type ${JSON.stringify(callType)}${typeof callType === 'string' ? didYouMean(callType, CALL_TYPES) : ''}; expected one of ${CALL_TYPES.join(', ')}`);
  }
  if (reason !== null && typeof reason !== 'string') fail('reason', 'must be a string or null');
  return { agentId: agentId as string, state: state as EngageState, callType: callType as CallType, reason: reason as string | null };
}

/**
 * Applies events in order per agent; `previousPresence` seeds keep-resolution (the live server passes
 * acknowledged GC presence). Results are in input order.
 * @example
 * dryRun(program, [{ agentId: '1001', state: 'AfterCallWork', callType: 'None', reason: null }]);
 * // → [{ agentId: '1001', presence: null, routingStatus: 'Interacting', presenceChanged: false, rule: {…} }]
 */
export function dryRun(
  program: RulesProgram,
  events: readonly DryRunEvent[],
  previousPresence?: (agentId: string) => string | undefined,
): DryRunResult[] {
  const known = new Map<string, string | undefined>();
  const previousOf = (agentId: string): string | undefined => {
    if (!known.has(agentId)) known.set(agentId, previousPresence?.(agentId));
    return known.get(agentId);
  };
  return events.map((event) => {
    const decision = program.decide(event.state, event.callType, event.reason);
    if (decision.unmatched || decision.presence === null) {
      return { agentId: event.agentId, presence: null, routingStatus: null, presenceChanged: false, rule: null, unmatched: true };
    }
    const previous = previousOf(event.agentId);
    if (decision.presence === KEEP) {
      return { agentId: event.agentId, presence: previous ?? null, routingStatus: decision.routingStatus, presenceChanged: false, rule: decision.rule };
    }
    known.set(event.agentId, decision.presence);
    return {
      agentId: event.agentId,
      presence: decision.presence,
      routingStatus: decision.routingStatus,
      presenceChanged: previous !== decision.presence,
      rule: decision.rule,
    };
  });
}
