/**
 * The writer's ledger: per GC user, the desired and the acknowledged value of each field (presence, routing
 * status), the versions, and per field where it is (its place), its pending change and its failures; plus the
 * tallies of users by place that the stats and `onIdle` read.
 *
 * Dense columns, not objects (issue 17 part 2): each user has a slot (`slotOf`), freed slots are reused, per-user
 * numbers live in typed arrays indexed by slot and per-field numbers in typed arrays indexed by field key
 * (`slot * 2 + field`). Field values are small codes into a table of the strings seen (a few dozen presences and
 * statuses). What only some fields have at a time lives in small maps by field key: the request a field is in
 * (a few batches' worth) and its failures (most fields never fail). Times are epoch milliseconds in
 * `Float64Array`s (and plain numbers in those maps): exact for any uptime, where a time packed into a small
 * integer stopped being one after 24.8 days. Parts of the writer read and write the columns directly; a column
 * array is replaced when the ledger grows, so never keep one across calls.
 *
 * At 100,000 users the columns cost about 90 bytes a user (writer bench: 203 bytes a tracked user with the id
 * map, against 362 for an object per user and per field).
 */
import type { GcUserState, PresenceName, RoutingStatus } from '../../vocabulary.ts';
import { sharedState } from '../desired-state.ts';

/** A user's fields. A field key is `slot * 2 + field`; the other field of `key` is `key ^ 1`. */
export const PRESENCE = 0;
export const ROUTING = 1;
export type Field = typeof PRESENCE | typeof ROUTING;

export const fieldKey = (slot: number, field: Field): number => slot * 2 + field;
export const slotOfKey = (key: number): number => key >> 1;
export const fieldOfKey = (key: number): Field => (key & 1) as Field;
export const otherKey = (key: number): number => key ^ 1;

/**
 * Where a field is: settled, waiting in its endpoint's queue, waiting (outside any queue) for the user's other
 * field (presence first, see ordering.ts), backing off, parked after a non-retryable failure, or in a request.
 * A field is in one place at a time, so each queue holds it at most once.
 */
export const Place = { Idle: 0, Queued: 1, WaitsForOther: 2, Delayed: 3, Parked: 4, InFlight: 5 } as const;
export type Place = (typeof Place)[keyof typeof Place];

/** Per-field flags. */
const SEEDED_IN_FLIGHT = 1;

/** The request a field is in: the user's version and whole desired state when it left. */
export interface Flight {
  readonly version: number;
  readonly state: GcUserState;
}

/** A field's failed writes (made at the first failure, dropped once written). */
interface Failures {
  /** When a backing-off field may go again (epoch ms). */
  retryAt: number;
  attempts: number;
  lastError: string | undefined;
  /** Backing off because its whole request failed (GC down), not because of something about this user. */
  waitsOnOutage: boolean;
}

/** Users with at least one field waiting (queued, waiting for the other, backing off), in flight, parked. */
export interface Tally {
  waiting: number;
  inflight: number;
  parked: number;
}

const INITIAL_SLOTS = 256;
/** Columns grow by half: at most a third of a grown column is slack. */
const GROWTH = 1.5;

function grown<T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(array: T, length: number): T {
  const next = new (array.constructor as new (length: number) => T)(length);
  next.set(array);
  return next;
}

export class WriterLedger {
  // ---- slots ----
  readonly #slots = new Map<string, number>();
  #ids: Array<string | undefined> = [];
  readonly #free: number[] = [];
  #capacity = 0;

  // ---- value codes (0 = none) ----
  readonly #values: string[] = [''];
  readonly #codes = new Map<string, number>();
  readonly #states = new Map<number, GcUserState>();

