/**
 * Snapshot → decision → desired GC state for one agent: the pure heart of the connector.
 *
 * - An unmatched decision leaves the user unchanged (the caller counts it).
 * - `keep` resolves against the user's current presence: what EXAS last asked for (it is what GC holds, or
 *   will once the write lands), else what GC last acknowledged, else the configured fallback. It never
 *   resolves to `Available` (DESIGN.md: presence mapped from Engage is never Available): the fallback
 *   (default Busy) is used instead.
 */
import { KEEP, type AgentSnapshot, type GcUserState, type PresenceName } from '../vocabulary.ts';
import type { Decision, RulesProgram } from '../rules/index.ts';

/** Where a resolved `keep` took its presence from. */
export type KeepSource = 'desired' | 'acknowledged' | 'fallback';

export type DesiredOutcome =
  | { readonly kind: 'set'; readonly desired: GcUserState; readonly decision: Decision; readonly keptFrom?: KeepSource }
  | { readonly kind: 'unmatched'; readonly decision: Decision };

/** What is known of the user's GC presence when a decision says `keep`. */
export interface CurrentPresence {
  /** The presence EXAS last asked for, if any. */
  readonly desired?: PresenceName | undefined;
  /** The presence GC last acknowledged (store, resync read or write acknowledgement), if any. */
  readonly acknowledged?: PresenceName | undefined;
}

/** The presence `keep` may never resolve to. */
export const NEVER_KEPT: PresenceName = 'Available';

/** Decides what GC should show for `snapshot` under `program`. */
export function desiredFor(
  snapshot: AgentSnapshot,
  program: Pick<RulesProgram, 'decide'>,
  current: CurrentPresence,
  keepFallback: PresenceName,
): DesiredOutcome {
  const decision = program.decide(snapshot.state, snapshot.callType, snapshot.reason);
  if (decision.unmatched || decision.presence === null || decision.routingStatus === null) return { kind: 'unmatched', decision };
  if (decision.presence !== KEEP) {
    return { kind: 'set', desired: sharedState(decision.presence, decision.routingStatus), decision };
  }
  const kept = resolveKeep(current, keepFallback);
  return { kind: 'set', desired: sharedState(kept.presence, decision.routingStatus), decision, keptFrom: kept.from };
}

/** The presence `keep` stands for, given what is known of the user's current presence. */
export function resolveKeep(current: CurrentPresence, keepFallback: PresenceName): { presence: PresenceName; from: KeepSource } {
  if (usable(current.desired)) return { presence: current.desired, from: 'desired' };
  if (usable(current.acknowledged)) return { presence: current.acknowledged, from: 'acknowledged' };
  return { presence: keepFallback, from: 'fallback' };
}

function usable(presence: PresenceName | undefined): presence is PresenceName {
  return presence !== undefined && presence !== KEEP && presence !== NEVER_KEPT;
}

/** Whether two GC states are the same. */
export function sameState(a: GcUserState | undefined, b: GcUserState | undefined): boolean {
  return a !== undefined && b !== undefined && a.presence === b.presence && a.routingStatus === b.routingStatus;
}

/** Shared frozen states: a deployment has a few presences × routing statuses, and 50,000 users repeat them. */
const SHARED_STATES = new Map<string, GcUserState>();
/** Presence names come from the org's catalog; past this many pairs (never in practice) states are not shared. */
const MAX_SHARED_STATES = 4096;

/**
 * The one frozen `GcUserState` for a presence and routing status, so the per-user desired and acknowledged
 * states the connector and writer keep are references, not an object each (about 40 bytes a user each).
 */
export function sharedState(presence: PresenceName, routingStatus: GcUserState['routingStatus']): GcUserState {
  const key = `${presence}\u0000${routingStatus}`;
  let state = SHARED_STATES.get(key);
  if (state === undefined) {
    state = Object.freeze({ presence, routingStatus });
    if (SHARED_STATES.size < MAX_SHARED_STATES) SHARED_STATES.set(key, state);
  }
  return state;
}
