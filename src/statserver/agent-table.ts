/**
 * The per-agent table both sources share: the agents whose statistics are open (the source's scope), the
 * newest reading of each statistic, which statistics Stat Server reported invalid, and the settle window that
 * turns readings into observations. Transport-free: the Statistics API adapter and the bridge adapter feed it
 * readings and forward what it emits.
 */
import type { AgentObservation } from './stat-source.ts';
import { digestAgentStatus, foldDigests, type DigestReading, type FoldResult, type NormalizerOptions, type StatusDigest } from './normalize.ts';
import { createSettleWindow, realScheduler, type Scheduler } from './settle-window.ts';
import type { SourceCounters } from './source-stats.ts';
import { createTimeColumn, type TimeColumn } from '../platform/compact-time.ts';

/** Which of the two statistics a reading belongs to. */
export type StatisticRole = 'currentState' | 'reasons';

/**
 * One agent's newest readings, digested on arrival (the raw `AgentStatus` trees are not kept: at 50,000
 * agents they were most of the source's heap), and which statistics are invalid as bits (no Set per agent).
 */
interface AgentEntry {
  /**
   * The digests inline (no reading object per statistic). Their times are in the table's time columns at
   * `slot` (compact-time.ts: exact epoch ms for any uptime, no heap number per time); a time means nothing while
   * its digest is undefined.
   */
  currentState: StatusDigest | undefined;
  reasons: StatusDigest | undefined;
  invalid: number;
  readonly slot: number;
}

const INVALID_BIT: Record<StatisticRole, number> = { currentState: 1, reasons: 2 };

export interface AgentTableOptions {
  readonly normalizer: NormalizerOptions;
  readonly settleMs: number;
  readonly counters: SourceCounters;
  readonly emit: (observation: AgentObservation) => void;
  readonly scheduler?: Scheduler;
}

export interface AgentTable {
  /** A new value of one statistic (an update or a peek); folded after the settle window. */
  record(agentId: string, role: StatisticRole, value: unknown, at: number): void;
  /** Stat Server says the statistic cannot be tracked: the agent is unknown now (no guess is pushed). */
  markInvalid(agentId: string, role: StatisticRole, at: number): void;
  /** The statistic is valid again; the next value folds normally. */
  markValid(agentId: string, role: StatisticRole): void;
  /**
   * Adds agents whose statistics are opened (the source's scope: the table is it, no Set beside it), without
   * readings yet; returns the ones that were not in it.
   */
  add(agentIds: readonly string[]): string[];
  /** Whether the agent is in the table (its statistics are open). */
  has(agentId: string): boolean;
  /** Forgets an agent (its statistics were closed). */
  remove(agentId: string): void;
  /** Every agent in the table. */
  agentIds(): string[];
  /** How many agents are in the table. */
  readonly size: number;
  /** The current fold of an agent, without waiting for the window and without emitting. */
  observe(agentId: string): AgentObservation;
  /** Emits every pending fold now. */
  flushAll(): void;
  /** Drops pending folds (source stopping). */
  stop(): void;
}

export function createAgentTable(options: AgentTableOptions): AgentTable {
  const scheduler = options.scheduler ?? realScheduler;
  const agents = new Map<string, AgentEntry>();
  const times: Record<StatisticRole, TimeColumn> = { currentState: createTimeColumn(), reasons: createTimeColumn() };
  /** Slots of removed agents, reused before the columns grow. */
  const freeSlots: number[] = [];
  let nextSlot = 0;

  const entry = (agentId: string): AgentEntry => {
    let found = agents.get(agentId);
    if (found === undefined) {
      found = { currentState: undefined, reasons: undefined, invalid: 0, slot: freeSlots.pop() ?? nextSlot++ };
      agents.set(agentId, found);
    }
    return found;
  };

  const readingOf = (found: AgentEntry, role: StatisticRole): DigestReading | undefined => {
    const digest = found[role];
    return digest === undefined ? undefined : { digest, at: times[role].get(found.slot) ?? 0 };
  };

  const fold = (agentId: string): AgentObservation => {
    const found = agents.get(agentId);
    if (found === undefined) return { kind: 'unknown', agentId, reason: 'closed', at: scheduler.now() };
    const at = Math.max(readingOf(found, 'currentState')?.at ?? 0, readingOf(found, 'reasons')?.at ?? 0);
    if (found.invalid !== 0) return { kind: 'unknown', agentId, reason: 'invalid', at: at || scheduler.now() };
    return toObservation(foldDigests(agentId, readingOf(found, 'currentState'), readingOf(found, 'reasons')));
  };

  const window = createSettleWindow(
    options.settleMs,
    (agentId) => {
      const observation = fold(agentId);
      if (observation.kind === 'unknown') {
        // "incomplete" is a wait for the other statistic, not a problem worth counting or pushing.
        if (observation.reason === 'incomplete') return;
        options.counters.unknown(observation.reason, agentId, detailOf(agentId));
      }
      options.emit(observation);
    },
    scheduler,
  );

  const detailOf = (agentId: string): string => {
    const found = agents.get(agentId);
    if (found === undefined) return 'closed';
    const result = foldDigests(agentId, readingOf(found, 'currentState'), readingOf(found, 'reasons'));
    return result.kind === 'unknown' ? result.detail : found.invalid !== 0 ? 'statistic invalid' : '';
  };

  return {
    record(agentId, role, value, at) {
      const found = entry(agentId);
      found[role] = digestAgentStatus(value, options.normalizer);
      times[role].set(found.slot, at);
      window.touch(agentId);
    },
    markInvalid(agentId, role, at) {
      const found = entry(agentId);
      const wasValid = found.invalid === 0;
      found.invalid |= INVALID_BIT[role];
      if (!wasValid) return;
      // Drop the stale reading: when the statistic is valid again only a fresh value may fold.
      found[role] = undefined;
      window.cancel(agentId);
      options.counters.unknown('invalid', agentId, 'Stat Server reported the statistic invalid');
      options.emit({ kind: 'unknown', agentId, reason: 'invalid', at });
    },
    markValid(agentId, role) {
      const found = agents.get(agentId);
      if (found !== undefined) found.invalid &= ~INVALID_BIT[role];
    },
    add(agentIds) {
      const added: string[] = [];
      for (const agentId of agentIds) {
        if (agents.has(agentId)) continue;
        entry(agentId);
        added.push(agentId);
      }
      return added;
    },
    has: (agentId) => agents.has(agentId),
    remove(agentId) {
      const found = agents.get(agentId);
      if (found !== undefined) {
        agents.delete(agentId);
        times.currentState.clear(found.slot);
        times.reasons.clear(found.slot);
        freeSlots.push(found.slot);
      }
      window.cancel(agentId);
    },
    agentIds: () => [...agents.keys()],
    get size() {
      return agents.size;
    },
    observe: fold,
    flushAll: () => window.flushAll(),
    stop: () => window.clear(),
  };
}

function toObservation(result: FoldResult): AgentObservation {
  if (result.kind === 'snapshot') return { kind: 'snapshot', snapshot: result.snapshot };
  return { kind: 'unknown', agentId: result.agentId, reason: result.reason, at: result.at };
}