  // ---- per user, by slot ----
  desiredPresence = new Uint16Array(0);
  desiredRouting = new Uint16Array(0);
  acknowledgedCode = new Uint16Array(0);
  version = new Float64Array(0);
  acknowledgedVersion = new Float64Array(0);
  /** How many of the user's fields are waiting / in flight / parked (0..2 each). */
  waiting = new Uint8Array(0);
  inflight = new Uint8Array(0);
  parked = new Uint8Array(0);
  /** The user's place in line (see ordering.ts): time and arrival order of its oldest pending change; +∞ if none. */
  lineSince = new Float64Array(0);
  lineSequence = new Float64Array(0);
  /** Left scope while a request was in flight: dropped when it settles. */
  forgotten = new Uint8Array(0);
  /** The version for which "routing status cannot be mirrored" was already counted (rare: per-user mode only). */
  readonly #unmirrorableCounted = new Map<number, number>();

  // ---- per field, by field key ----
  place = new Uint8Array(0);
  /** Time of the oldest change of this field not yet acknowledged; NaN when none. */
  pendingSince = new Float64Array(0);
  /** Tie-break for equal `pendingSince`: order of arrival. */
  sequence = new Float64Array(0);
  #flags = new Uint8Array(0);
  /** Fields in a request. */
  readonly #flights = new Map<number, Flight>();
  /** Time of the first change that arrived while a field's request was open. */
  readonly #changedWhileInFlight = new Map<number, number>();
  readonly #failures = new Map<number, Failures>();

  readonly tally: Tally = { waiting: 0, inflight: 0, parked: 0 };
  /** Users with any field waiting or in flight (`onIdle` waits for none). */
  busyUsers = 0;

  constructor() {
    this.#grow(INITIAL_SLOTS);
  }

  // ---- slots ----

  /** Users tracked (forgotten ones with a request still open included). */
  get size(): number {
    return this.#slots.size;
  }

  /** The user's slot, or -1. */
  slotOf(userId: string): number {
    return this.#slots.get(userId) ?? -1;
  }

  userId(slot: number): string {
    return this.#ids[slot]!;
  }

  /** Live slots, oldest user first. */
  slots(): IterableIterator<number> {
    return this.#slots.values();
  }

  /** Takes a slot for a new user: nothing desired, nothing acknowledged, both fields idle. */
  add(userId: string): number {
    const slot = this.#free.pop() ?? this.#ids.length;
    if (slot >= this.#capacity) this.#grow(Math.ceil(this.#capacity * GROWTH));
    this.#ids[slot] = userId;
    this.#slots.set(userId, slot);
    this.desiredPresence[slot] = 0;
    this.desiredRouting[slot] = 0;
    this.acknowledgedCode[slot * 2] = 0;
    this.acknowledgedCode[slot * 2 + 1] = 0;
    this.version[slot] = 0;
    this.acknowledgedVersion[slot] = 0;
    this.waiting[slot] = 0;
    this.inflight[slot] = 0;
    this.parked[slot] = 0;
    this.lineSince[slot] = Number.POSITIVE_INFINITY;
    this.lineSequence[slot] = 0;
    this.forgotten[slot] = 0;
    for (const key of [slot * 2, slot * 2 + 1]) {
      this.place[key] = Place.Idle;
      this.pendingSince[key] = Number.NaN;
      this.sequence[key] = 0;
      this.#flags[key] = 0;
    }
    return slot;
  }

  /** Frees a user's slot (its fields must be idle). */
  remove(slot: number): void {
    const userId = this.#ids[slot];
    if (userId === undefined) return;
    this.#slots.delete(userId);
    this.#ids[slot] = undefined;
    this.desiredPresence[slot] = 0;
    this.desiredRouting[slot] = 0;
    this.#unmirrorableCounted.delete(slot);
    for (const key of [slot * 2, slot * 2 + 1]) {
      this.#flights.delete(key);
      this.#changedWhileInFlight.delete(key);
      this.#failures.delete(key);
    }
    this.#free.push(slot);
  }

  #grow(slots: number): void {
    this.#capacity = slots;
    const fields = slots * 2;
    this.desiredPresence = grown(this.desiredPresence, slots);
    this.desiredRouting = grown(this.desiredRouting, slots);
    this.acknowledgedCode = grown(this.acknowledgedCode, fields);
    this.version = grown(this.version, slots);
    this.acknowledgedVersion = grown(this.acknowledgedVersion, slots);
    this.waiting = grown(this.waiting, slots);
    this.inflight = grown(this.inflight, slots);
    this.parked = grown(this.parked, slots);
    this.lineSince = grown(this.lineSince, slots);
    this.lineSequence = grown(this.lineSequence, slots);
    this.forgotten = grown(this.forgotten, slots);
    this.place = grown(this.place, fields);
    this.pendingSince = grown(this.pendingSince, fields);
    this.sequence = grown(this.sequence, fields);
    this.#flags = grown(this.#flags, fields);
  }

