/**
 * @module
 * The shared vocabulary of EXAS (DESIGN.md "Vocabulary"): Engage agent states, call types, GC presences and
 * routing statuses, and the records that cross stage boundaries. Every stage imports these names; none
 * invents its own spelling. Conversion to GC's wire spellings (`ON_QUEUE`, definition ids) happens in `src/gc/`.
 */

/** Engage agent states, as EXAS folds them from Stat Server's DN actions. */
export const ENGAGE_STATES = ['LoggedOff', 'NotReady', 'Ready', 'AfterCallWork'] as const;
export type EngageState = (typeof ENGAGE_STATES)[number];

/** Call types. `Unknown` is any call that is not internal and whose direction Stat Server does not give. */
export const CALL_TYPES = ['None', 'Internal', 'Inbound', 'Outbound', 'Consult', 'Unknown'] as const;
export type CallType = (typeof CALL_TYPES)[number];

/** GC system presences (the primary presence names of a GC org). */
export const SYSTEM_PRESENCES = [
  'Offline',
  'Busy',
  'Break',
  'Meal',
  'Meeting',
  'Training',
  'OnQueue',
  'Away',
  'Idle',
  'Available',
] as const;
export type SystemPresence = (typeof SYSTEM_PRESENCES)[number];

/**
 * A presence EXAS may set: a system presence name or the label of a custom (secondary) presence.
 * Rules may also say `keep`, which is resolved before anything reaches GC.
 */
export type PresenceName = string;
export const KEEP = 'keep' as const;
export type PresenceOutput = PresenceName | typeof KEEP;

/** GC routing statuses EXAS sets. (`NotResponding` exists in GC; EXAS never sets it.) */
export const ROUTING_STATUSES = ['OffQueue', 'Idle', 'Interacting', 'Communicating'] as const;
export type RoutingStatus = (typeof ROUTING_STATUSES)[number];

/** What Stat Server says about one agent, folded from CurrentState + CurrentStateReasons. */
export interface AgentSnapshot {
  /** Engage agent id (Stat Server's object id: the agent's employee id). The key everywhere inside EXAS. */
  readonly agentId: string;
  readonly state: EngageState;
  readonly callType: CallType;
  /** Engage reason code, or null when the agent gave none. */
  readonly reason: string | null;
  /** Epoch milliseconds of the newest statistic value folded in. */
  readonly at: number;
}

/** The GC side of one user: what EXAS wants or last saw acknowledged. */
export interface GcUserState {
  readonly presence: PresenceName;
  readonly routingStatus: RoutingStatus;
}

/** Where a rule came from, so every decision can be explained. */
export interface RuleRef {
  readonly name: string;
  readonly file: string;
  readonly line: number;
}

export function isEngageState(value: unknown): value is EngageState {
  return typeof value === 'string' && (ENGAGE_STATES as readonly string[]).includes(value);
}

export function isCallType(value: unknown): value is CallType {
  return typeof value === 'string' && (CALL_TYPES as readonly string[]).includes(value);
}

export function isRoutingStatus(value: unknown): value is RoutingStatus {
  return typeof value === 'string' && (ROUTING_STATUSES as readonly string[]).includes(value);
}

export function isSystemPresence(value: unknown): value is SystemPresence {
  return typeof value === 'string' && (SYSTEM_PRESENCES as readonly string[]).includes(value);
}
