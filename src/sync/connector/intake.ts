/**
 * Intake: an observation from Stat Server → the compiled rules → the desired GC state of the agent's user, handed
 * to the writer (which sends only what differs). Unknown states push nothing (no guesses); unmatched ones leave
 * the user as it is. Also keeps what follows a push: the drift guard's note of the new ask, the event → GC
 * latency start, and the operator's bounded list of recent changes.
 *
 * Before the start-up resync began, nothing is pushed: acknowledged states (store, GC read) are not known yet,
 * and `keep` decided then would see a fallback instead of the user's real presence.
 */
import type { Logger } from '../../log.ts';
import type { ExasMetrics } from '../../metrics/index.ts';
import type { AgentObservation } from '../../statserver/stat-source.ts';
import type { GcUserState, RuleRef } from '../../vocabulary.ts';
import { desiredFor, sameState } from '../desired-state.ts';
import type { DriftGuard } from '../drift.ts';
import type { RulesHolder } from '../rules-holder.ts';
import type { Writer } from '../writer/index.ts';
import { timeAt, type AgentTable } from './agent-table.ts';
import type { Ledger } from './ledger.ts';

/** Why a decision is made: a Stat Server event, a resync, a rules reload, or a GC user newly resolved. */
export type Cause = 'event' | 'resync' | 'reload' | 'identity';

/** One change EXAS wrote (or is writing) to GC, for the status page's "recent changes". */
export interface RecentChange {
  readonly agentId: string;
  /** Epoch ms of the change. */
  readonly at: number;
  readonly from: GcUserState | null;
  readonly to: GcUserState;
  readonly rule: RuleRef | null;
}

export interface IntakeCounts {
  unmatched: number;
  unknown: number;
  observations: number;
}

export interface Intake {
  /** A Stat Server observation (an event, or a peek's answer). */
  onObservation(observation: AgentObservation): void;
  /** Decides for the slot's snapshot and hands the result to the writer. Unknown / unmatched push nothing. */
  apply(slot: number, cause: Cause, receivedAt?: number): void;
  /** `apply` for every agent in scope. */
  applyAll(cause: Cause): void;
  /** GC acknowledged `version` of `userId` at `at`: the event → GC latency of the newest event-driven write ends. */
  acknowledged(userId: string, version: number, at: number): void;
  /** Drops the latency start of a user (left scope, or its write was taken as done). */
  forgetLatency(userId: string): void;
  /** Newest first, at most 50. */
  recentChanges(): readonly RecentChange[];
  readonly counts: Readonly<IntakeCounts>;
}

export interface IntakeOptions {
  readonly table: AgentTable;
  readonly ledger: Ledger;
  readonly writer: Pick<Writer, 'setDesired' | 'get'>;
  readonly rules: Pick<RulesHolder, 'current'>;
  readonly drift: Pick<DriftGuard, 'noteDesired'>;
  readonly keepFallback: string;
  readonly metrics: Pick<ExasMetrics, 'eventToGcLatency' | 'decisions'> | undefined;
  /** Whether the start-up resync began (before it, nothing is pushed). */
  readonly pushing: () => boolean;
  readonly isStopped: () => boolean;
  /** The agent is known again: what GC changed meanwhile goes to the writer first. */
  readonly knownAgain: (userId: string, desired: GcUserState | null) => void;
  readonly now: () => number;
  readonly log: Logger;
}

const RECENT_CHANGES = 50;