  // ---- values ----

  #code(value: string | undefined): number {
    if (value === undefined) return 0;
    let code = this.#codes.get(value);
    if (code === undefined) {
      code = this.#values.length;
      if (code > 0xffff) throw new Error('writer ledger: more than 65535 distinct field values');
      this.#values.push(value);
      this.#codes.set(value, code);
    }
    return code;
  }

  #value(code: number): string | undefined {
    return code === 0 ? undefined : this.#values[code];
  }

  /** The shared frozen state for two codes (one object per pair, as `sharedState` gives). */
  #state(presence: number, routing: number): GcUserState {
    const pair = presence * 0x10000 + routing;
    let state = this.#states.get(pair);
    if (state === undefined) {
      state = sharedState(this.#value(presence)!, this.#value(routing) as RoutingStatus);
      this.#states.set(pair, state);
    }
    return state;
  }

  desired(slot: number): GcUserState | undefined {
    const presence = this.desiredPresence[slot]!;
    return presence === 0 ? undefined : this.#state(presence, this.desiredRouting[slot]!);
  }

  setDesired(slot: number, state: GcUserState | undefined): void {
    this.desiredPresence[slot] = this.#code(state?.presence);
    this.desiredRouting[slot] = this.#code(state?.routingStatus);
  }

  /** The desired value of one field (undefined when nothing is desired). */
  desiredValue(key: number): string | undefined {
    const slot = slotOfKey(key);
    return this.#value(fieldOfKey(key) === PRESENCE ? this.desiredPresence[slot]! : this.desiredRouting[slot]!);
  }

  /** What GC acknowledged of a field; undefined when unknown. */
  acknowledged(key: number): string | undefined {
    return this.#value(this.acknowledgedCode[key]!);
  }

  acknowledgedPresence(slot: number): PresenceName | undefined {
    return this.acknowledged(slot * 2);
  }

  acknowledgedRouting(slot: number): RoutingStatus | undefined {
    return this.acknowledged(slot * 2 + 1) as RoutingStatus | undefined;
  }

  setAcknowledged(key: number, value: string | undefined): void {
    this.acknowledgedCode[key] = this.#code(value);
  }

  // ---- the request a field is in ----

  /** Records what a field's request carries: the user's version and whole desired state now. */
  startFlight(key: number): void {
    const slot = slotOfKey(key);
    this.#flights.set(key, { version: this.version[slot]!, state: this.desired(slot)! });
    this.#changedWhileInFlight.delete(key);
  }

  /** The request the field is in (undefined when none). */
  flight(key: number): Flight | undefined {
    return this.#flights.get(key);
  }

  /** Ends the field's request record and returns it. */
  endFlight(key: number): Flight | undefined {
    const flight = this.#flights.get(key);
    this.#flights.delete(key);
    this.setSeededInFlight(key, false);
    return flight;
  }

  /** Time of the first change while the field's request was open; NaN when none. */
  changedWhileInFlight(key: number): number {
    return this.#changedWhileInFlight.get(key) ?? Number.NaN;
  }

  /** Notes a change during the field's request (the first one counts), or forgets it (NaN). */
  setChangedWhileInFlight(key: number, at: number): void {
    if (Number.isNaN(at)) this.#changedWhileInFlight.delete(key);
    else if (!this.#changedWhileInFlight.has(key)) this.#changedWhileInFlight.set(key, at);
  }

  /**
   * While the field's request was open, EXAS was told GC holds another value (drift, a bulk read): the write's
   * acknowledgement will not prove GC holds it.
   */
  seededInFlight(key: number): boolean {
    return (this.#flags[key]! & SEEDED_IN_FLIGHT) !== 0;
  }

  setSeededInFlight(key: number, seeded: boolean): void {
    this.#flags[key] = seeded ? this.#flags[key]! | SEEDED_IN_FLIGHT : this.#flags[key]! & ~SEEDED_IN_FLIGHT;
  }

  // ---- failures ----

  #failuresOf(key: number): Failures {
    let failures = this.#failures.get(key);
    if (failures === undefined) {
      failures = { retryAt: 0, attempts: 0, lastError: undefined, waitsOnOutage: false };
      this.#failures.set(key, failures);
    }
    return failures;
  }

  lastError(key: number): string | undefined {
    return this.#failures.get(key)?.lastError;
  }

  setLastError(key: number, message: string): void {
    this.#failuresOf(key).lastError = message;
  }

  /** Failed attempts in a row (0 when none). */
  attempts(key: number): number {
    return this.#failures.get(key)?.attempts ?? 0;
  }

  setAttempts(key: number, attempts: number): void {
    this.#failuresOf(key).attempts = attempts;
  }

  /** When a backing-off field may go again (epoch ms; 0 when it never failed). */
  retryAt(key: number): number {
    return this.#failures.get(key)?.retryAt ?? 0;
  }

  setRetryAt(key: number, at: number): void {
    this.#failuresOf(key).retryAt = at;
  }

  /** Backing off because its whole request failed (GC down), not because of something about this user. */
  waitsOnOutage(key: number): boolean {
    return this.#failures.get(key)?.waitsOnOutage ?? false;
  }

  setWaitsOnOutage(key: number, waits: boolean): void {
    this.#failuresOf(key).waitsOnOutage = waits;
  }

  /** Forgets a field's failures (written, settled, or its desired state changed after it was parked). */
  clearFailures(key: number): void {
    this.#failures.delete(key);
  }

  // ---- rare marks ----

  /** The version for which "routing status cannot be mirrored" was counted (-1: none). */
  unmirrorableCounted(slot: number): number {
    return this.#unmirrorableCounted.get(slot) ?? -1;
  }

  setUnmirrorableCounted(slot: number, version: number): void {
    this.#unmirrorableCounted.set(slot, version);
  }

  // ---- places and tallies ----

  /** Moves a field to `place`, keeping the per-user counts and the tallies (queues are the caller's). */
  setPlace(key: number, place: Place): void {
    const before = this.place[key]! as Place;
    if (before === place) return;
    const slot = slotOfKey(key);
    const wasBusy = this.waiting[slot]! + this.inflight[slot]! > 0;
    this.#count(slot, before, -1);
    this.place[key] = place;
    this.#count(slot, place, 1);
    const isBusy = this.waiting[slot]! + this.inflight[slot]! > 0;
    if (isBusy !== wasBusy) this.busyUsers += isBusy ? 1 : -1;
  }

  #count(slot: number, place: Place, delta: 1 | -1): void {
    const kind = tallyOf(place);
    if (kind === undefined) return;
    const column = this[kind];
    const before = column[slot]!;
    column[slot] = before + delta;
    if (before === 0) this.tally[kind] += 1;
    else if (column[slot] === 0) this.tally[kind] -= 1;
  }
}

function tallyOf(place: Place): keyof Tally | undefined {
  if (place === Place.Queued || place === Place.WaitsForOther || place === Place.Delayed) return 'waiting';
  if (place === Place.InFlight) return 'inflight';
  if (place === Place.Parked) return 'parked';
  return undefined;
}
