/**
 * Drift judgement: given what GC notified about one part (presence or routing status) of a synced user, decide
 * whether it is the echo of EXAS's own write, agrees with the desired state, or is drift someone else caused;
 * and whether to re-assert it, within a per-user cap (default 3 re-asserts in 5 minutes) so EXAS never fights
 * GC or a person in a loop. Pure apart from its own small per-user memory; time comes from `now`.
 *
 * GC's native rule "routing status is Off Queue unless presence is On Queue" may hold for injected state too
 * (undocumented; the emulator's `offQueueUnlessOnQueue`). Under it, an Off Queue EXAS did not ask for, while
 * the desired presence is not On Queue, comes back after every re-assert. Such an Off Queue is re-asserted
 * once per desired state (a foreign change is repaired by that), and after that recognised as GC's rule
 * (`gc-rule`): nothing is written until the desired state changes, however often GC reports it.
 */
import { packTime, unpackTime, type PackedTime } from '../platform/compact-time.ts';
import type { GcUserState } from '../vocabulary.ts';

export type DriftPolicy = 're-assert' | 'report' | 'off';
export type StatePart = 'presence' | 'routingStatus';

export interface DriftGuardOptions {
  readonly policy: DriftPolicy;
  /** Re-asserts allowed per user within `windowMs`. */
  readonly maxReasserts: number;
  readonly windowMs: number;
  /** A notified value EXAS asked for within this long is its own echo. */
  readonly echoWindowMs: number;
  readonly now: () => number;
}

/** What to do about one notification. */
export type DriftVerdict =
  /** The notified value is what EXAS wants: nothing to do. */
  | { readonly kind: 'in-sync' }
  /** A value EXAS itself asked for recently (a write superseded since, arriving late): ignore it. */
  | { readonly kind: 'echo' }
  /** EXAS has no desired state for this user (unknown or unmatched agent): nothing to defend. */
  | { readonly kind: 'untracked' }
  /** Someone else changed the user; `action` says what EXAS does about it. */
  | { readonly kind: 'drift'; readonly action: 're-assert' | 'report' | 'capped' | 'gc-rule'; readonly expected: string; readonly observed: string };

export interface DriftGuard {
  /**
   * Remembers that EXAS asked for `state` for `userId` now (call on every change of the desired state), with the
   * ask before it (`previous`: the desired state it replaces and when that was asked; undefined if none). A user's
   * only ask is not kept: it is the desired state `judge` is given, which no echo can differ from. Memory is made
   * when a second ask comes within the echo window, from `previous` (~90 bytes a user, all users at once in a
   * resync).
   */
  noteDesired(userId: string, state: GcUserState, previous: Ask | undefined): void;
  /**
   * GC acknowledged the user's current desired state. Once that is a little while ago, a notification of an
   * older value is no longer a late echo but someone else's change, even inside the echo window.
   */
  noteSettled(userId: string): void;
  /** Judges a notified `observed` value of `part` against `desired` (what EXAS wants now), counting re-asserts. */
  judge(userId: string, part: StatePart, observed: string, desired: GcUserState | undefined): DriftVerdict;
  /** Drops a user's memory (left scope). */
  forget(userId: string): void;
  /** Counters, and `remembered`: users whose recent changes or re-asserts can still sway a verdict. */
  stats(): { detected: number; reasserted: number; reported: number; capped: number; gcRule: number; echoes: number; remembered: number };
}

/** A desired state EXAS asked for, and when (epoch ms). */
export interface Ask {
  readonly state: GcUserState;
  readonly at: number;
}

