/**
 * The writer's failure policy: what a failed write means and when its users go again.
 *
 * - A 429 (whole request, or an event's Retry-After in per-user mode) pauses that client's budget for
 *   `Retry-After`; its users keep their place in line and may go to another client.
 * - A failed request (5xx, timeout, network) pauses its client once per failed round (capped exponential,
 *   ≤ 5 s), so retries and new changes leave together in full batches when it answers instead of one small
 *   request per user spending the budget during the outage. Requests that were already open when an earlier
 *   failure paused the client report the same outage: the pause grows once per round, not once per request.
 *   Its fields back off (capped exponential with jitter, see backoff.ts) until that client answers again; then
 *   they go at once (`clientAnswered`, `gcAnswers`).
 * - A per-event failure backs off that user's field; a non-retryable one parks it until its desired state
 *   changes (field-lifecycle.ts does the move).
 * - A request that got no HTTP answer may have been applied: the caller forgets what GC acknowledged of its fields.
 *
 * Times are exact epoch milliseconds (Float64Array columns in the ledger): no wrap however long EXAS runs.
 */
import { isNotSetUp } from '../../gc/index.ts';
import type { GcWriteTarget, WriteOutcome } from '../../gc/ports.ts';
import { retryCauseOf, zeroRetryCounts, type GcRetryCounts } from '../../gc/retry-cause.ts';
import type { Logger } from '../../log.ts';
import { retryDelayMs } from '../backoff.ts';
import { describeError, type ClassifyError, type ErrorClassification } from '../classify-error.ts';
import { SlotHeap } from '../pending-queue.ts';
import type { WriterLedger } from './ledger.ts';
import type { WriterOrdering } from './ordering.ts';
import type { WriterCounters } from './types.ts';

/** The longest pause of a client after failed requests (its fields' own backoff may be longer). */
const MAX_OUTAGE_PAUSE_MS = 5_000;

/** What one user's event in an answered request calls for. */
export type EventVerdict =
  | { readonly kind: 'acknowledged' }
  /** Rate limited within the call: the client is paused; the user keeps its place. */
  | { readonly kind: 'requeue'; readonly message: string }
  | { readonly kind: 'failed'; readonly classification: ErrorClassification; readonly message: string };

/** What a request that threw calls for. */
export type RequestVerdict =
  /** Stopped while waiting for a slot: nothing reached GC. */
  | { readonly kind: 'aborted' }
  | { readonly kind: 'rateLimited'; readonly message: string }
  /** `answered`: GC gave an HTTP status, so it certainly did not apply the write. */
  | { readonly kind: 'failed'; readonly classification: ErrorClassification; readonly message: string; readonly answered: boolean };

export interface FailurePolicyOptions {
  readonly ledger: WriterLedger;
  readonly ordering: WriterOrdering;
  readonly classifyError: ClassifyError;
  readonly baseRetryDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly random: () => number;
  readonly now: () => number;
  readonly counters: WriterCounters;
  readonly log: Logger;
}

export class FailurePolicy {
  /** Fields backing off, soonest retry first (then oldest change first). */
  readonly delayed: SlotHeap;
  /** Requests whose users go out again, by cause (`exas_gc_retries_total{operation="write"}`). */
  readonly requestRetries: GcRetryCounts = zeroRetryCounts();
  readonly #options: FailurePolicyOptions;
  /** Whole requests that failed retryably in a row, per client (reset by any answer). */
  readonly #failedInARow = new Map<GcWriteTarget, number>();
  /** When a failed request last paused each client. */
  readonly #pausedAt = new Map<GcWriteTarget, number>();

  constructor(options: FailurePolicyOptions) {
    this.#options = options;
    const { ledger, ordering } = options;
    this.delayed = new SlotHeap((a, b) => {
      const retryA = ledger.retryAt(a);
      const retryB = ledger.retryAt(b);
      return retryA < retryB || (retryA === retryB && ordering.olderChangeFirst(a, b));
    }, ordering.heapPositions);
  }

  // ---- answered requests ----

