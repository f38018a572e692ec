/**
 * What a request's end does to its fields: the failure policy judges (failure-policy.ts), the field lifecycle
 * moves (field-lifecycle.ts). Kept apart from both so each stays one policy.
 */
import type { GcWriteTarget, WriteOutcome } from '../../gc/ports.ts';
import type { Batch } from './dispatcher.ts';
import { ENDPOINTS, type FieldLifecycle } from './field-lifecycle.ts';
import type { FailurePolicy } from './failure-policy.ts';
import type { WriterLedger } from './ledger.ts';
import type { WriterCounters } from './types.ts';

export interface SettleDeps {
  readonly ledger: WriterLedger;
  readonly lifecycle: FieldLifecycle;
  readonly failure: FailurePolicy;
  readonly counters: WriterCounters;
}

/** GC answered the request: each user's event is acknowledged, put back in its place, or failed. */
export function settleAnswer(deps: SettleDeps, target: GcWriteTarget, batch: Batch, outcomes: readonly WriteOutcome[]): void {
  const verdicts = deps.failure.judgeOutcomes(target, batch.userIds, outcomes);
  verdicts.forEach((verdict, index) => {
    const key = batch.keys[index]!;
    if (verdict.kind === 'acknowledged') deps.lifecycle.acknowledged(key);
    else if (verdict.kind === 'requeue') putBack(deps, key, verdict.message);
    else deps.lifecycle.failed(key, verdict.classification, verdict.message);
  });
}

/** The request threw: nothing reached GC (aborted), GC rate limited it, or it failed as a whole. */
export function settleThrow(deps: SettleDeps, target: GcWriteTarget, batch: Batch, error: unknown, aborted: boolean, sentAt: number): void {
  const verdict = deps.failure.judgeError(target, error, aborted, sentAt, ENDPOINTS[batch.field], batch.keys.length);
  if (verdict.kind === 'aborted') {
    for (const key of batch.keys) deps.lifecycle.requeue(key);
    return;
  }
  if (verdict.kind === 'rateLimited') {
    // The budget pause holds this client back; the users keep their place and may go to another client.
    for (const key of batch.keys) putBack(deps, key, verdict.message);
    return;
  }
  if (!verdict.answered) {
    // No HTTP answer (a timeout, a connection dropped mid-request): GC may well have applied the write. What it
    // acknowledged of this field before is no longer known, so the next desired value is sent even when it
    // equals that old one (otherwise a timed-out write followed by a change back left GC wrong for good).
    for (const key of batch.keys) deps.ledger.setAcknowledged(key, undefined);
  }
  // The failure policy logged the request once; no per-user line for each of up to a batch of users.
  for (const key of batch.keys) deps.lifecycle.failed(key, verdict.classification, verdict.message, true);
}

/** A retry that keeps the user's place (rate limited). */
function putBack(deps: SettleDeps, key: number, message: string): void {
  deps.counters.retries += 1;
  deps.ledger.setLastError(key, message);
  deps.lifecycle.requeue(key);
}
