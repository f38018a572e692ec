/**
 * GC observation: what EXAS learns of GC's actual state other than from its own writes: bulk reads (the start-up
 * and GC-recovery resyncs seed them; the periodic check of users no channel watches judges them) and
 * notifications, judged for drift (someone else changed a user in GC) under the drift policy.
 *
 * Two memories make the judgement honest:
 * - read fences: a paced bulk read of thousands of users takes seconds, so a field EXAS learned otherwise after
 *   the read began (a write acknowledged, a notification) may be newer than what the read says. Such fields are
 *   kept as EXAS knows them. Times are kept only while a read is open, for the users learned meanwhile.
 * - GC seen while unknown: while Stat Server cannot say what an agent does, EXAS defends nothing (re-asserting
 *   would push a guess); what GC holds is remembered and handed to the writer once the agent is known again.
 */
import type { Logger } from '../../log.ts';
import { isRoutingStatus, type GcUserState, type RoutingStatus } from '../../vocabulary.ts';
import { sameState } from '../desired-state.ts';
import type { DriftGuard, StatePart } from '../drift.ts';
import type { Writer } from '../writer/index.ts';
import { readAllByPages, type ObservedGcState, type PagedStateReader } from '../cold-resync.ts';
import type { AgentTable } from './agent-table.ts';
import type { Ledger } from './ledger.ts';

/** What GC holds now for some users (a bulk read). Parts GC did not give are absent. */
export interface GcStateReader {
  read(userIds: readonly string[], signal?: AbortSignal): Promise<Map<string, { presence?: string; routingStatus?: string }>>;
}

type Observed = ObservedGcState;

export interface DriftCounts {
  driftDetected: number;
  driftRepaired: number;
  driftCapped: number;
  driftGcRule: number;
}

export interface GcObservation {
  /** A GC notification (or bulk read) said `part` of `userId` is `value` (presence name, or routing status). */
  observeGc(userId: string, part: StatePart, value: string): void;
  /** Bulk-reads the given users (those no channel watches) and judges drift on them. */
  checkByBulkRead(userIds: readonly string[]): Promise<void>;
  /**
   * Reads GC's state in bulk and tells the writer where it differs from what EXAS believes; returns how many.
   * With listing pages that carry state (`pagedState`), every synced user is read by pages instead.
   */
  seedFromGc(userIds: readonly string[]): Promise<number>;
  /** What a read begun at `readAt` showed is seeded as acknowledged where it differs; returns how many differed. */
  seedRead(readAt: number, states: ReadonlyMap<string, Observed>): number;
  /** Runs a read with its fences open: fields learned meanwhile are kept as EXAS knows them. */
  during<T>(read: (readAt: number) => Promise<T>): Promise<T>;
  /** Whether every synced user can be read by listing pages (the streaming start's gap check). */
  readonly canCheckByPages: boolean;
  /**
   * Reads every synced user by listing pages and judges drift on each, as a notification would (the gap check).
   * Resolves false, reading nothing, without a paged reader.
   */
  checkByPages(): Promise<boolean>;
  /** EXAS learned `field` of `userId` otherwise than by a bulk read, now (a write acknowledged, a notification). */
  noteFieldLearned(userId: string, field: StatePart): void;
  /** A whole state was acknowledged at `at`: the fields that changed from `before` are learned then. */
  noteAcknowledged(userId: string, before: GcUserState | undefined, state: GcUserState, at: number): void;
  /** The agent is known again: what GC changed meanwhile goes to the writer, so the mapped state is sent again. */
  takeSeenWhileUnknown(userId: string, desired: GcUserState | null): void;
  /** Drops what is kept for a user no longer synced. */
  forget(userId: string): void;
  readonly counts: Readonly<DriftCounts>;
}

export interface GcObservationOptions {
  readonly table: AgentTable;
  readonly ledger: Ledger;
  readonly writer: Pick<Writer, 'get' | 'seedAcknowledged'>;
  readonly drift: DriftGuard;
  readonly gcState: GcStateReader | undefined;
  /** Every synced user's GC state by listing pages (src/sync/cold-resync.ts); absent: reads by id only. */
  readonly pagedState?: PagedStateReader | undefined;
  readonly signal: AbortSignal;
  readonly isStopped: () => boolean;
  readonly now: () => number;
  readonly log: Logger;
}

