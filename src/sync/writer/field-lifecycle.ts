/**
 * A field's lifecycle: the moves of one field (presence or routing status of one user) between its places, and
 * what a request's answer does to it. Every move goes through `moveTo`, which keeps the field in exactly one
 * queue at most, keeps the user's place in line current (ordering.ts), and lets the user's other field go or
 * wait (presence first). `place` puts a field that is not in flight where its values say: idle when GC holds
 * the desired value, else queued (or waiting for its other field).
 *
 * The policies live elsewhere: the order in ordering.ts, the backoff in failure-policy.ts; this file only moves.
 */
import type { GcUserState, RoutingStatus } from '../../vocabulary.ts';
import type { ErrorClassification } from '../classify-error.ts';
import type { SlotHeap } from '../pending-queue.ts';
import { fieldOfKey, otherKey, Place, PRESENCE, slotOfKey, type Flight, type WriterLedger } from './ledger.ts';
import type { WriterOrdering } from './ordering.ts';
import type { WriterCounters } from './types.ts';

/** What the lifecycle needs from the writer around it. */
export interface FieldLifecycleDeps {
  readonly ledger: WriterLedger;
  readonly ordering: WriterOrdering;
  /** Fields backing off, ordered by when they may go again (failure-policy.ts). */
  readonly delayed: SlotHeap;
  /** Sets a failed field's retry time and attempts (failure-policy.ts). */
  readonly backOff: (key: number, classification: ErrorClassification, wholeRequest: boolean) => void;
  /** Whether some GC client can set this routing status (per-user mode cannot set Interacting / Communicating). */
  readonly canSetRoutingStatus: (status: RoutingStatus) => boolean;
  /** A desired routing status no client can set, first seen for this version. */
  readonly onUnmirrorable: (userId: string, status: RoutingStatus) => void;
  readonly counters: WriterCounters;
  readonly onAcknowledged: (userId: string, state: GcUserState, version: number) => void;
  readonly onFieldAcknowledged: (userId: string, field: keyof GcUserState, value: string) => void;
  readonly onFailed: (userId: string, error: string, retryable: boolean, wholeRequest: boolean) => void;
  /** A non-retryable rejection of one user (not logged when its whole request failed: that was logged once). */
  readonly onRejected: (userId: string, endpoint: Endpoint, error: string) => void;
  readonly now: () => number;
}

export const FIELD_NAMES: readonly [keyof GcUserState, keyof GcUserState] = ['presence', 'routingStatus'];

/** The two inject endpoints, by field (as the logs name them). */
export type Endpoint = 'presence' | 'routing';
export const ENDPOINTS: readonly [Endpoint, Endpoint] = ['presence', 'routing'];

export class FieldLifecycle {
  readonly #deps: FieldLifecycleDeps;
  /** Fields in a request (for the oldest pending age). */
  readonly inFlight = new Set<number>();

  constructor(deps: FieldLifecycleDeps) {
    this.#deps = deps;
  }

  // ---- moves ----

  moveTo(key: number, place: Place): void {
    const { ledger, ordering } = this.#deps;
    const from = ledger.place[key]! as Place;
    if (from === place) return;
    this.#leave(key, from);
    ledger.setPlace(key, place);
    // Whether this field holds its user's place in line may have changed; the queues must see the new place.
    const moved = ordering.refreshLine(slotOfKey(key));
    this.#enter(key, place);
    const other = otherKey(key);
    if (moved) this.#reorder(other);
    // This field's move may let the other go (or make it wait): presence first, one field in flight per user.
    const otherPlace = ledger.place[other]!;
    if (otherPlace === Place.Queued && ordering.waitsForOther(other)) this.moveTo(other, Place.WaitsForOther);
    else if (otherPlace === Place.WaitsForOther && !ordering.waitsForOther(other)) this.moveTo(other, Place.Queued);
  }

