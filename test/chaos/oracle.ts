/**
 * The chaos suite's judge, pure: what GC should show for an Engage state under a rules program, which agents
 * have not converged, and which GC writes went backwards in time (a late, stale write after a newer one).
 */
import type { RulesProgram } from '../../src/rules/index.ts';
import type { CallType, EngageState } from '../../src/vocabulary.ts';

/** One Engage state of one agent, as the chaos driver set it. */
export interface EngageEntry {
  readonly at: number;
  readonly state: EngageState;
  readonly callType: CallType;
  readonly reason: string | null;
}

/** One change of what GC shows for a user, in the order GC applied it. */
export interface GcEntry {
  readonly at: number;
  readonly part: 'presence' | 'routingStatus';
  readonly value: string;
  /** Written by the foreign writer (drift fault), not by EXAS. */
  readonly foreign: boolean;
}

/**
 * What GC should show: presence `null` means `keep` (any presence but `Available`: keep resolves against the
 * user's current presence and never to Available), a `null` routing status means unmatched.
 */
export interface MappedState {
  readonly presence: string | null;
  readonly routingStatus: string | null;
}

export function mappedState(program: RulesProgram, entry: Pick<EngageEntry, 'state' | 'callType' | 'reason'>): MappedState {
  const decision = program.decide(entry.state, entry.callType, entry.reason);
  const presence = decision.presence === null || decision.presence === 'keep' ? null : String(decision.presence);
  return { presence, routingStatus: decision.routingStatus };
}

/** Whether GC showing `value` as presence satisfies the mapped presence (`null`: keep). */
export function presenceMatches(expected: string | null, value: string | undefined): boolean {
  if (value === undefined) return false;
  return expected === null ? value !== 'Available' : value === expected;
}

export interface Mismatch {
  readonly agentId: string;
  readonly userId: string;
  readonly engage: string;
  readonly expected: string;
  readonly observed: string;
}

/** Agents whose GC state differs from the mapping of their current Engage state. */
export function unconverged(
  program: RulesProgram,
  agents: ReadonlyArray<{ agentId: string; userId: string; engage: EngageEntry; gc: { presence: string; routingStatus: string } | undefined }>,
): Mismatch[] {
  const out: Mismatch[] = [];
  for (const agent of agents) {
    const expected = mappedState(program, agent.engage);
    const observed = agent.gc;
    const presenceOk = presenceMatches(expected.presence, observed?.presence);
    const routingOk = expected.routingStatus === null || observed?.routingStatus === expected.routingStatus;
    if (presenceOk && routingOk) continue;
    out.push({
      agentId: agent.agentId,
      userId: agent.userId,
      engage: describeEngage(agent.engage),
      expected: `${expected.presence ?? 'keep'} / ${expected.routingStatus ?? 'unmatched'}`,
      observed: observed === undefined ? 'no such user' : `${observed.presence} / ${observed.routingStatus}`,
    });
  }
  return out;
}

export function describeEngage(entry: Pick<EngageEntry, 'state' | 'callType' | 'reason'>): string {
  return `${entry.state}${entry.callType === 'None' ? '' : `+${entry.callType}`}${entry.reason === null ? '' : `(${entry.reason})`}`;
}

export interface StaleWrite {
  readonly userId: string;
  readonly part: 'presence' | 'routingStatus';
  readonly value: string;
  readonly at: number;
  /** Index in the Engage history of the newest state GC had already been given before this write. */
  readonly afterIndex: number;
  /** Index of the Engage state current when GC applied the write. */
  readonly currentIndex: number;
  readonly history: string;
}

/**
 * Finds writes that moved a user backwards: each EXAS write to GC must match the mapping of some Engage state
 * no older than the one matched by the previous write and no newer than the Engage state current at the
 * write. Presence and routing status are judged separately (they are separate GC writes). Greedy earliest
 * matching is exact for "a non-decreasing assignment exists". `programs` holds every rules program live
 * during the run (a write may follow either side of a reload); `keep` matches any presence but Available. Foreign writes are
 * skipped: they are drift, not EXAS.
 */
export function staleWrites(userId: string, engage: readonly EngageEntry[], gc: readonly GcEntry[], programs: readonly RulesProgram[]): StaleWrite[] {
  const out: StaleWrite[] = [];
  const candidates = engage.map((entry) => programs.map((program) => mappedState(program, entry)));
  for (const part of ['presence', 'routingStatus'] as const) {
    let index = 0;
    for (const write of gc) {
      if (write.part !== part || write.foreign) continue;
      let current = index;
      while (current + 1 < engage.length && (engage[current + 1] as EngageEntry).at <= write.at) current += 1;
      let found = -1;
      for (let i = index; i <= current && found < 0; i += 1) {
        const options = candidates[i] as MappedState[];
        if (options.some((mapped) => (part === 'presence' ? presenceMatches(mapped.presence, write.value) : mapped.routingStatus === write.value))) found = i;
      }
      if (found < 0) {
        out.push({
          userId,
          part,
          value: write.value,
          at: write.at,
          afterIndex: index,
          currentIndex: current,
          history: engage.map((entry, i) => `${i}:${describeEngage(entry)}@${entry.at}`).join(' '),
        });
        continue;
      }
      index = found;
    }
  }
  return out;
}
