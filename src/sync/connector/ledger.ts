/**
 * The ledger of acknowledged states: per synced user, what GC last acknowledged (or a read, or the store, said),
 * with the writer's version and when. It lives in the agent table's `ack*` columns, not in a map of entry
 * objects by user id, and is what the store saves (debounced) and seeds at start-up.
 *
 * Users not synced have no entry: a write acknowledged after its agent left scope (or got another GC user) is
 * dropped here.
 */
import type { Logger } from '../../log.ts';
import type { GcUserState } from '../../vocabulary.ts';
import { sharedState } from '../desired-state.ts';
import type { AcknowledgedEntries, AcknowledgedEntry, AcknowledgedStore } from '../store.ts';
import type { Writer } from '../writer/index.ts';
import type { AgentTable } from './agent-table.ts';

/** The store of acknowledged states (src/sync/store.ts), as the connector uses it. */
export type StatePersistence = Pick<AcknowledgedStore, 'load' | 'scheduleSave' | 'flush'>;

export interface Ledger {
  /** What GC last acknowledged for a synced user (undefined: none, or not synced). */
  get(userId: string): GcUserState | undefined;
  /** Records what GC holds for a synced user (a no-op for a user not synced) and schedules a save. */
  set(userId: string, state: GcUserState, version?: number): void;
  /** Schedules a save (an entry went with its user). */
  persist(): void;
  /** Seeds the ledger and the writer from the store (start-up). */
  seedFromStore(): Promise<void>;
  /** The store's entries (the streaming start seeds them page by page); undefined when none is usable. */
  loadStored(): Promise<ReadonlyMap<string, AcknowledgedEntry> | undefined>;
  /** The store's entry for a synced user becomes its ledger entry and what the writer takes as acknowledged. */
  seedStored(userId: string, entry: AcknowledgedEntry): boolean;
  /** Writes the ledger to the store now (shutdown). */
  save(): Promise<void>;
}

export interface LedgerOptions {
  readonly table: AgentTable;
  readonly writer: Pick<Writer, 'seedAcknowledged'>;
  readonly store: StatePersistence | undefined;
  readonly now: () => number;
  readonly log: Logger;
}

export function createLedger({ table, writer, store, now, log }: LedgerOptions): Ledger {
  /** The view the store saves: every synced user's entry, visited on each save. */
  const entries: AcknowledgedEntries = {
    forEach(visit) {
      for (const slot of table.slots()) {
        const userId = table.userId[slot];
        const state = table.ackState[slot];
        if (userId == null || state === undefined) continue;
        visit({ state, version: table.ackVersion[slot] ?? 0, at: table.ackAt[slot] ?? 0 }, userId);
      }
    },
  };
  const persist = (): void => store?.scheduleSave(() => entries);

  const loadStored = async (): Promise<ReadonlyMap<string, AcknowledgedEntry> | undefined> => {
    if (store === undefined) return undefined;
    const loaded = await store.load();
    if (loaded.status === 'loaded') return loaded.entries;
    log.info('no usable store; every user is resynced from its Engage state', { status: loaded.status, detail: loaded.detail });
    return undefined;
  };

  const seedStored = (storedId: string, entry: AcknowledgedEntry): boolean => {
    const slot = table.slotOfUser(storedId);
    const userId = slot === undefined ? null : table.userId[slot];
    if (slot === undefined || userId == null) return false;
    table.ackState[slot] = sharedState(entry.state.presence, entry.state.routingStatus);
    table.ackVersion[slot] = entry.version;
    table.ackAt[slot] = entry.at;
    // The table's own id string: ids parsed from the store are copies, and keeping them would double every id.
    writer.seedAcknowledged(userId, entry.state, entry.version);
    return true;
  };

  return {
    get(userId) {
      const slot = table.slotOfUser(userId);
      return slot === undefined ? undefined : table.ackState[slot];
    },
    set(userId, state, version) {
      const slot = table.slotOfUser(userId);
      // A user no longer synced (left scope, or its agent got another user, while a write was in flight).
      if (slot === undefined) return;
      table.ackState[slot] = sharedState(state.presence, state.routingStatus);
      if (version !== undefined) table.ackVersion[slot] = version;
      table.ackAt[slot] = now();
      persist();
    },
    persist,
    async seedFromStore() {
      const loaded = await loadStored();
      if (loaded === undefined) return;
      let seeded = 0;
      for (const [storedId, entry] of loaded) if (seedStored(storedId, entry)) seeded += 1;
      log.info('acknowledged states seeded from the store', { users: seeded, stored: loaded.size });
    },
    loadStored,
    seedStored,
    async save() {
      // The store's flush never throws; it logs and keeps the old file on failure.
      store?.scheduleSave(() => entries);
      await store?.flush();
    },
  };
}
