/**
 * Scope and identity: which agents EXAS syncs (the scope provider's list, re-read periodically) and which GC user
 * each one is (the identity lookup, re-read periodically, and at once for agents that had none). Entering agents
 * are opened and peeked at Stat Server; leaving ones are closed and forgotten (left alone in GC). An agent whose
 * GC user changes (a re-created user, a new external id) stops being written to the old one.
 */
import type { Logger } from '../../log.ts';
import type { StatSource } from '../../statserver/stat-source.ts';
import type { DriftGuard } from '../drift.ts';
import { diffScope, type ScopeProvider } from '../scope.ts';
import type { Writer } from '../writer/index.ts';
import type { AgentTable } from './agent-table.ts';
import type { Cause, Intake } from './intake.ts';
import type { Ledger } from './ledger.ts';
import { describe, StoppedError, type RunControl } from './run-control.ts';

/** Agent ids → GC user ids (agents without a user left out). */
export type IdentityLookup = (agentIds: readonly string[], signal?: AbortSignal) => Promise<Map<string, string>>;

export interface ScopeIdentity {
  /** Start-up: reads scope (retrying while it fails) and adds every agent. */
  readScope(): Promise<void>;
  /** Opens statistics of the given agents and folds in their current values. */
  openAndPeek(agentIds: readonly string[]): Promise<void>;
  /** Assigns resolved GC users to their agents; returns the users newly assigned. */
  assignUsers(resolved: ReadonlyMap<string, string>, cause: Cause): string[];
  /**
   * While held, listeners are not told of new users (the streaming start: channels come after its writes);
   * releasing does not tell them either: the caller calls `notifyUsers` when it wants the channels.
   */
  holdUserNotices(held: boolean): void;
  /** Tells the listeners the synced users now. */
  notifyUsers(): void;
  /** Resolves the GC users of the given agents and assigns them. */
  resolveIdentities(agentIds: readonly string[], cause: Cause): Promise<void>;
  /** Re-reads scope: entering agents are opened and resolved (the new users returned), leaving ones forgotten. */
  refreshScope(): Promise<string[]>;
  /** Starts the periodic scope and identity refreshes. */
  startLoops(onEntered: (userIds: string[]) => void): void;
  /** GC user ids of every synced agent. */
  syncedUsers(): string[];
  /** Called when the synced users change (scope or identity). Returns unsubscribe. */
  onSyncedUsersChange(listener: (userIds: string[]) => void): () => void;
}

export interface ScopeIdentityOptions {
  readonly table: AgentTable;
  readonly ledger: Ledger;
  readonly intake: Pick<Intake, 'apply' | 'onObservation' | 'forgetLatency'>;
  readonly writer: Pick<Writer, 'forget'>;
  readonly drift: Pick<DriftGuard, 'forget'>;
  /** Drops GC observation's memories of a user no longer synced. */
  readonly forgetObserved: (userId: string) => void;
  readonly source: StatSource;
  readonly scope: ScopeProvider;
  readonly identity: IdentityLookup;
  readonly run: RunControl;
  /** Whether identity was resolved once (before, refreshes leave new agents for the start-up resolution). */
  readonly identityResolvedOnce: () => boolean;
  readonly scopeRefreshMs: number;
  readonly identityRefreshMs: number;
  readonly log: Logger;
}