interface Memory {
  /**
   * The newest asked state and when, inline (an array and an object for it cost about 100 bytes a user).
   * `newestState` is undefined in a memory made for a re-assert before the user's next ask.
   */
  newestState: GcUserState | undefined;
  /** Packed (see compact-time.ts): an epoch-ms number here was a 16-byte box in every memory. */
  newestAt: PackedTime;
  /**
   * The asks before the newest, oldest first (undefined while none). Replaced by an exact-length copy, never
   * pushed to: a pushed (or spread) array keeps room for 17 entries.
   */
  older: readonly Ask[] | undefined;
  /** Times of recent re-asserts (created at the first one: most users are never re-asserted). */
  reasserts: number[] | undefined;
  /** When GC acknowledged the current desired state. */
  settledAt: PackedTime | undefined;
  /**
   * Parts whose newest asked value GC has already notified back. GC applies one user's writes in the order EXAS
   * sends them (one request per user at a time) and notifies in that order, so after that notification no older
   * value of the part can still arrive as an echo: a later one is someone else's change. Bits of `PART_BIT`
   * (a Set per user cost about 200 bytes each at 50,000 users).
   */
  confirmed: number;
  /**
   * An Off Queue the native rule explains was re-asserted once for the current desired state: the next one is
   * GC's rule, not someone's change (see the module comment). Cleared when the desired state changes.
   */
  offQueueReasserted: boolean;
}

const PART_BIT: Record<StatePart, number> = { presence: 1, routingStatus: 2 };

/**
 * How long after GC acknowledged the current state a notification of an older value may still be in transit,
 * when GC has not yet notified the current value itself (that notification settles it at once, see `confirmed`).
 * Notifications can trail the HTTP answers by seconds under load (the chaos suite saw more than 2 s); a late
 * echo judged as drift re-asserts from a stale view, so this errs long.
 */
const ECHO_SETTLE_MS = 10_000;

/** Re-asserts of one user this close together answer one foreign change (its presence and routing notifications). */
const SAME_CHANGE_MS = 1_000;

/**
 * Most remembered recent desired states per user (each holds both parts, by reference: the connector's states
 * are shared objects): enough for a burst of changes, bounded so memory stays flat.
 */
const MAX_RECENT = 4;

/**
 * Whether a user's memory can no longer change a verdict at `now`: every asked value is outside the echo window
 * and every re-assert outside the cap's window. Judging without it gives the same answer, so it is dropped:
 * memory stays proportional to the users that changed lately, not to all users ever synced.
 */
function stale(entry: Memory, now: number, options: DriftGuardOptions): boolean {
  // Forgetting it would re-assert once more per sweep against GC's rule; it goes with the next desired state.
  if (entry.offQueueReasserted) return false;
  if (entry.newestState !== undefined && now - unpackTime(entry.newestAt) <= options.echoWindowMs) return false;
  const lastReassert = entry.reasserts?.at(-1);
  return lastReassert === undefined || now - lastReassert >= Math.max(options.windowMs, SAME_CHANGE_MS);
}

/** The user's remembered asks, oldest first. */
function asksOf(entry: Memory): readonly Ask[] {
  const older = entry.older ?? [];
  return entry.newestState === undefined ? older : older.concat([{ state: entry.newestState, at: unpackTime(entry.newestAt) }]);
}