export function createIntake(options: IntakeOptions): Intake {
  const { table, ledger, writer, rules, drift, keepFallback, now, log } = options;
  const counts: IntakeCounts = { unmatched: 0, unknown: 0, observations: 0 };
  /** userId → the newest event-driven version and when its event arrived, for the event → GC latency. */
  const latencyPending = new Map<string, { version: number; receivedAt: number }>();
  const recent: RecentChange[] = [];

  const push = (slot: number, desired: GcUserState, cause: Cause, receivedAt: number | undefined): void => {
    const userId = table.userId[slot] ?? null;
    // Without a GC user nothing is desired yet: deciding again once identity resolves lets `keep` see the
    // stored / GC-read presence instead of a fallback chosen too early.
    if (userId === null || !options.pushing()) return;
    const previous = table.desired[slot] ?? null;
    table.desired[slot] = desired;
    const at = now();
    const version = writer.setDesired(userId, desired, receivedAt ?? at);
    // Unchanged desired states (resyncs, reloads) are not new writes: they must not reopen the echo window.
    if (!sameState(previous ?? undefined, desired)) {
      const previousAt = timeAt(table.desiredAt, slot);
      drift.noteDesired(userId, desired, previous === null || previousAt === undefined ? undefined : { state: previous, at: previousAt });
      table.desiredAt[slot] = at;
    }
    const view = writer.get(userId);
    const owed = view !== undefined && (view.pendingSince !== undefined || view.inFlight);
    if (owed) table.lastWriteAt[slot] = at;
    // Latency is measured only for events that cause a write; a no-op must not leave a start time behind.
    if (cause === 'event' && receivedAt !== undefined && owed) latencyPending.set(userId, { version, receivedAt });
    else if (!owed) latencyPending.delete(userId);
    const from = previous ?? ledger.get(userId) ?? null;
    if (!sameState(from ?? undefined, desired)) {
      recent.unshift({ agentId: table.agentId[slot] ?? '', at, from, to: desired, rule: table.decision[slot]?.rule ?? null });
      if (recent.length > RECENT_CHANGES) recent.length = RECENT_CHANGES;
    }
  };

  const apply = (slot: number, cause: Cause, receivedAt?: number): void => {
    const program = rules.current();
    const snapshot = table.snapshot[slot] ?? null;
    if (program === null || snapshot === null) return;
    const userId = table.userId[slot] ?? null;
    const outcome = desiredFor(
      snapshot,
      program,
      { desired: table.desired[slot]?.presence, acknowledged: userId === null ? undefined : ledger.get(userId)?.presence },
      keepFallback,
    );
    table.decision[slot] = outcome.decision;
    table.decidedAt[slot] = now();
    if (cause === 'event') options.metrics?.decisions.record(outcome.decision.rule);
    if (outcome.kind === 'unmatched') {
      if (cause === 'event') {
        counts.unmatched += 1;
        log.debug('no rule matched; user left unchanged', {
          agentId: table.agentId[slot],
          userId,
          state: snapshot.state,
          callType: snapshot.callType,
          reason: snapshot.reason,
        });
      }
      return;
    }
    push(slot, outcome.desired, cause, receivedAt);
  };

  const onObservation = (observation: AgentObservation): void => {
    if (options.isStopped()) return;
    const agentId = observation.kind === 'snapshot' ? observation.snapshot.agentId : observation.agentId;
    const slot = table.slotOf(agentId);
    if (slot === undefined) return; // not in scope (a late update after close)
    counts.observations += 1;
    const receivedAt = now();
    const userId = table.userId[slot] ?? null;
    if (observation.kind === 'unknown') {
      // Stat Server cannot say (invalid statistic, lost T-Server, unknown code): push nothing, no guesses.
      if (table.unknownReason[slot] === undefined) {
        counts.unknown += 1;
        log.info('agent state unknown; not pushed until valid', { agentId, userId, reason: observation.reason });
      }
      table.snapshot[slot] = null;
      table.unknownReason[slot] = observation.reason;
      table.lastEventAt[slot] = observation.at;
      return;
    }
    table.snapshot[slot] = observation.snapshot;
    table.unknownReason[slot] = undefined;
    table.lastEventAt[slot] = observation.snapshot.at;
    if (userId !== null) options.knownAgain(userId, table.desired[slot] ?? null);
    apply(slot, 'event', receivedAt);
  };

  return {
    onObservation,
    apply,
    applyAll(cause) {
      for (const slot of table.slots()) apply(slot, cause);
    },
    acknowledged(userId, version, at) {
      const pending = latencyPending.get(userId);
      if (pending === undefined || version < pending.version) return;
      latencyPending.delete(userId);
      options.metrics?.eventToGcLatency.observe((at - pending.receivedAt) / 1000);
    },
    forgetLatency: (userId) => void latencyPending.delete(userId),
    recentChanges: () => recent,
    counts,
  };
}