export function createScopeIdentity(options: ScopeIdentityOptions): ScopeIdentity {
  const { table, ledger, intake, source, run, log } = options;
  const listeners = new Set<(userIds: string[]) => void>();
  let noticesHeld = false;

  const notifyUsers = (): void => {
    if (listeners.size === 0 || noticesHeld) return;
    const users = [...table.userIds()];
    for (const listener of listeners) listener(users);
  };

  /** Stops writing to a user: nothing more is written and its stored state is dropped. */
  const forgetUser = (userId: string): void => {
    options.writer.forget(userId);
    options.drift.forget(userId);
    table.dropUser(userId);
    options.forgetObserved(userId);
    ledger.persist();
  };

  const assignUsers = (resolved: ReadonlyMap<string, string>, cause: Cause): string[] => {
    const changed: string[] = [];
    for (const [agentId, userId] of resolved) {
      const slot = table.slotOf(agentId);
      if (slot === undefined || table.userId[slot] === userId) continue;
      const previous = table.userId[slot] ?? null;
      if (previous !== null) {
        // The agent's GC user changed (re-created user, new external id): stop writing to the old one.
        forgetUser(previous);
        // The ledger entry was the old user's: the new one has none until GC acknowledges it or a read says.
        table.ackState[slot] = undefined;
        table.ackVersion[slot] = 0;
        // Asks made for the old user are not the new one's (no echo of them can come from it).
        table.desiredAt[slot] = Number.NaN;
      }
      table.setUser(slot, userId);
      changed.push(userId);
      if (cause === 'identity' && table.snapshot[slot] != null) intake.apply(slot, 'identity');
    }
    if (changed.length > 0) notifyUsers();
    return changed;
  };

  const openAndPeek = async (agentIds: readonly string[]): Promise<void> => {
    if (agentIds.length === 0) return;
    await source.open(agentIds);
    const observations = await source.peek(agentIds);
    for (const observation of observations) intake.onObservation(observation);
  };

  const resolveIdentities = async (agentIds: readonly string[], cause: Cause): Promise<void> => {
    if (agentIds.length === 0) return;
    const resolved = await options.identity(agentIds, run.signal);
    assignUsers(resolved, cause);
    const missing = agentIds.filter((agentId) => !resolved.has(agentId));
    if (missing.length > 0) log.warn('agents without a GC user; not synced until one appears', { count: missing.length, sample: missing.slice(0, 10) });
  };

  const leave = async (left: readonly string[]): Promise<void> => {
    for (const agentId of left) {
      const slot = table.slotOf(agentId);
      const userId = slot === undefined ? null : (table.userId[slot] ?? null);
      table.remove(agentId);
      if (userId !== null) {
        // Left alone in GC: nothing more is written for this user, and its stored state is dropped.
        forgetUser(userId);
        intake.forgetLatency(userId);
      }
    }
    try {
      await source.close(left);
    } catch (error) {
      log.warn('closing statistics of agents leaving scope failed', { count: left.length, reason: describe(error) });
    }
    log.info('agents left scope; statistics closed, GC users left as they are', { count: left.length, sample: left.slice(0, 10) });
    notifyUsers();
  };

  const refreshScope = async (): Promise<string[]> => {
    const next = await options.scope(run.signal);
    const { entered, left } = diffScope(new Set(table.agentIds()), next);
    if (left.length > 0) await leave(left);
    for (const agentId of entered) table.add(agentId);
    if (entered.length > 0) {
      log.info('agents entered scope', { count: entered.length, sample: entered.slice(0, 10) });
      await openAndPeek(entered);
    }
    // New agents, and earlier ones that had no GC user yet.
    const unresolved = [...table.slots()].filter((slot) => table.userId[slot] == null).map((slot) => table.agentId[slot] ?? '');
    if (!options.identityResolvedOnce() || unresolved.length === 0) return [];
    await resolveIdentities(unresolved, 'identity');
    return entered.flatMap((agentId) => {
      const slot = table.slotOf(agentId);
      const userId = slot === undefined ? null : table.userId[slot];
      return typeof userId === 'string' ? [userId] : [];
    });
  };

  const loop = (ms: number, task: () => Promise<void>, failure: string): void => {
    if (ms <= 0) return;
    const next = (): void =>
      run.schedule(ms, () => {
        task()
          .catch((error: unknown) => {
            if (!(error instanceof StoppedError)) log.warn(failure, { reason: describe(error) });
          })
          .finally(next);
      });
    next();
  };

  return {
    async readScope() {
      const scope = await run.retrying('reading scope', () => options.scope(run.signal));
      for (const agentId of new Set(scope)) table.add(agentId);
      log.info('scope read', { agents: table.size });
    },
    openAndPeek,
    assignUsers,
    holdUserNotices: (held) => void (noticesHeld = held),
    notifyUsers,
    resolveIdentities,
    refreshScope,
    startLoops(onEntered) {
      loop(options.scopeRefreshMs, async () => onEntered(await refreshScope()), 'scope refresh failed; keeping the last scope');
      loop(options.identityRefreshMs, () => resolveIdentities([...table.agentIds()], 'identity'), 'identity refresh failed; keeping the last mapping');
    },
    syncedUsers: () => [...table.userIds()],
    onSyncedUsersChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
