/**
 * An adapter from the file store (entries with version and time) to the plain "state per user" port the
 * connector uses (`load()` → states, `save(states)`), so `exas run` can pass
 * `createStateStore(createFileStore(path))` as the connector's store. Versions and acknowledgement times
 * survive a round trip: a user whose state did not change keeps its stored version and time.
 */
import type { GcUserState } from '../vocabulary.ts';
import type { AcknowledgedEntry, AcknowledgedStore, StoreLoadStatus } from './store.ts';

/** Acknowledged states per user, without versions. */
export interface StateStore {
  /** The saved states; missing, corrupt or incompatible → an empty map (never throws). */
  load(): Promise<ReadonlyMap<string, GcUserState>>;
  /** Saves a snapshot atomically; rejects when the write failed (the old snapshot stays). */
  save(states: ReadonlyMap<string, GcUserState>): Promise<void>;
  /** How the last `load()` went (`undefined` before it). */
  readonly lastLoadStatus: StoreLoadStatus | undefined;
}

export interface StateStoreOptions {
  /** The writer's version of a user's acknowledged state, e.g. `(id) => writer.get(id)?.acknowledgedVersion`. */
  versionOf?: (userId: string) => number | undefined;
  now?: () => number;
}

/**
 * @example
 * const store = createStateStore(createFileStore(config.store.path), { versionOf: (id) => writer.get(id)?.acknowledgedVersion });
 */
export function createStateStore(store: AcknowledgedStore, options: StateStoreOptions = {}): StateStore {
  const now = options.now ?? Date.now;
  let known = new Map<string, AcknowledgedEntry>();
  let lastLoadStatus: StoreLoadStatus | undefined;
  return {
    async load() {
      const loaded = await store.load();
      lastLoadStatus = loaded.status;
      known = loaded.entries;
      const states = new Map<string, GcUserState>();
      for (const [userId, entry] of loaded.entries) states.set(userId, entry.state);
      return states;
    },
    async save(states) {
      const at = now();
      const entries = new Map<string, AcknowledgedEntry>();
      for (const [userId, state] of states) {
        const previous = known.get(userId);
        const unchanged =
          previous !== undefined && previous.state.presence === state.presence && previous.state.routingStatus === state.routingStatus;
        const version = options.versionOf?.(userId) ?? previous?.version ?? 0;
        entries.set(userId, {
          state: { presence: state.presence, routingStatus: state.routingStatus },
          version: Math.max(version, previous?.version ?? 0),
          at: unchanged ? previous.at : at,
        });
      }
      await store.save(entries);
      known = entries;
    },
    get lastLoadStatus() {
      return lastLoadStatus;
    },
  };
}
