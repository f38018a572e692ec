/**
 * The writer's ordering policy: which field goes next.
 *
 * - Fairness: users are served oldest change first. Each endpoint (presence, routing status) has one queue,
 *   keyed by the user's place in line: the time (then arrival order) of the user's oldest change not yet
 *   acknowledged among its waiting or in-flight fields. Both fields of a user share that place, so a hot agent
 *   cannot starve the rest and a user's routing status follows its presence closely.
 * - Presence first, per user: GC keeps routing status OFF_QUEUE unless presence is On Queue and may reset it when
 *   presence leaves On Queue, so a routing-status write that GC processes before the same user's presence write
 *   can be clobbered. A routing-status change waits (outside its queue) while the user's presence is queued,
 *   waiting, in flight or backing off through `PRESENCE_FIRST_MAX_ATTEMPTS` failed attempts; a parked presence
 *   never holds it back. A presence change waits while the user's routing-status request is open, so a user
 *   never has both fields in flight at once.
 * - Equally old heads of the two queues: presence first.
 */
import { HeapPositions, SlotHeap } from '../pending-queue.ts';
import { fieldOfKey, otherKey, Place, PRESENCE, ROUTING, slotOfKey, type Field, type WriterLedger } from './ledger.ts';

/**
 * How many failed attempts of a user's presence write its routing status waits through. After that the presence
 * keeps retrying on its own, but no longer holds the routing status back (a stuck presence must not block it
 * for good).
 */
export const PRESENCE_FIRST_MAX_ATTEMPTS = 3;

export class WriterOrdering {
  readonly #ledger: WriterLedger;
  readonly #queues: readonly [SlotHeap, SlotHeap];
  /** Where each field stands in its queue or in the failure policy's backoff heap (it is in one at most). */
  readonly heapPositions = new HeapPositions();
  #nextSequence = 0;

  constructor(ledger: WriterLedger) {
    this.#ledger = ledger;
    const before = (a: number, b: number): boolean => this.olderChangeFirst(a, b);
    this.#queues = [new SlotHeap(before, this.heapPositions), new SlotHeap(before, this.heapPositions)];
  }

  /** The queue of one endpoint (presence or routing status), over field keys. */
  queue(field: Field): SlotHeap {
    return this.#queues[field];
  }

  /** True when `a`'s user changed before `b`'s (or, at the same time, arrived first). */
  olderChangeFirst(a: number, b: number): boolean {
    const ledger = this.#ledger;
    const sinceA = ledger.lineSince[slotOfKey(a)]!;
    const sinceB = ledger.lineSince[slotOfKey(b)]!;
    return sinceA < sinceB || (sinceA === sinceB && ledger.lineSequence[slotOfKey(a)]! < ledger.lineSequence[slotOfKey(b)]!);
  }

  /** The endpoint whose queue goes first: the older head; presence when equally old. */
  endpointOrder(): readonly [Field, Field] {
    const presence = this.#queues[PRESENCE].peek();
    const routing = this.#queues[ROUTING].peek();
    return presence !== -1 && (routing === -1 || !this.olderChangeFirst(routing, presence)) ? [PRESENCE, ROUTING] : [ROUTING, PRESENCE];
  }

  // ---- a field's pending change ----

  /** Marks a change of the field at `at`, unless an older one is still pending (it keeps its place). */
  noteChange(key: number, at: number): void {
    if (!Number.isNaN(this.#ledger.pendingSince[key]!)) return;
    this.#ledger.pendingSince[key] = at;
    this.#ledger.sequence[key] = this.#nextSequence++;
  }

  /** A change that arrived while the field's request was open is a new change: it queues from when it happened. */
  requeueChange(key: number, at: number): void {
    this.#ledger.pendingSince[key] = at;
    this.#ledger.sequence[key] = this.#nextSequence++;
  }

  // ---- the user's place in line ----

  /** Recomputes the user's place in line from its fields; true when it moved (the queues must reorder). */
  refreshLine(slot: number): boolean {
    const ledger = this.#ledger;
    const key = this.#lineKey(slot);
    const since = key === -1 ? Number.POSITIVE_INFINITY : ledger.pendingSince[key]!;
    const sequence = key === -1 ? 0 : ledger.sequence[key]!;
    if (since === ledger.lineSince[slot] && sequence === ledger.lineSequence[slot]) return false;
    ledger.lineSince[slot] = since;
    ledger.lineSequence[slot] = sequence;
    return true;
  }

  /** The field holding the user's oldest pending change among its waiting or in-flight fields; -1 if none. */
  #lineKey(slot: number): number {
    const presence = this.#holdsPlace(slot * 2) ? slot * 2 : -1;
    const routing = this.#holdsPlace(slot * 2 + 1) ? slot * 2 + 1 : -1;
    if (presence === -1 || routing === -1) return presence === -1 ? routing : presence;
    return this.#changedBefore(routing, presence) ? routing : presence;
  }

  #holdsPlace(key: number): boolean {
    const place = this.#ledger.place[key]!;
    return !Number.isNaN(this.#ledger.pendingSince[key]!) && place !== Place.Idle && place !== Place.Parked;
  }

  #changedBefore(a: number, b: number): boolean {
    const ledger = this.#ledger;
    const sinceA = ledger.pendingSince[a]!;
    const sinceB = ledger.pendingSince[b]!;
    return sinceA < sinceB || (sinceA === sinceB && ledger.sequence[a]! < ledger.sequence[b]!);
  }

  // ---- presence first ----

  /** Whether a field with something to send must wait for the user's other field (see the header). */
  waitsForOther(key: number): boolean {
    const ledger = this.#ledger;
    const other = otherKey(key);
    const otherPlace = ledger.place[other]!;
    if (fieldOfKey(key) === PRESENCE) return otherPlace === Place.InFlight;
    switch (otherPlace) {
      case Place.Queued:
      case Place.WaitsForOther:
      case Place.InFlight:
        return true;
      case Place.Delayed:
        return ledger.attempts(other) < PRESENCE_FIRST_MAX_ATTEMPTS;
      default:
        return false;
    }
  }
}