export function createDriftGuard(options: DriftGuardOptions): DriftGuard {
  const memory = new Map<string, Memory>();
  const counts = { detected: 0, reasserted: 0, reported: 0, capped: 0, gcRule: 0, echoes: 0 };
  // Stale memories are swept at most once per echo window, from the calls themselves (no timer to stop).
  let sweptAt = options.now();
  const sweep = (now: number): void => {
    if (now - sweptAt < options.echoWindowMs) return;
    sweptAt = now;
    for (const [userId, entry] of memory) if (stale(entry, now, options)) memory.delete(userId);
  };
  const of = (userId: string): Memory => {
    let entry = memory.get(userId);
    if (entry === undefined) {
      entry = { newestState: undefined, newestAt: 0 as PackedTime, older: undefined, reasserts: undefined, settledAt: undefined, confirmed: 0, offQueueReasserted: false };
      memory.set(userId, entry);
    }
    return entry;
  };

  return {
    noteDesired(userId, state, previous) {
      const at = options.now();
      sweep(at);
      const remembered = memory.get(userId);
      if (remembered !== undefined) remembered.offQueueReasserted = false;
      // The ask before this one, if an echo of it may still arrive (an older one never can).
      const before: Ask | undefined =
        remembered?.newestState !== undefined
          ? { state: remembered.newestState, at: unpackTime(remembered.newestAt) }
          : previous !== undefined && at - previous.at <= options.echoWindowMs
            ? previous
            : undefined;
      // Nothing an echo could match but the new desired state itself: no memory (see the interface).
      if (before === undefined && remembered === undefined) return;
      const entry = remembered ?? of(userId);
      for (const part of ['presence', 'routingStatus'] as const) {
        if (before?.state[part] !== state[part]) entry.confirmed &= ~PART_BIT[part];
      }
      if (before !== undefined) {
        const older = entry.older ?? [];
        const kept = older.length < MAX_RECENT - 1 ? older : older.slice(older.length - MAX_RECENT + 2);
        // concat allocates the exact length; a spread or a push leaves room for 17 entries.
        entry.older = kept.concat([before]);
      }
      entry.newestState = state;
      entry.newestAt = packTime(at);
      entry.settledAt = undefined;
    },

    noteSettled(userId) {
      // Without a memory there is no recent value a late echo could match: nothing to settle.
      const entry = memory.get(userId);
      if (entry !== undefined) entry.settledAt = packTime(options.now());
    },

    judge(userId, part, observed, desired) {
      if (desired === undefined) return { kind: 'untracked' };
      const expected = part === 'presence' ? desired.presence : desired.routingStatus;
      const now = options.now();
      sweep(now);
      if (observed === expected) {
        const entry = memory.get(userId);
        if (entry !== undefined) {
          const asks = asksOf(entry).map((item) => ({ value: item.state[part], at: item.at }));
          let before = asks.length;
          while (before > 0 && (asks[before - 1] as { value: string }).value === observed) before -= 1;
          // The same value asked before a different one may be that older write's echo, not the newest one's.
          const ambiguous = asks.slice(0, before).some((item) => item.value === observed && now - item.at <= options.echoWindowMs);
          if (!ambiguous) entry.confirmed |= PART_BIT[part];
        }
        return { kind: 'in-sync' };
      }
      const entry = of(userId);
      const settled = (entry.settledAt !== undefined && now - unpackTime(entry.settledAt) > ECHO_SETTLE_MS) || (entry.confirmed & PART_BIT[part]) !== 0;
      if (!settled && asksOf(entry).some((item) => item.state[part] === observed && now - item.at <= options.echoWindowMs)) {
        counts.echoes += 1;
        return { kind: 'echo' };
      }
      counts.detected += 1;
      if (options.policy !== 're-assert') {
        counts.reported += 1;
        return { kind: 'drift', action: 'report', expected, observed };
      }
      if (part === 'routingStatus' && observed === 'OffQueue' && desired.presence !== 'OnQueue') {
        if (entry.offQueueReasserted) {
          counts.gcRule += 1;
          return { kind: 'drift', action: 'gc-rule', expected, observed };
        }
        entry.offQueueReasserted = true;
      }
      const reasserts = (entry.reasserts ??= []);
      while (reasserts.length > 0 && now - (reasserts[0] as number) >= options.windowMs) reasserts.shift();
      // One foreign change usually notifies both parts a moment apart: re-asserting the second is the same fight,
      // not a new one, so it neither counts against the cap nor is refused by it.
      const last = reasserts.at(-1);
      if (last !== undefined && now - last < SAME_CHANGE_MS) {
        counts.reasserted += 1;
        return { kind: 'drift', action: 're-assert', expected, observed };
      }
      if (reasserts.length >= options.maxReasserts) {
        counts.capped += 1;
        return { kind: 'drift', action: 'capped', expected, observed };
      }
      reasserts.push(now);
      counts.reasserted += 1;
      return { kind: 'drift', action: 're-assert', expected, observed };
    },

    forget(userId) {
      memory.delete(userId);
    },

    stats() {
      return { ...counts, remembered: memory.size };
    },
  };
}