  #leave(key: number, place: Place): void {
    if (place === Place.Queued) this.#deps.ordering.queue(fieldOfKey(key)).remove(key);
    else if (place === Place.Delayed) this.#deps.delayed.remove(key);
    else if (place === Place.InFlight) this.inFlight.delete(key);
  }

  #enter(key: number, place: Place): void {
    if (place === Place.Queued) this.#deps.ordering.queue(fieldOfKey(key)).push(key);
    else if (place === Place.Delayed) this.#deps.delayed.push(key);
    else if (place === Place.InFlight) this.inFlight.add(key);
  }

  /** Restores heap order for a field whose user's place in line moved. */
  #reorder(key: number): void {
    const place = this.#deps.ledger.place[key]!;
    if (place === Place.Queued) this.#deps.ordering.queue(fieldOfKey(key)).update(key);
    else if (place === Place.Delayed) this.#deps.delayed.update(key);
  }

  /**
   * Puts a field that is not in flight where its values say: idle, or queued for its endpoint. `at` is when a
   * change that makes it pending happened (default now).
   */
  place(key: number, at?: number): void {
    const { ledger, ordering } = this.#deps;
    if (!this.needed(key)) {
      ledger.pendingSince[key] = Number.NaN;
      ledger.clearFailures(key);
      this.moveTo(key, Place.Idle);
      this.#noteFieldSettled(otherKey(key));
      return;
    }
    const place = ledger.place[key]!;
    if (place === Place.Parked || place === Place.Delayed) return;
    ordering.noteChange(key, at ?? this.#deps.now());
    this.moveTo(key, ordering.waitsForOther(key) ? Place.WaitsForOther : Place.Queued);
  }

  /** Whether GC still lacks this field's desired value (and some client can set it). */
  needed(key: number): boolean {
    const { ledger } = this.#deps;
    const slot = slotOfKey(key);
    if (ledger.desiredPresence[slot] === 0) return false;
    if (fieldOfKey(key) === PRESENCE) return ledger.desiredPresence[slot] !== ledger.acknowledgedCode[key];
    if (ledger.desiredRouting[slot] === ledger.acknowledgedCode[key]) return false;
    const status = ledger.desiredValue(key) as RoutingStatus;
    if (this.#deps.canSetRoutingStatus(status)) return true;
    // Per-user mode cannot PUT Interacting / Communicating: report it once per version, and treat the routing
    // field as settled rather than retry forever.
    if (ledger.unmirrorableCounted(slot) !== ledger.version[slot]) {
      ledger.setUnmirrorableCounted(slot, ledger.version[slot]!);
      this.#deps.onUnmirrorable(ledger.userId(slot), status);
    }
    return false;
  }

  /** With one field settled: once the other (`other`) is idle and settled too, the whole version is acknowledged. */
  #noteFieldSettled(other: number): void {
    const { ledger } = this.#deps;
    const slot = slotOfKey(other);
    if (
      ledger.desiredPresence[slot] !== 0 &&
      ledger.place[other] === Place.Idle &&
      !this.needed(other) &&
      ledger.acknowledgedVersion[slot]! < ledger.version[slot]!
    ) {
      ledger.acknowledgedVersion[slot] = ledger.version[slot]!;
    }
  }

  // ---- requests ----

  /** The field leaves in a request carrying the user's current desired state. */
  send(key: number): void {
    this.#deps.ledger.startFlight(key);
    this.moveTo(key, Place.InFlight);
  }

  /**
   * Ends the field's request and returns what it carried; undefined when the user left scope meanwhile (it is
   * dropped once nothing of it is open).
   */
  #endFlight(key: number): Flight | undefined {
    const { ledger } = this.#deps;
    const flight = ledger.endFlight(key);
    this.moveTo(key, Place.Idle);
    const slot = slotOfKey(key);
    if (ledger.forgotten[slot] === 0) return flight;
    if (ledger.inflight[slot] === 0) ledger.remove(slot);
    return undefined;
  }

  /** Back in its place in line, untouched (a 429, an aborted request: nothing about this user failed). */
  requeue(key: number): void {
    if (this.#endFlight(key) === undefined) return;
    this.#deps.ledger.setChangedWhileInFlight(key, Number.NaN);
    this.place(key);
  }

  acknowledged(key: number): void {
    const { ledger, ordering, counters } = this.#deps;
    const distrusted = ledger.seededInFlight(key);
    const flight = this.#endFlight(key);
    if (flight === undefined) return;
    const slot = slotOfKey(key);
    const userId = ledger.userId(slot);
    const value = fieldOfKey(key) === PRESENCE ? flight.state.presence : flight.state.routingStatus;
    // Told of another value in GC meanwhile, GC holds that or this write, whichever it applied last: unknown, so
    // `place` below sends the desired value again (as after a request that got no answer).
    ledger.setAcknowledged(key, distrusted ? undefined : value);
    counters.usersAcknowledged += 1;
    this.#deps.onFieldAcknowledged(userId, FIELD_NAMES[fieldOfKey(key)], value);
    ledger.clearFailures(key);
    const changedMeanwhile = ledger.changedWhileInFlight(key);
    if (!Number.isNaN(changedMeanwhile)) {
      ordering.requeueChange(key, changedMeanwhile);
      ledger.setChangedWhileInFlight(key, Number.NaN);
    }
    this.#acknowledgeVersion(slot, flight);
    this.place(key);
  }

  /** The response acknowledges what was sent (the flight's version), never a newer desired state. */
  #acknowledgeVersion(slot: number, flight: Flight): void {
    const { ledger } = this.#deps;
    const sent = flight.state;
    const desired = ledger.desired(slot);
    let version = ledger.acknowledgedVersion[slot]!;
    if (ledger.acknowledgedPresence(slot) === sent.presence && this.#routingSettled(slot, sent.routingStatus)) {
      version = Math.max(version, flight.version);
    }
    if (desired !== undefined && ledger.acknowledgedPresence(slot) === desired.presence && this.#routingSettled(slot, desired.routingStatus)) {
      version = Math.max(version, ledger.version[slot]!);
    }
    if (version <= ledger.acknowledgedVersion[slot]!) return;
    ledger.acknowledgedVersion[slot] = version;
    const presence = ledger.acknowledgedPresence(slot);
    if (presence === undefined) return;
    const fallback = version === ledger.version[slot] && desired !== undefined ? desired.routingStatus : sent.routingStatus;
    this.#deps.onAcknowledged(ledger.userId(slot), { presence, routingStatus: ledger.acknowledgedRouting(slot) ?? fallback }, version);
  }

  #routingSettled(slot: number, status: RoutingStatus): boolean {
    return this.#deps.ledger.acknowledgedRouting(slot) === status || !this.#deps.canSetRoutingStatus(status);
  }

  /** `wholeRequest`: the request failed as a whole, which was logged once for all its users. */
  failed(key: number, classification: ErrorClassification, message: string, wholeRequest = false): void {
    const { ledger, counters } = this.#deps;
    const flight = this.#endFlight(key);
    if (flight === undefined) return;
    const slot = slotOfKey(key);
    const userId = ledger.userId(slot);
    ledger.setChangedWhileInFlight(key, Number.NaN);
    ledger.setLastError(key, message);
    counters.failures += 1;
    this.#deps.onFailed(userId, message, classification.retryable, wholeRequest);
    if (classification.retryable) {
      counters.retries += 1;
      this.#deps.backOff(key, classification, wholeRequest);
      if (this.needed(key)) this.moveTo(key, Place.Delayed);
      else this.place(key);
      return;
    }
    if (ledger.version[slot]! > flight.version) {
      // Desired moved on while the request was open: the newer state may well be accepted.
      this.place(key);
      return;
    }
    counters.permanentFailures += 1;
    if (!wholeRequest) this.#deps.onRejected(userId, ENDPOINTS[fieldOfKey(key)], message);
    if (this.needed(key)) this.moveTo(key, Place.Parked);
    else this.place(key);
  }
}
