/**
 * The writer's dispatcher: which GC client sends the next batch, when, and with whom in it.
 *
 * - Slots: pacing is each client's `RequestBudget`'s job. The dispatcher waits until the earliest
 *   `budget.nextSlotAt()` before it builds a batch (so the batch holds the freshest desired states), and sends
 *   it to the client with the earliest free slot (fewest open requests, then round robin). A client has at most
 *   `maxInFlightPerTarget` requests open.
 * - Batches: one endpoint per request, filled from that endpoint's queue in the ordering's order (the older head
 *   first). A routing status a client cannot set (per-user mode) is looked past, up to `SKIP_FACTOR` batches.
 * - Spacing: with several clients running on their refills, a batch that is not full waits until two of the
 *   pool's combined slots passed since the last batch of its endpoint. Without it the clients fall into
 *   lockstep: each client's next slot comes at the same moment, one carries the presence batch, one the
 *   routing-status batch and the rest a straggler or two (p99 190 ms with four clients in the pacing bench, as
 *   with two). One client: its budget's own spacing does this.
 * - In flight: a field has at most one request open; the request's answer goes to `onAnswered` / `onThrew`.
 */
import type { GcWriteTarget, WriteOutcome } from '../../gc/ports.ts';
import type { Logger } from '../../log.ts';
import { sharedAbortController } from '../../platform/abort.ts';
import { describeError } from '../classify-error.ts';
import type { FieldLifecycle } from './field-lifecycle.ts';
import { Place, PRESENCE, ROUTING, slotOfKey, type Field, type WriterLedger } from './ledger.ts';
import type { WriterOrdering } from './ordering.ts';
import type { WriterCounters } from './types.ts';

/** How many queued users a batch build may look past (users the client cannot write), in batches. */
const SKIP_FACTOR = 4;

/** One request: fields of one endpoint (`keys`) and their users, in the same order. */
export interface Batch {
  readonly field: Field;
  readonly keys: readonly number[];
  readonly userIds: readonly string[];
}

/** What `dispatchOne` did: sent a batch, or nothing can go before `wakeAt` (+∞: nothing to wait for). */
export type Dispatch = { readonly sent: true } | { readonly sent: false; readonly wakeAt: number };

export interface DispatcherOptions {
  readonly targets: readonly GcWriteTarget[];
  readonly batchSize: number;
  readonly maxInFlightPerTarget: number;
  readonly ledger: WriterLedger;
  readonly ordering: WriterOrdering;
  readonly lifecycle: FieldLifecycle;
  readonly counters: WriterCounters;
  readonly now: () => number;
  readonly log: Logger;
  readonly onAnswered: (target: GcWriteTarget, batch: Batch, outcomes: readonly WriteOutcome[]) => void;
  readonly onThrew: (target: GcWriteTarget, batch: Batch, error: unknown, aborted: boolean, sentAt: number) => void;
  /** After every request, answered or not. */
  readonly onSettled: () => void;
}

export class Dispatcher {
  readonly #options: DispatcherOptions;
  readonly #openPerTarget: Map<GcWriteTarget, number>;
  readonly #openRequests = new Set<Promise<void>>();
  #roundRobin = 0;
  /** The least time between two batches of one endpoint that are not full (see the header); 0 for one client. */
  readonly #poolSpacingMs: number;
  readonly #lastBatchAt = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  /** Set by `dispatchOne`: the earliest moment a batch held for the pool's spacing may go. */
  #heldUntil = Number.POSITIVE_INFINITY;
  #abort = sharedAbortController();

  constructor(options: DispatcherOptions) {
    this.#options = options;
    const { targets } = options;
    this.#openPerTarget = new Map(targets.map((target) => [target, 0]));
    this.#poolSpacingMs = targets.length > 1 ? (2 * 60_000) / targets.reduce((sum, target) => sum + target.budget.limit, 0) : 0;
  }