  /** Judges each user's event of an answered request (`userIds` in batch order); pauses the client on a 429. */
  judgeOutcomes(target: GcWriteTarget, userIds: readonly string[], outcomes: readonly WriteOutcome[]): EventVerdict[] {
    if (this.#failedInARow.delete(target)) this.retryOutageNow();
    const byUser = new Map<string, WriteOutcome>();
    let retryAfterSeconds: number | undefined;
    for (const outcome of outcomes) {
      byUser.set(outcome.userId, outcome);
      if (!outcome.ok && outcome.retryable && outcome.retryAfterSeconds !== undefined) {
        retryAfterSeconds = Math.max(retryAfterSeconds ?? 0, outcome.retryAfterSeconds);
      }
    }
    if (retryAfterSeconds !== undefined) {
      // A Retry-After on an event comes from a 429 inside the call (per-user mode): a client-wide limit.
      this.#options.counters.rateLimited += 1;
      target.budget.pauseFor(retryAfterSeconds);
      this.#options.log.warn('GC rate limited part of a write; pausing this client', { target: target.name, retryAfterSeconds });
    }
    let retriedEvents = false;
    const verdicts = userIds.map((userId): EventVerdict => {
      const outcome = byUser.get(userId);
      if (outcome === undefined) {
        retriedEvents = true;
        return { kind: 'failed', classification: { retryable: true }, message: 'no outcome for this user in the response' };
      }
      if (outcome.ok) return { kind: 'acknowledged' };
      if (outcome.retryable) retriedEvents = true;
      // Like a whole-request 429: the paused budget holds this client back; the user keeps its place.
      if (outcome.retryable && outcome.retryAfterSeconds !== undefined) return { kind: 'requeue', message: outcome.message };
      const classification: ErrorClassification =
        outcome.retryAfterSeconds === undefined ? { retryable: outcome.retryable } : { retryable: outcome.retryable, retryAfterSeconds: outcome.retryAfterSeconds };
      return { kind: 'failed', classification, message: outcome.code === undefined ? outcome.message : `${outcome.code}: ${outcome.message}` };
    });
    // One retry of the request per answer that sends some of its users again (not one per user).
    if (retriedEvents) this.requestRetries[retryAfterSeconds === undefined ? 'event' : '429'] += 1;
    return verdicts;
  }

  // ---- requests that threw ----

  /** Judges a request that threw (`sentAt`: when it left), pausing the client as the header says. */
  judgeError(target: GcWriteTarget, error: unknown, aborted: boolean, sentAt: number, endpoint: string, users: number): RequestVerdict {
    if (aborted) return { kind: 'aborted' };
    const { classifyError, counters, log } = this.#options;
    const classification = classifyError(error);
    const message = describeError(error);
    // A client not set up yet sent nothing to GC: its users wait, but no GC request is being sent again.
    if ((classification.retryable || classification.retryAfterSeconds !== undefined) && !isNotSetUp(error)) {
      this.requestRetries[classification.retryAfterSeconds === undefined ? retryCauseOf(error) : '429'] += 1;
    }
    if (classification.retryAfterSeconds !== undefined) {
      counters.rateLimited += 1;
      target.budget.pauseFor(classification.retryAfterSeconds);
      log.warn('GC rate limited a request; pausing this client', { target: target.name, retryAfterSeconds: classification.retryAfterSeconds, users });
      return { kind: 'rateLimited', message };
    }
    log.warn('GC write request failed', { target: target.name, endpoint, users, retryable: classification.retryable, error: message });
    // A client not set up yet (GC down at start) is not paused: GC's set-up needs its budget (the pause held
    // the set-up back for up to 5 s after an outage).
    if (classification.retryable && !isNotSetUp(error)) this.#pauseForOutage(target, sentAt);
    return { kind: 'failed', classification: { retryable: classification.retryable }, message, answered: answeredByGc(error) };
  }

  /** Pauses the client once per failed round (see the header). */
  #pauseForOutage(target: GcWriteTarget, sentAt: number): void {
    const pausedAt = this.#pausedAt.get(target);
    if (pausedAt !== undefined && sentAt <= pausedAt) return;
    const inARow = (this.#failedInARow.get(target) ?? 0) + 1;
    const { baseRetryDelayMs, maxRetryDelayMs, random, now } = this.#options;
    this.#failedInARow.set(target, inARow);
    this.#pausedAt.set(target, now());
    target.budget.pauseFor(retryDelayMs(inARow, { baseMs: baseRetryDelayMs, maxMs: Math.min(maxRetryDelayMs, MAX_OUTAGE_PAUSE_MS), random }) / 1000);
  }

  // ---- backing off ----

  /** Counts a failed attempt of a field and sets when it may go again. */
  backOff(key: number, classification: ErrorClassification, wholeRequest: boolean): void {
    const { ledger, baseRetryDelayMs, maxRetryDelayMs, random, now } = this.#options;
    const attempts = ledger.attempts(key) + 1;
    ledger.setAttempts(key, attempts);
    const delay =
      classification.retryAfterSeconds !== undefined
        ? classification.retryAfterSeconds * 1000
        : retryDelayMs(attempts, { baseMs: baseRetryDelayMs, maxMs: maxRetryDelayMs, random });
    ledger.setRetryAt(key, Math.ceil(now() + delay));
    ledger.setWaitsOnOutage(key, wholeRequest);
  }

  /** The first backing-off field whose time has come at `time`; -1 when none. */
  nextDue(time: number): number {
    const key = this.delayed.peek();
    return key !== -1 && this.#options.ledger.retryAt(key) <= time ? key : -1;
  }

  /** When the first backing-off field may go; undefined when none backs off. */
  nextRetryAt(): number | undefined {
    const key = this.delayed.peek();
    return key === -1 ? undefined : this.#options.ledger.retryAt(key);
  }

  /** GC answers again by some other way: forget the failed rounds and let the outage's fields go now. */
  gcAnswers(): void {
    this.#failedInARow.clear();
    this.retryOutageNow();
  }

  /** Fields backing off only because whole requests failed go now (the budget still paces them). */
  retryOutageNow(): void {
    const { ledger, now } = this.#options;
    const time = now();
    for (const key of this.delayed.values()) {
      if (!ledger.waitsOnOutage(key) || ledger.retryAt(key) <= time) continue;
      ledger.setRetryAt(key, time);
      this.delayed.update(key);
    }
  }
}

/** Whether a failed request got an HTTP answer from GC (a status), so GC certainly did not apply it. */
function answeredByGc(error: unknown): boolean {
  const status = typeof error === 'object' && error !== null ? (error as { status?: unknown }).status : undefined;
  return typeof status === 'number' && status > 0;
}
