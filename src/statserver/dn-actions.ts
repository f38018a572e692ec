/**
 * Stat Server's DnActions: the integer codes and names seen in `CurrentState` trees, and how EXAS reads
 * them (statserver/README.md §2: codes 4–9, 13, 16–23 are evidenced; 0–3, 10–12, 14–15 are not, so they
 * are unknown unless a deployment configures them).
 */
import type { CallType } from '../vocabulary.ts';

/** Evidenced DnActions integer codes → names. */
export const DN_ACTION_CODES: Readonly<Record<number, string>> = {
  4: 'WaitForNextCall',
  5: 'OffHook',
  6: 'CallDialing',
  7: 'CallRinging',
  8: 'NotReadyForNextCall',
  9: 'AfterCallWork',
  13: 'CallOnHold',
  16: 'ASM_Engaged',
  17: 'ASM_Outbound',
  18: 'CallUnknown',
  19: 'CallConsult',
  20: 'CallInternal',
  21: 'CallOutbound',
  22: 'CallInbound',
  23: 'LoggedOut',
};

/**
 * Action names that exist in the DnActions enum but say nothing about state or call type; they are known
 * (never "unknown") and ignored by the fold. Their integer codes are not evidenced, so only names count.
 */
export const NEUTRAL_ACTION_NAMES: ReadonlySet<string> = new Set([
  'NotMonitored',
  'Monitored',
  'LoggedIn',
  'OnHook',
  'OffHook',
  'AgentLogin',
  'AgentLogout',
  'ASM_Engaged',
  'ASM_Outbound',
]);

/** The state-giving actions, highest priority first (the DN priority table: LoggedOut > ACW > NotReady > Ready). */
export const STATE_ACTIONS = ['LoggedOut', 'AfterCallWork', 'NotReadyForNextCall', 'WaitForNextCall'] as const;
export type StateAction = (typeof STATE_ACTIONS)[number];

/** Typed call actions → call type, highest Stat Server priority first (Inbound > Outbound > Internal > Consult). */
export const TYPED_CALL_ACTIONS: ReadonlyArray<readonly [string, CallType]> = [
  ['CallInbound', 'Inbound'],
  ['CallOutbound', 'Outbound'],
  ['CallInternal', 'Internal'],
  ['CallConsult', 'Consult'],
];

/** Actions that are a call whose type the action itself does not give (Unknown unless the DN says more). */
export const UNTYPED_CALL_ACTIONS: ReadonlySet<string> = new Set([
  'CallUnknown',
  'CallDialing',
  'CallRinging',
  'CallOnHold',
]);

const KNOWN_NAMES: ReadonlySet<string> = new Set([
  ...Object.values(DN_ACTION_CODES),
  ...NEUTRAL_ACTION_NAMES,
]);

/**
 * The action name for a payload value: a known name as given, an integer (or integer string) through the
 * code table plus `extraCodes`; anything else is `undefined` (the caller marks the agent unknown).
 */
export function actionName(raw: unknown, extraCodes: Readonly<Record<string, string>> = {}): string | undefined {
  if (typeof raw === 'string') {
    if (KNOWN_NAMES.has(raw)) return raw;
    if (/^\d+$/.test(raw)) return codeName(Number(raw), extraCodes);
    return extraNameOrUndefined(raw, extraCodes);
  }
  if (typeof raw === 'number' && Number.isInteger(raw)) return codeName(raw, extraCodes);
  return undefined;
}

function codeName(code: number, extraCodes: Readonly<Record<string, string>>): string | undefined {
  const extra = extraCodes[String(code)];
  if (extra !== undefined) return extra;
  return DN_ACTION_CODES[code];
}

function extraNameOrUndefined(name: string, extraCodes: Readonly<Record<string, string>>): string | undefined {
  // A deployment may list extra action names as values of `extraCodes` (e.g. {"1": "Monitored"}).
  return Object.values(extraCodes).includes(name) ? name : undefined;
}
