/**
 * The impact preview of rules: the rules applied to every agent's Engage state, compared with what GC has now,
 * counted by from → to. Pure: it reads the agents it is given and writes nothing. The operator server's
 * `POST /dry-run` (`"live": true`) and `exas doctor`'s go-live check both use it.
 */
import type { CallType, EngageState, GcUserState, RuleRef } from '../vocabulary.ts';
import type { RulesProgram } from './compile.ts';

/** One agent as the impact preview needs it: its Engage state and what GC has now. */
export interface LiveAgent {
  readonly agentId: string;
  readonly state: EngageState;
  readonly callType: CallType;
  readonly reason: string | null;
  /** The user's GC state now (acknowledged, or read from GC), or undefined when not known. */
  readonly current: GcUserState | undefined;
}

export interface ImpactTransition {
  /** The GC state now; null when not known. */
  readonly from: GcUserState | null;
  readonly to: GcUserState;
  readonly count: number;
}

export interface ImpactSample {
  readonly agentId: string;
  readonly from: GcUserState | null;
  readonly to: GcUserState;
  readonly rule: RuleRef | null;
}

export interface ImpactPreview {
  /** Live agents the candidate was applied to. */
  readonly agents: number;
  /** Agents whose GC state would change. */
  readonly changing: number;
  readonly unchanged: number;
  /** Agents no candidate rule matches: the connector would leave them as they are. */
  readonly unmatched: number;
  /** `keep` with no known GC presence: the connector would use its fallback presence. */
  readonly keepWithoutPresence: number;
  /** Changes grouped by from → to, most frequent first. */
  readonly transitions: readonly ImpactTransition[];
  /** The first agents that would change. */
  readonly sample: readonly ImpactSample[];
}

/** Applies `candidate` to every agent and counts what would change. */
export function previewImpact(candidate: RulesProgram, agents: Iterable<LiveAgent>, sampleSize: number): ImpactPreview {
  let total = 0;
  let unchanged = 0;
  let unmatched = 0;
  let keepWithoutPresence = 0;
  const transitions = new Map<string, { from: GcUserState | null; to: GcUserState; count: number }>();
  const sample: ImpactSample[] = [];
  for (const agent of agents) {
    total++;
    const decision = candidate.decide(agent.state, agent.callType, agent.reason);
    if (decision.unmatched || decision.presence === null || decision.routingStatus === null) {
      unmatched++;
      continue;
    }
    let presence = decision.presence;
    if (presence === 'keep') {
      if (agent.current === undefined) {
        keepWithoutPresence++;
        continue;
      }
      presence = agent.current.presence;
    }
    const to: GcUserState = { presence, routingStatus: decision.routingStatus };
    const from = agent.current ?? null;
    if (from !== null && from.presence === to.presence && from.routingStatus === to.routingStatus) {
      unchanged++;
      continue;
    }
    const key = `${from ? `${from.presence}/${from.routingStatus}` : '?'}→${to.presence}/${to.routingStatus}`;
    const entry = transitions.get(key);
    if (entry) entry.count++;
    else transitions.set(key, { from, to, count: 1 });
    if (sample.length < sampleSize) sample.push({ agentId: agent.agentId, from, to, rule: decision.rule });
  }
  const sorted = [...transitions.values()].sort((a, b) => b.count - a.count);
  const changing = sorted.reduce((sum, t) => sum + t.count, 0);
  return { agents: total, changing, unchanged, unmatched, keepWithoutPresence, transitions: sorted, sample };
}