export function createGcObservation(options: GcObservationOptions): GcObservation {
  const { table, ledger, writer, drift, now, log } = options;
  const counts: DriftCounts = { driftDetected: 0, driftRepaired: 0, driftCapped: 0, driftGcRule: 0 };
  const fences = createReadFences(now);
  /** userId → what GC notified while the agent's state was unknown, applied once it is known again. */
  const seenWhileUnknown = new Map<string, Observed>();
  /** Whether "GC keeps routing status Off Queue off On Queue" was logged (once a run; per user it is debug). */
  let gcRuleLogged = false;
  const syncedUsers = (): string[] => [...table.userIds()];

  const observeGc = (notifiedId: string, part: StatePart, value: string): void => {
    const slot = table.slotOfUser(notifiedId);
    if (slot === undefined || options.isStopped()) return;
    const agentId = table.agentId[slot];
    const userId = table.userId[slot] ?? notifiedId;
    const snapshot = table.snapshot[slot] ?? null;
    const desired = table.desired[slot] ?? null;
    // While Stat Server cannot say what the agent is doing, EXAS defends nothing: re-asserting would push a guess.
    // What GC now holds is remembered and applied once the agent is known again (otherwise a change made in GC
    // during the unknown period was never repaired: EXAS still believed its own last write).
    if (snapshot === null && desired !== null) {
      const seen = seenWhileUnknown.get(userId) ?? {};
      seen[part] = value;
      seenWhileUnknown.set(userId, seen);
      // Learned now, applied later: a bulk read begun before this moment must not overwrite it either.
      fences.learned(userId, part);
      return;
    }
    // GC still holds what it last acknowledged while a newer desired value waits for its write (a storm, a
    // reload, GC slow): the writer owes that write, nobody changed GC. Judging it drift spent the re-assert cap
    // (the soak's bulk reads right after a rules reload counted thousands of such "drifts"). The writer's view is
    // per field: the ledger moves only when both fields are acknowledged, and a foreign write of the ledger's
    // older presence, made while the routing status write was still owed, went unrepaired (chaos full profile).
    const believed = writer.get(userId)?.acknowledged;
    const partOf = (state: GcUserState | null | undefined): string | undefined => (state == null ? undefined : part === 'presence' ? state.presence : state.routingStatus);
    if (value === partOf(believed) && value !== partOf(desired)) return;
    const verdict = drift.judge(userId, part, value, snapshot === null ? undefined : (desired ?? undefined));
    if (verdict.kind !== 'drift') return;
    if (verdict.action === 'gc-rule') {
      // GC's own rule undid the one re-assert: not someone's change, and nothing EXAS could write would stick.
      counts.driftGcRule += 1;
      const fields = { agentId, userId, expected: verdict.expected, observed: verdict.observed };
      if (gcRuleLogged) log.debug('GC keeps routing status Off Queue while presence is not On Queue; not re-asserting', fields);
      else {
        gcRuleLogged = true;
        log.info("GC keeps routing status Off Queue while presence is not On Queue (its native rule, applied to injected state too); EXAS re-asserts such a routing status once per change and then leaves it", fields);
      }
      return;
    }
    counts.driftDetected += 1;
    const fields = { agentId, userId, part, expected: verdict.expected, observed: verdict.observed, action: verdict.action };
    if (verdict.action === 'capped') {
      counts.driftCapped += 1;
      log.warn('drift: re-assert cap reached; only reporting', { ...fields, reason: 'someone else keeps changing this user in GC' });
      return;
    }
    if (verdict.action === 'report') {
      log.warn('drift: changed in GC by someone else (reported only)', { ...fields, reason: 'policy report' });
      return;
    }
    // Tell the writer what GC holds: it differs from the desired state, so the writer sends the mapped state again.
    // The other field from the writer's per-field view: the ledger moves only when both fields are acknowledged,
    // and a stale field seeded here (e.g. the old presence) made the writer skip a write GC still needed (chaos).
    const base = believed ?? ledger.get(userId) ?? desired;
    if (base === null) return;
    const state: GcUserState = part === 'presence' ? { ...base, presence: value } : { ...base, routingStatus: standInRoutingStatus(value, desired?.routingStatus) };
    ledger.set(userId, state);
    fences.learned(userId, part);
    writer.seedAcknowledged(userId, state, undefined, [part]);
    counts.driftRepaired += 1;
    log.warn('drift: changed in GC by someone else; re-asserting the mapped state', { ...fields, reason: 'policy re-assert' });
  };

  const checkRead = (readAt: number, states: ReadonlyMap<string, Observed>): void => {
    for (const [userId, observed] of states) {
      // A paced read of thousands of users takes seconds: a field GC acknowledged after it began may be read from
      // before that write. Judged as drift, it re-seeded the stale value and the next change back to it was never
      // written (chaos full profile, gap read after a token revocation).
      const fresh = (part: StatePart): boolean => fences.learnedAt(userId, part) <= readAt;
      if (observed.presence !== undefined && fresh('presence')) observeGc(userId, 'presence', observed.presence);
      if (observed.routingStatus !== undefined && fresh('routingStatus')) observeGc(userId, 'routingStatus', observed.routingStatus);
    }
  };

  const seedRead = (readAt: number, states: ReadonlyMap<string, Observed>): number => seedObserved(options, fences, readAt, states);

  return {
    observeGc,
    async checkByBulkRead(userIds) {
      const read = options.gcState;
      if (read === undefined || userIds.length === 0) return;
      await fences.during(async (readAt) => checkRead(readAt, await read.read(userIds, options.signal)));
    },
    async seedFromGc(userIds) {
      const pages = options.pagedState;
      if (pages !== undefined && userIds.length > 0) {
        return fences.during(async () => {
          let differing = 0;
          await readAllByPages(pages, syncedUsers, options.gcState, (readAt, states) => (differing += seedRead(readAt, states)), now, options.signal);
          return differing;
        });
      }
      const read = options.gcState;
      if (read === undefined || userIds.length === 0) return 0;
      return fences.during(async (readAt) => seedRead(readAt, await read.read(userIds, options.signal)));
    },
    seedRead,
    during: (read) => fences.during(read),
    canCheckByPages: options.pagedState !== undefined,
    async checkByPages() {
      const pages = options.pagedState;
      if (pages === undefined) return false;
      await fences.during(() => readAllByPages(pages, syncedUsers, options.gcState, checkRead, now, options.signal));
      return true;
    },
    noteFieldLearned: (userId, field) => fences.learned(userId, field),
    noteAcknowledged(userId, before, state, at) {
      if (before?.presence !== state.presence) fences.learned(userId, 'presence', at);
      if (before?.routingStatus !== state.routingStatus) fences.learned(userId, 'routingStatus', at);
    },
    takeSeenWhileUnknown(userId, desired) {
      const seen = seenWhileUnknown.get(userId);
      if (seen === undefined) return;
      seenWhileUnknown.delete(userId);
      // The writer's per-field view, not the ledger that moves only when both fields are acknowledged: a foreign
      // write equal to the ledger's older state looked like no change and was never repaired (chaos full profile,
      // gc-slow + drift + stat-invalid), as for drift re-asserts (`observeGc`).
      const base = writer.get(userId)?.acknowledged ?? ledger.get(userId) ?? desired;
      if (base == null) return;
      const state: GcUserState = {
        presence: seen.presence ?? base.presence,
        routingStatus: seen.routingStatus === undefined ? base.routingStatus : standInRoutingStatus(seen.routingStatus, desired?.routingStatus),
      };
      if (sameState(state, base)) return;
      ledger.set(userId, state);
      writer.seedAcknowledged(userId, state, undefined, (['presence', 'routingStatus'] as const).filter((field) => seen[field] !== undefined));
    },
    forget(userId) {
      fences.forget(userId);
      seenWhileUnknown.delete(userId);
    },
    counts,
  };
}

