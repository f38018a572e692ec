/**
 * The writer's intake and read side: what callers tell it about users (a new desired state, what GC holds, a
 * user leaving scope, a retry of parked users) and what they read back (one user's view, the stats).
 *
 * - Coalescing: a user has one entry; a newer desired state replaces the older one before it is sent, and a field
 *   in flight keeps its newer value until its request settles (no stale write of a field).
 * - No-ops are skipped: nothing is sent when desired equals acknowledged.
 */
import { KEEP, type GcUserState } from '../../vocabulary.ts';
import type { FieldLifecycle } from './field-lifecycle.ts';
import type { FailurePolicy } from './failure-policy.ts';
import { fieldKey, Place, PRESENCE, ROUTING, type Field, type WriterLedger } from './ledger.ts';
import type { WriterOrdering } from './ordering.ts';
import type { WriterCounters, WriterStats, WriterUserView } from './types.ts';

const FIELDS: readonly Field[] = [PRESENCE, ROUTING];
const BOTH_PARTS: ReadonlyArray<keyof GcUserState> = ['presence', 'routingStatus'];

export interface IntakeDeps {
  readonly ledger: WriterLedger;
  readonly ordering: WriterOrdering;
  readonly lifecycle: FieldLifecycle;
  readonly failure: FailurePolicy;
  readonly counters: WriterCounters;
  readonly now: () => number;
  /** Something may be sendable now. */
  readonly wake: () => void;
  /** Something may have settled (resolves `onIdle` waiters). */
  readonly checkIdle: () => void;
}

export class WriterIntake {
  readonly #deps: IntakeDeps;

  constructor(deps: IntakeDeps) {
    this.#deps = deps;
  }

  setDesired(userId: string, desired: GcUserState, changedAt?: number): number {
    if (desired.presence === KEEP) throw new Error(`desired presence for user ${userId} is 'keep'; resolve it before the writer`);
    const { ledger, lifecycle, counters } = this.#deps;
    const slot = this.#slotFor(userId);
    ledger.forgotten[slot] = 0;
    const current = ledger.desired(slot);
    if (current !== undefined && current.presence === desired.presence && current.routingStatus === desired.routingStatus) return ledger.version[slot]!;
    const at = changedAt ?? this.#deps.now();
    const wasBusy = ledger.waiting[slot]! + ledger.inflight[slot]! > 0;
    ledger.setDesired(slot, desired);
    ledger.version[slot] = ledger.version[slot]! + 1;
    for (const field of FIELDS) {
      const key = fieldKey(slot, field);
      if (ledger.place[key] === Place.Parked) {
        lifecycle.moveTo(key, Place.Idle);
        ledger.clearFailures(key);
      }
      // A field in flight waits for its request to settle (no stale write); the other field is queued, or waits
      // for its sibling (presence first, see ordering.ts).
      if (ledger.place[key] !== Place.InFlight) lifecycle.place(key, at);
      else ledger.setChangedWhileInFlight(key, at);
    }
    if (wasBusy) counters.coalesced += 1;
    if (ledger.waiting[slot]! + ledger.inflight[slot]! === 0) counters.noOpsSkipped += 1;
    else this.#deps.wake();
    this.#deps.checkIdle();
    return ledger.version[slot]!;
  }

  seedAcknowledged(userId: string, state: GcUserState, version?: number, observed: ReadonlyArray<keyof GcUserState> = BOTH_PARTS): void {
    const { ledger, lifecycle } = this.#deps;
    const slot = this.#slotFor(userId);
    for (const name of observed) {
      const key = fieldKey(slot, name === 'presence' ? PRESENCE : ROUTING);
      if (ledger.place[key] === Place.InFlight && state[name] !== ledger.flight(key)?.state[name]) ledger.setSeededInFlight(key, true);
    }
    ledger.setAcknowledged(fieldKey(slot, PRESENCE), state.presence);
    ledger.setAcknowledged(fieldKey(slot, ROUTING), state.routingStatus);
    if (version !== undefined) {
      ledger.acknowledgedVersion[slot] = version;
      ledger.version[slot] = Math.max(ledger.version[slot]!, version);
    }
    for (const field of FIELDS) {
      const key = fieldKey(slot, field);
      const place = ledger.place[key];
      if (place !== Place.InFlight && place !== Place.Parked && place !== Place.Delayed) lifecycle.place(key);
    }
    this.#deps.wake();
    this.#deps.checkIdle();
  }

