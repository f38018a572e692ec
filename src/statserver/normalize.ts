/**
 * The normalizer: pure functions that read Stat Server `CurrentState` values (the Agent → Place → DN →
 * action tree, camelCase from the Statistics API or PascalCase from PSDK `EventInfo`) and fold the two
 * statistics of one agent into an `AgentSnapshot` (DESIGN.md "The Stat Server side").
 *
 * The undocumented parts of the payload (statserver/README.md tags them [L]/[NOT FOUND]) are options:
 * the reasons key, the field that holds the reasons list, extra action codes, the timestamp unit.
 */
import type { AgentSnapshot, CallType, EngageState } from '../vocabulary.ts';
import { actionName, STATE_ACTIONS, TYPED_CALL_ACTIONS, UNTYPED_CALL_ACTIONS, type StateAction } from './dn-actions.ts';

/** Options for reading payloads; every field has a default (see `DEFAULT_NORMALIZER_OPTIONS`). */
export interface NormalizerOptions {
  /** The key of the reasons key-value list that carries the reason code. */
  readonly reasonKey: string;
  /** Fields of a DN action that may hold the reasons key-value list (matched case-insensitively). */
  readonly reasonsFields: readonly string[];
  /** Extra DnActions codes → names for a deployment (e.g. `{"1": "Monitored"}`). */
  readonly extraActionCodes: Readonly<Record<string, string>>;
  /** Unit of numeric timestamps; `auto` treats values below 10^11 as seconds. */
  readonly timestampUnit: 'ms' | 's' | 'auto';
}

export const DEFAULT_NORMALIZER_OPTIONS: NormalizerOptions = {
  reasonKey: 'ReasonCode',
  reasonsFields: ['reasons'],
  extraActionCodes: {},
  timestampUnit: 'auto',
};

/** Why a value could not be read: the kinds counted and logged by the sources. */
export type UnknownKind = 'unparsable' | 'unknown-code' | 'no-state' | 'invalid' | 'incomplete' | 'closed' | 'disconnected' | 'open-failed';

export interface ParsedAction {
  readonly name: string;
  readonly reasons: Readonly<Record<string, unknown>> | null;
}

export interface ParsedDn {
  readonly dnId: string;
  /** DN status as an action name (undefined when absent or not a known code). */
  readonly status: string | undefined;
  /** Present only at Subject=DNAction depth. */
  readonly actions: readonly ParsedAction[] | null;
}

/** One `AgentStatus` tree, read. */
export interface ParsedAgentStatus {
  readonly agentId: string | null;
  /** No place, an empty place id, no DNs, or top-level status LoggedOut. */
  readonly loggedOut: boolean;
  readonly dns: readonly ParsedDn[];
  /** True when the tree carries DN actions (Subject=DNAction). */
  readonly hasActions: boolean;
  /** Epoch seconds from the tree's `time`, when given. */
  readonly timeSeconds: number | null;
}

export type ParseResult =
  | { readonly ok: true; readonly value: ParsedAgentStatus }
  | { readonly ok: false; readonly kind: UnknownKind; readonly detail: string };

/** The newest value of one statistic of one agent. */
export interface StatisticReading {
  readonly value: unknown;
  /** Epoch ms when Stat Server produced it. */
  readonly at: number;
}

export type FoldResult =
  | { readonly kind: 'snapshot'; readonly snapshot: AgentSnapshot }
  | { readonly kind: 'unknown'; readonly agentId: string; readonly reason: UnknownKind; readonly detail: string; readonly at: number };

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads `name` in camelCase or PascalCase (Statistics API vs PSDK rendering), then case-insensitively. */
export function field(object: Json, name: string): unknown {
  if (name in object) return object[name];
  const pascal = name.charAt(0).toUpperCase() + name.slice(1);
  if (pascal in object) return object[pascal];
  const lower = name.toLowerCase();
  for (const key of Object.keys(object)) if (key.toLowerCase() === lower) return object[key];
  return undefined;
}

/** Epoch ms from a payload number in ms or seconds (per `unit`). */
export function toEpochMs(value: number, unit: NormalizerOptions['timestampUnit']): number {
  if (unit === 'ms') return value;
  if (unit === 's') return value * 1000;
  return value < 1e11 ? value * 1000 : value;
}