/** Seeds what a read begun at `readAt` showed as acknowledged where it differs from what EXAS believes; returns how many. */
function seedObserved(
  { table, ledger, writer }: Pick<GcObservationOptions, 'table' | 'ledger' | 'writer'>,
  fences: ReadFences,
  readAt: number,
  states: ReadonlyMap<string, Observed>,
): number {
  let differing = 0;
  for (const [readId, observed] of states) {
    const slot = table.slotOfUser(readId);
    const userId = slot === undefined ? null : table.userId[slot];
    if (slot === undefined || userId == null) continue;
    const believed = table.ackState[slot] ?? table.desired[slot] ?? undefined;
    let state = observedState(observed, believed);
    if (state === undefined) continue;
    // A field GC acknowledged after the read began may be read from before that write: keep what EXAS believes
    // for it (seeding the read would send it again). The other field is read as GC holds it: skipping the whole
    // user left a field that differed in GC (e.g. a write that reached GC just before a SIGKILL) wrong for good.
    if (believed !== undefined && fences.has(userId)) {
      state = {
        presence: fences.learnedAt(userId, 'presence') > readAt ? believed.presence : state.presence,
        routingStatus: fences.learnedAt(userId, 'routingStatus') > readAt ? believed.routingStatus : state.routingStatus,
      };
    }
    if (sameState(state, believed)) continue;
    differing += 1;
    ledger.set(userId, state);
    writer.seedAcknowledged(userId, state);
  }
  return differing;
}

