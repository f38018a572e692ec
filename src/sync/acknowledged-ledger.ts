/**
 * The in-memory side of the store: the acknowledged state per user, kept current from the writer's
 * `onAcknowledged` and saved through `AcknowledgedStore.scheduleSave` (so a burst of acknowledgements costs
 * one snapshot write). Wiring: `createWriter({ onAcknowledged: ledger.record })`, `forget` → `ledger.remove`.
 */
import type { GcUserState } from '../vocabulary.ts';
import type { AcknowledgedEntry, AcknowledgedStore } from './store.ts';

/** The acknowledged state per user, persisted through a store. */
export interface AcknowledgedLedger {
  /** Records GC's acknowledgement (same signature as `WriterOptions.onAcknowledged`). */
  readonly record: (userId: string, state: GcUserState, version: number) => void;
  /** Drops a user that left scope. */
  readonly remove: (userId: string) => void;
  readonly entries: ReadonlyMap<string, AcknowledgedEntry>;
  /** Saves pending changes now (shutdown). */
  flush(): Promise<void>;
}

/**
 * @example
 * const { entries } = await store.load();
 * const ledger = createAcknowledgedLedger(store, entries);
 * const writer = createWriter({ targets, onAcknowledged: ledger.record });
 */
export function createAcknowledgedLedger(
  store: AcknowledgedStore,
  initial: ReadonlyMap<string, AcknowledgedEntry> = new Map(),
  now: () => number = Date.now,
): AcknowledgedLedger {
  const entries = new Map<string, AcknowledgedEntry>(initial);
  const snapshot = (): ReadonlyMap<string, AcknowledgedEntry> => entries;
  return {
    record: (userId, state, version) => {
      entries.set(userId, { state: { presence: state.presence, routingStatus: state.routingStatus }, version, at: now() });
      store.scheduleSave(snapshot);
    },
    remove: (userId) => {
      if (entries.delete(userId)) store.scheduleSave(snapshot);
    },
    entries,
    flush: () => store.flush(),
  };
}