/** Reads one `AgentStatus` tree (a `CurrentState` / `CurrentStateReasons` value). Never throws. */
export function parseAgentStatus(raw: unknown, options: NormalizerOptions = DEFAULT_NORMALIZER_OPTIONS): ParseResult {
  if (!isObject(raw)) return { ok: false, kind: 'unparsable', detail: `value is ${describe(raw)}, not an AgentStatus object` };
  const agentIdRaw = field(raw, 'agentId');
  const agentId = typeof agentIdRaw === 'string' ? agentIdRaw : null;
  const timeRaw = field(raw, 'time');
  const timeSeconds = typeof timeRaw === 'number' && Number.isFinite(timeRaw) ? timeRaw : null;
  const topStatus = actionName(field(raw, 'status'), options.extraActionCodes);
  const place = field(raw, 'place');
  if (place === undefined || place === null) {
    return { ok: true, value: { agentId, loggedOut: true, dns: [], hasActions: false, timeSeconds } };
  }
  if (!isObject(place)) return { ok: false, kind: 'unparsable', detail: `place is ${describe(place)}` };
  const placeId = field(place, 'placeId');
  const dnStatusesRaw = field(place, 'dnStatuses') ?? [];
  if (!Array.isArray(dnStatusesRaw)) return { ok: false, kind: 'unparsable', detail: `dnStatuses is ${describe(dnStatusesRaw)}` };
  const dns: ParsedDn[] = [];
  let hasActions = false;
  for (const dnRaw of dnStatusesRaw) {
    if (!isObject(dnRaw)) return { ok: false, kind: 'unparsable', detail: `a DN status is ${describe(dnRaw)}` };
    const dnIdRaw = field(dnRaw, 'dnId');
    const status = actionName(field(dnRaw, 'status'), options.extraActionCodes);
    const actionsRaw = field(dnRaw, 'actions');
    let actions: ParsedAction[] | null = null;
    if (actionsRaw !== undefined && actionsRaw !== null) {
      if (!Array.isArray(actionsRaw)) return { ok: false, kind: 'unparsable', detail: `actions is ${describe(actionsRaw)}` };
      hasActions = true;
      actions = [];
      for (const actionRaw of actionsRaw) {
        if (!isObject(actionRaw)) return { ok: false, kind: 'unparsable', detail: `an action is ${describe(actionRaw)}` };
        const rawName = field(actionRaw, 'action');
        const name = actionName(rawName, options.extraActionCodes);
        // An action EXAS cannot name could be anything (a call, a logout): never guess around it.
        if (name === undefined) return { ok: false, kind: 'unknown-code', detail: `action ${JSON.stringify(rawName) ?? 'undefined'}` };
        actions.push({ name, reasons: readReasons(actionRaw, options) });
      }
    }
    dns.push({ dnId: typeof dnIdRaw === 'string' ? dnIdRaw : String(dnIdRaw ?? ''), status, actions });
  }
  const loggedOut = topStatus === 'LoggedOut' || placeId === '' || placeId === null || dns.length === 0;
  return { ok: true, value: { agentId, loggedOut, dns, hasActions, timeSeconds } };
}