  forget(userId: string): void {
    const { ledger, lifecycle } = this.#deps;
    const slot = ledger.slotOf(userId);
    if (slot === -1) return;
    for (const field of FIELDS) {
      const key = fieldKey(slot, field);
      if (ledger.place[key] !== Place.InFlight) lifecycle.moveTo(key, Place.Idle);
    }
    // A request in flight still settles, but updates nothing: the user is dropped then.
    if (ledger.inflight[slot]! > 0) {
      ledger.forgotten[slot] = 1;
      ledger.setDesired(slot, undefined);
    } else {
      ledger.remove(slot);
    }
    this.#deps.checkIdle();
  }

  retryFailed(limit = Number.POSITIVE_INFINITY): number {
    const { ledger, lifecycle } = this.#deps;
    let requeued = 0;
    for (const slot of ledger.slots()) {
      if (requeued >= limit) break;
      if (ledger.parked[slot] === 0) continue;
      for (const field of FIELDS) {
        const key = fieldKey(slot, field);
        if (ledger.place[key] !== Place.Parked) continue;
        lifecycle.moveTo(key, Place.Idle);
        ledger.setAttempts(key, 0);
        lifecycle.place(key);
      }
      requeued += 1;
    }
    if (requeued > 0) this.#deps.wake();
    return requeued;
  }

  get(userId: string): WriterUserView | undefined {
    const { ledger } = this.#deps;
    const slot = ledger.slotOf(userId);
    if (slot === -1 || ledger.forgotten[slot] === 1) return undefined;
    const presence = fieldKey(slot, PRESENCE);
    const routing = fieldKey(slot, ROUTING);
    const desired = ledger.desired(slot);
    const acknowledgedPresence = ledger.acknowledgedPresence(slot);
    const acknowledgedRouting = ledger.acknowledgedRouting(slot);
    const pendingSince = earliest(ledger.pendingSince[presence]!, ledger.pendingSince[routing]!);
    const lastError = ledger.lastError(presence) ?? ledger.lastError(routing);
    const retryAt = earliest(
      ledger.place[presence] === Place.Delayed ? ledger.retryAt(presence) : Number.NaN,
      ledger.place[routing] === Place.Delayed ? ledger.retryAt(routing) : Number.NaN,
    );
    return {
      ...(desired !== undefined ? { desired } : {}),
      ...(acknowledgedPresence !== undefined && acknowledgedRouting !== undefined
        ? { acknowledged: { presence: acknowledgedPresence, routingStatus: acknowledgedRouting } }
        : {}),
      version: ledger.version[slot]!,
      acknowledgedVersion: ledger.acknowledgedVersion[slot]!,
      ...(pendingSince !== undefined ? { pendingSince } : {}),
      ...(lastError !== undefined ? { lastError } : {}),
      inFlight: ledger.inflight[slot]! > 0,
      failed: ledger.parked[slot]! > 0,
      ...(retryAt !== undefined ? { retryAt } : {}),
    };
  }

  stats(): WriterStats {
    const { ledger, counters } = this.#deps;
    const oldest = this.#oldestPendingSince();
    return {
      pendingUsers: ledger.tally.waiting,
      failedUsers: ledger.tally.parked,
      inFlightUsers: ledger.tally.inflight,
      queueLength: ledger.tally.waiting,
      trackedUsers: ledger.size,
      oldestPendingAgeSeconds: oldest === Number.POSITIVE_INFINITY ? 0 : Math.max(0, (this.#deps.now() - oldest) / 1000),
      ...counters,
    };
  }

  /** The oldest place in line among queued (each queue's head), backing-off and in-flight fields; +∞ if none. */
  #oldestPendingSince(): number {
    const { ledger, ordering, failure, lifecycle } = this.#deps;
    let oldest = Number.POSITIVE_INFINITY;
    const consider = (key: number): void => {
      if (key !== -1) oldest = Math.min(oldest, ledger.lineSince[key >> 1]!);
    };
    consider(ordering.queue(PRESENCE).peek());
    consider(ordering.queue(ROUTING).peek());
    for (const key of failure.delayed.values()) consider(key);
    for (const key of lifecycle.inFlight) consider(key);
    return oldest;
  }

  #slotFor(userId: string): number {
    const slot = this.#deps.ledger.slotOf(userId);
    return slot === -1 ? this.#deps.ledger.add(userId) : slot;
  }
}

/** The earlier of two times (NaN: none); undefined when neither is set. */
function earliest(a: number, b: number): number | undefined {
  if (Number.isNaN(a)) return Number.isNaN(b) ? undefined : b;
  return Number.isNaN(b) || a <= b ? a : b;
}