/**
 * userId → when EXAS last learned each field's value in GC other than by a bulk read. A bulk read begun before
 * that may predate it (chaos full profile: a GC-recovery read that began before a foreign write seeded the
 * pre-drift values over the drift re-asserts, which were then never sent). Only a read open when a field was
 * learned can predate it, so times are kept only while one is open and dropped when the last one ends: the map
 * holds the users learned during reads, not every user ever written (about 180 bytes a user at 50,000).
 */
interface ReadFences {
  during<T>(read: (readAt: number) => Promise<T>): Promise<T>;
  learned(userId: string, field: StatePart, at?: number): void;
  learnedAt(userId: string, field: StatePart): number;
  has(userId: string): boolean;
  forget(userId: string): void;
}

function createReadFences(now: () => number): ReadFences {
  const learnedAt = new Map<string, { presence: number; routingStatus: number }>();
  let openReads = 0;
  return {
    async during(read) {
      openReads += 1;
      try {
        return await read(now());
      } finally {
        openReads -= 1;
        if (openReads === 0) learnedAt.clear();
      }
    },
    learned(userId, field, at) {
      if (openReads === 0) return;
      let times = learnedAt.get(userId);
      if (times === undefined) {
        times = { presence: Number.NEGATIVE_INFINITY, routingStatus: Number.NEGATIVE_INFINITY };
        learnedAt.set(userId, times);
      }
      times[field] = at ?? now();
    },
    learnedAt: (userId, field) => learnedAt.get(userId)?.[field] ?? Number.NEGATIVE_INFINITY,
    has: (userId) => learnedAt.has(userId),
    forget: (userId) => void learnedAt.delete(userId),
  };
}

/** A full state from a GC read, filling parts GC did not give from `believed`; undefined when nothing usable. */
function observedState(observed: Observed, believed: GcUserState | undefined): GcUserState | undefined {
  const presence = observed.presence ?? believed?.presence;
  if (presence === undefined) return undefined;
  const routing = observed.routingStatus ?? believed?.routingStatus;
  if (routing === undefined) return undefined;
  return { presence, routingStatus: standInRoutingStatus(routing, believed?.routingStatus) };
}

/**
 * GC can report a routing status EXAS never sets (`NotResponding`). The writer's acknowledged state holds only
 * settable values, so such a value is recorded as one that differs from what EXAS wants, which is all the writer
 * needs to know to send the mapped value again.
 */
export function standInRoutingStatus(value: string, wanted: RoutingStatus | undefined): RoutingStatus {
  if (isRoutingStatus(value)) return value;
  return wanted === 'OffQueue' ? 'Idle' : 'OffQueue';
}