function readReasons(action: Json, options: NormalizerOptions): Json | null {
  for (const name of options.reasonsFields) {
    const value = field(action, name);
    if (isObject(value)) return value;
    // A KV list may also arrive as [{key, value}] pairs (PSDK KeyValueCollection rendered as a list).
    if (Array.isArray(value)) {
      const out: Json = {};
      for (const pair of value) {
        if (isObject(pair)) {
          const key = field(pair, 'key');
          if (typeof key === 'string') out[key] = field(pair, 'value');
        }
      }
      return out;
    }
  }
  return null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** The reason string under `reasonKey`, or null (absent, empty, or not a scalar). */
function reasonOf(reasons: Json | null, reasonKey: string): string | null {
  if (reasons === null) return null;
  const value = reasons[reasonKey];
  if (typeof value === 'string') return value === '' ? null : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

const STATE_OF: Record<StateAction, EngageState> = {
  LoggedOut: 'LoggedOff',
  AfterCallWork: 'AfterCallWork',
  NotReadyForNextCall: 'NotReady',
  WaitForNextCall: 'Ready',
};

const CALL_RANK: Record<CallType, number> = { None: 0, Unknown: 1, Consult: 2, Internal: 3, Outbound: 4, Inbound: 5 };

/** The call type of one DN's actions: a typed call action wins; an untyped call is Unknown; OffHook alone is none. */
function dnCallType(actions: readonly ParsedAction[]): CallType {
  let best: CallType = 'None';
  for (const action of actions) {
    for (const [name, type] of TYPED_CALL_ACTIONS) {
      if (action.name === name && CALL_RANK[type] > CALL_RANK[best]) best = type;
    }
    if (best === 'None' && UNTYPED_CALL_ACTIONS.has(action.name)) best = 'Unknown';
  }
  return best;
}

/**
 * State, call type and reason from DN actions (DESIGN.md): the highest of LoggedOut > AfterCallWork >
 * NotReadyForNextCall > WaitForNextCall on any DN gives the state (the top-level status would be the call),
 * the call actions give the call type (highest Stat Server priority across DNs), and the reason is the
 * `reasonKey` of the reasons list on the winning state action.
 */
export function stateFromActions(
  tree: ParsedAgentStatus,
  reasonKey: string,
): { state: EngageState; callType: CallType; reason: string | null } | null {
  let winner: number = STATE_ACTIONS.length;
  let reason: string | null = null;
  let callType: CallType = 'None';
  for (const dn of tree.dns) {
    if (dn.actions === null) continue;
    for (const action of dn.actions) {
      const rank = (STATE_ACTIONS as readonly string[]).indexOf(action.name);
      if (rank < 0) continue;
      const actionReason = reasonOf(action.reasons, reasonKey);
      if (rank < winner) {
        winner = rank;
        reason = actionReason;
      } else if (rank === winner && reason === null) {
        reason = actionReason;
      }
    }
    const type = dnCallType(dn.actions);
    if (CALL_RANK[type] > CALL_RANK[callType]) callType = type;
  }
  const stateAction = (STATE_ACTIONS as readonly StateAction[])[winner];
  if (stateAction === undefined) return null;
  const state = STATE_OF[stateAction];
  if (state === 'LoggedOff') return { state, callType: 'None', reason: null };
  return { state, callType, reason };
}

/**
 * What folding needs from one statistic value, without the value itself: whether it parses (and why not),
 * whether it says logged out, whether it carries DN actions, and the state those actions give. The agent
 * table keeps this instead of the raw `AgentStatus` tree (a tree is hundreds of bytes per agent; a digest of
 * a readable value is one shared frozen object), and `foldDigests` answers exactly as folding the trees would.
 */
export type StatusDigest =
  | { readonly ok: false; readonly kind: UnknownKind; readonly detail: string }
  | {
      readonly ok: true;
      readonly loggedOut: boolean;
      readonly hasActions: boolean;
      /** `stateFromActions` of the tree (null: no state action on any DN); only meaningful with actions. */
      readonly folded: { readonly state: EngageState; readonly callType: CallType; readonly reason: string | null } | null;
    };

/** A digested statistic value and when Stat Server produced it. */
export interface DigestReading {
  readonly digest: StatusDigest;
  readonly at: number;
}

/** Readable digests are few (state × call type × reason), so they are shared; the cap bounds odd reason sets. */
const SHARED_DIGESTS = new Map<string, StatusDigest>();
const MAX_SHARED_DIGESTS = 4096;

/** Reads one statistic value down to what folding needs (see `StatusDigest`). Never throws. */
export function digestAgentStatus(raw: unknown, options: NormalizerOptions = DEFAULT_NORMALIZER_OPTIONS): StatusDigest {
  const parsed = parseAgentStatus(raw, options);
  if (!parsed.ok) return { ok: false, kind: parsed.kind, detail: parsed.detail };
  const tree = parsed.value;
  const folded = tree.hasActions ? stateFromActions(tree, options.reasonKey) : null;
  const key = `${tree.loggedOut ? 1 : 0}${tree.hasActions ? 1 : 0}${folded === null ? '' : `${folded.state}/${folded.callType}/${folded.reason === null ? '' : `=${folded.reason}`}`}`;
  const shared = SHARED_DIGESTS.get(key);
  if (shared !== undefined) return shared;
  const digest: StatusDigest = Object.freeze({ ok: true, loggedOut: tree.loggedOut, hasActions: tree.hasActions, folded: folded === null ? null : Object.freeze(folded) });
  if (SHARED_DIGESTS.size < MAX_SHARED_DIGESTS) SHARED_DIGESTS.set(key, digest);
  return digest;
}

/**
 * Folds the newest `CurrentState` and `CurrentStateReason` readings of one agent into a snapshot.
 * Pure: same inputs, same answer. Either reading may be absent (not received yet).
 *
 * - A reading that cannot be read makes the agent unknown (`unparsable` / `unknown-code`).
 * - The newest reading saying "no place / LoggedOut" gives LoggedOff.
 * - Otherwise the reading with DN actions (the DNAction statistic; the CurrentState one too when it is
 *   opened at DNAction depth, the newer winning) gives state, call type and reason.
 * - With no actions yet the answer is `incomplete` (a DNStatus-only tree cannot tell the state during a call).
 *
 * @example
 * foldAgentSnapshot('1001', { value: currentStateValue, at: 1718000600000 }, { value: reasonsValue, at: 1718000600000 })
 * // → { kind: 'snapshot', snapshot: { agentId: '1001', state: 'NotReady', callType: 'None', reason: 'Break', at: 1718000600000 } }
 */
export function foldAgentSnapshot(
  agentId: string,
  currentState: StatisticReading | undefined,
  reasons: StatisticReading | undefined,
  options: NormalizerOptions = DEFAULT_NORMALIZER_OPTIONS,
): FoldResult {
  const digest = (reading: StatisticReading | undefined): DigestReading | undefined =>
    reading === undefined ? undefined : { digest: digestAgentStatus(reading.value, options), at: reading.at };
  return foldDigests(agentId, digest(currentState), digest(reasons));
}

/** `foldAgentSnapshot` over digested readings (what the agent table keeps). */
export function foldDigests(agentId: string, currentState: DigestReading | undefined, reasons: DigestReading | undefined): FoldResult {
  const at = Math.max(currentState?.at ?? 0, reasons?.at ?? 0);
  for (const reading of [currentState, reasons]) {
    if (reading !== undefined && !reading.digest.ok) return { kind: 'unknown', agentId, reason: reading.digest.kind, detail: reading.digest.detail, at };
  }
  if (currentState === undefined && reasons === undefined) {
    return { kind: 'unknown', agentId, reason: 'incomplete', detail: 'no value received yet', at };
  }
  // Newest first; on a tie the reasons reading (it carries actions) is the fuller one.
  const newest = currentState === undefined ? reasons! : reasons === undefined ? currentState : currentState.at > reasons.at ? currentState : reasons;
  const readable = (reading: DigestReading | undefined): Extract<StatusDigest, { ok: true }> | undefined =>
    reading !== undefined && reading.digest.ok ? reading.digest : undefined;
  if (readable(newest)!.loggedOut) return snapshot(agentId, 'LoggedOff', 'None', null, at);
  const withActions = [reasons, currentState]
    .filter((reading): reading is DigestReading => readable(reading)?.hasActions === true)
    .sort((a, b) => b.at - a.at)[0];
  if (withActions === undefined) {
    return { kind: 'unknown', agentId, reason: 'incomplete', detail: 'no DN actions received yet', at };
  }
  const tree = readable(withActions)!;
  if (tree.loggedOut) return snapshot(agentId, 'LoggedOff', 'None', null, at);
  const folded = tree.folded;
  if (folded === null) return { kind: 'unknown', agentId, reason: 'no-state', detail: 'no LoggedOut/ACW/NotReady/Ready action on any DN', at };
  return snapshot(agentId, folded.state, folded.callType, folded.reason, at);
}

function snapshot(agentId: string, state: EngageState, callType: CallType, reason: string | null, at: number): FoldResult {
  return { kind: 'snapshot', snapshot: { agentId, state, callType, reason, at } };
}