  /** Sends one batch to the client with the earliest free slot, or says when to try again. */
  dispatchOne(time: number): Dispatch {
    this.#heldUntil = Number.POSITIVE_INFINITY;
    for (const { target, index, slot } of this.#candidates(time)) {
      // Wait for the slot rather than queue inside the budget: the batch is built when it can leave.
      if (slot > time) return { sent: false, wakeAt: slot };
      const batch = this.#buildBatch(target, time);
      if (batch === undefined) continue;
      this.#roundRobin = (index + 1) % this.#options.targets.length;
      this.#send(target, batch);
      return { sent: true };
    }
    return { sent: false, wakeAt: this.#heldUntil };
  }

  /** Clients with room for another request, earliest slot first (then fewest open, then round robin). */
  #candidates(time: number): Array<{ target: GcWriteTarget; index: number; slot: number; open: number }> {
    const { targets, maxInFlightPerTarget } = this.#options;
    const turn = (index: number): number => (index - this.#roundRobin + targets.length) % targets.length;
    return targets
      .map((target, index) => ({ target, index, slot: target.budget.nextSlotAt(), open: this.#openPerTarget.get(target)! }))
      .filter((candidate) => candidate.open < maxInFlightPerTarget)
      .sort((a, b) => Math.max(a.slot, time) - Math.max(b.slot, time) || a.open - b.open || turn(a.index) - turn(b.index));
  }

  #buildBatch(target: GcWriteTarget, time: number): Batch | undefined {
    const { ordering, lifecycle, ledger } = this.#options;
    const size = Math.max(1, Math.min(this.#options.batchSize, target.maxBatchSize));
    for (const field of ordering.endpointOrder()) {
      const queue = ordering.queue(field);
      if (this.#heldForSpacing(target, field, queue.size, size, time)) continue;
      const keys: number[] = [];
      const skipped: number[] = [];
      while (keys.length < size && skipped.length < size * SKIP_FACTOR) {
        const key = queue.peek();
        if (key === -1) break;
        lifecycle.moveTo(key, Place.Idle);
        if (field === ROUTING && !target.canSetRoutingStatus(ledger.desired(slotOfKey(key))!.routingStatus)) skipped.push(key);
        else keys.push(key);
      }
      for (const key of skipped) lifecycle.moveTo(key, Place.Queued);
      if (keys.length > 0) return { field, keys, userIds: keys.map((key) => ledger.userId(slotOfKey(key))) };
    }
    return undefined;
  }

  /** Whether a batch of `field` that would not be full waits for the pool's spacing; notes when it may go. */
  #heldForSpacing(target: GcWriteTarget, field: Field, queued: number, size: number, time: number): boolean {
    if (this.#poolSpacingMs === 0 || queued >= size) return false;
    const until = this.#lastBatchAt[field]! + this.#poolSpacingMs;
    if (time >= until || target.budget.available() > 1) return false;
    this.#heldUntil = Math.min(this.#heldUntil, until);
    return true;
  }

  #send(target: GcWriteTarget, batch: Batch): void {
    // Only the send loop (which asked the gate) calls dispatchOne, synchronously: no write leaves without its yes.
    const { lifecycle, ledger, counters, now } = this.#options;
    this.#lastBatchAt[batch.field] = now();
    for (const key of batch.keys) lifecycle.send(key);
    this.#openPerTarget.set(target, this.#openPerTarget.get(target)! + 1);
    counters.requestsSent += 1;
    counters.batchesSent += 1;
    counters.usersSent += batch.keys.length;
    if (batch.field === PRESENCE) counters.presenceBatchesSent += 1;
    else counters.routingStatusBatchesSent += 1;
    const signal = this.#abort.signal;
    const sentAt = now();
    let request: Promise<WriteOutcome[]>;
    try {
      request =
        batch.field === PRESENCE
          ? target.writePresence(batch.keys.map((key, i) => ({ userId: batch.userIds[i]!, presence: ledger.flight(key)!.state.presence })), signal)
          : target.writeRoutingStatus(batch.keys.map((key, i) => ({ userId: batch.userIds[i]!, routingStatus: ledger.flight(key)!.state.routingStatus })), signal);
    } catch (error) {
      request = Promise.reject(error);
    }
    const settled: Promise<void> = request
      .then(
        (outcomes) => this.#options.onAnswered(target, batch, outcomes),
        (error: unknown) => this.#options.onThrew(target, batch, error, signal.aborted, sentAt),
      )
      .catch((error: unknown) => this.#options.log.error('writer bookkeeping failed', { error: describeError(error) }))
      .finally(() => {
        this.#openPerTarget.set(target, this.#openPerTarget.get(target)! - 1);
        this.#openRequests.delete(settled);
        this.#options.onSettled();
      });
    this.#openRequests.add(settled);
  }

  /** Aborts requests still waiting for a budget slot and resolves when no request is open. */
  async stop(): Promise<void> {
    this.#abort.abort();
    while (this.#openRequests.size > 0) await Promise.allSettled([...this.#openRequests]);
    this.#abort = sharedAbortController();
  }
}
