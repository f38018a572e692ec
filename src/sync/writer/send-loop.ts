/**
 * The writer's send loop: runs the dispatcher whenever something may be sendable (a change, a settled request,
 * a due retry, a budget slot, the HA gate opening) and never otherwise; and the lifecycle around it (start,
 * pause, flush, stop, `onIdle`).
 *
 * A burst of synchronous changes becomes one pass (a microtask), so it becomes one batch. While the gate is
 * closed nothing is sent, not even by `flush`; desired states keep coalescing in the ledger.
 */
import type { Dispatcher } from './dispatcher.ts';
import type { FieldLifecycle } from './field-lifecycle.ts';
import type { FailurePolicy } from './failure-policy.ts';
import { Place, PRESENCE, ROUTING, type WriterLedger } from './ledger.ts';
import type { WriterOrdering } from './ordering.ts';
import type { WriterCounters, WriterTimers } from './types.ts';

export interface SendLoopDeps {
  readonly ledger: WriterLedger;
  readonly ordering: WriterOrdering;
  readonly lifecycle: FieldLifecycle;
  readonly failure: FailurePolicy;
  readonly dispatcher: Dispatcher;
  readonly counters: WriterCounters;
  readonly timers: WriterTimers;
  readonly now: () => number;
  readonly gateOpen: () => boolean;
}

export class SendLoop {
  readonly #deps: SendLoopDeps;
  #running = false;
  #paused = false;
  #flushing = 0;
  #pumpQueued = false;
  #wakeHandle: unknown;
  #wakeAt = Number.POSITIVE_INFINITY;
  readonly #idleWaiters: Array<() => void> = [];

  constructor(deps: SendLoopDeps) {
    this.#deps = deps;
  }

  get paused(): boolean {
    return this.#paused;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.schedule();
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.schedule();
  }

  /** Runs a pass soon (a microtask, so a burst of synchronous changes becomes one batch). */
  schedule(): void {
    if (this.#pumpQueued || !this.#running) return;
    this.#pumpQueued = true;
    queueMicrotask(() => this.#pump());
  }

  #pump(): void {
    this.#pumpQueued = false;
    if (!this.#running) return;
    const { ordering, failure, dispatcher } = this.#deps;
    const time = this.#deps.now();
    this.#promoteDueRetries(time);
    if ((!this.#paused || this.#flushing > 0) && this.#deps.gateOpen()) {
      while (ordering.queue(PRESENCE).size + ordering.queue(ROUTING).size > 0) {
        const dispatch = dispatcher.dispatchOne(time);
        if (dispatch.sent) continue;
        if (dispatch.wakeAt !== Number.POSITIVE_INFINITY) this.#wakeUpAt(dispatch.wakeAt);
        break;
      }
    }
    const nextRetry = failure.nextRetryAt();
    if (nextRetry !== undefined) this.#wakeUpAt(nextRetry);
    this.checkIdle();
  }

  #promoteDueRetries(time: number): void {
    const { failure, lifecycle } = this.#deps;
    for (let key = failure.nextDue(time); key !== -1; key = failure.nextDue(time)) {
      lifecycle.moveTo(key, Place.Idle);
      lifecycle.place(key);
    }
  }

  #wakeUpAt(at: number): void {
    if (at >= this.#wakeAt) return;
    const { timers } = this.#deps;
    if (this.#wakeHandle !== undefined) timers.clearTimeout(this.#wakeHandle);
    this.#wakeAt = at;
    this.#wakeHandle = timers.setTimeout(
      () => {
        this.#wakeHandle = undefined;
        this.#wakeAt = Number.POSITIVE_INFINITY;
        this.#pump();
      },
      Math.max(0, at - this.#deps.now()),
    );
  }

  #clearWake(): void {
    if (this.#wakeHandle !== undefined) this.#deps.timers.clearTimeout(this.#wakeHandle);
    this.#wakeHandle = undefined;
    this.#wakeAt = Number.POSITIVE_INFINITY;
  }

  // ---- idle, stop, flush ----

  /** Resolves `onIdle` waiters once nothing is queued, backing off or in flight. */
  checkIdle(): void {
    if (this.#deps.ledger.busyUsers !== 0 || this.#idleWaiters.length === 0) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  onIdle(): Promise<void> {
    if (this.#deps.ledger.busyUsers === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#clearWake();
    await this.#deps.dispatcher.stop();
    this.checkIdle();
  }

  async flush(deadlineMs: number): Promise<{ sent: number; remaining: number }> {
    const { counters, ledger, timers } = this.#deps;
    const before = counters.usersAcknowledged;
    // A closed gate (a standby, or a leader whose renewal is overdue) sends nothing: waiting out the grace is useless.
    if (!this.#deps.gateOpen()) return { sent: 0, remaining: ledger.busyUsers };
    if (!this.#running) this.start();
    this.#flushing += 1;
    this.schedule();
    let deadlineHandle: unknown;
    try {
      await Promise.race([
        this.onIdle(),
        new Promise<void>((resolve) => {
          deadlineHandle = timers.setTimeout(resolve, Math.max(0, deadlineMs));
        }),
      ]);
    } finally {
      timers.clearTimeout(deadlineHandle);
      this.#flushing -= 1;
    }
    return { sent: counters.usersAcknowledged - before, remaining: ledger.busyUsers };
  }
}
