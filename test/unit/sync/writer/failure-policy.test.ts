/** The writer's failure policy: judging answers and failures, backing off, pausing a client per failed round. */
import { describe, expect, it } from 'vitest';
import { fieldKey, Place, PRESENCE } from '../../../../src/sync/writer/ledger.ts';
import { parts, StubTarget, quietLogs } from './harness.ts';

quietLogs();

const READY = { presence: 'OnQueue', routingStatus: 'Idle' } as const;

describe('writer failure policy', () => {
  it('judges each event of an answer, and pauses the client for a Retry-After inside the call', () => {
    const { failure, counters } = parts();
    const target = new StubTarget('t0');
    const verdicts = failure.judgeOutcomes(
      target,
      ['ok', 'limited', 'rejected', 'flaky', 'missing'],
      [
        { userId: 'ok', ok: true },
        { userId: 'limited', ok: false, retryable: true, retryAfterSeconds: 7, message: 'slow down' },
        { userId: 'rejected', ok: false, retryable: false, code: 'bad.request', message: 'no such presence' },
        { userId: 'flaky', ok: false, retryable: true, message: 'try again' },
      ],
    );
    expect(verdicts).toEqual([
      { kind: 'acknowledged' },
      { kind: 'requeue', message: 'slow down' },
      { kind: 'failed', classification: { retryable: false }, message: 'bad.request: no such presence' },
      { kind: 'failed', classification: { retryable: true }, message: 'try again' },
      { kind: 'failed', classification: { retryable: true }, message: 'no outcome for this user in the response' },
    ]);
    expect(target.budget.pauses).toEqual([7]);
    expect(counters.rateLimited).toBe(1);
    // One retry of the request, not one per user.
    expect(failure.requestRetries['429']).toBe(1);
    expect(failure.requestRetries.event).toBe(0);
  });

  it('pauses a failing client once per failed round, longer each round, and not at all when aborted', () => {
    const { failure, clock } = parts();
    const target = new StubTarget('t0');
    const sentAt = clock.time;
    clock.time += 100;
    // The presence and routing-status requests that left together fail together: one round.
    expect(failure.judgeError(target, { status: 503 }, false, sentAt, 'presence', 10)).toMatchObject({ kind: 'failed', answered: true });
    expect(failure.judgeError(target, { status: 503 }, false, sentAt, 'routing', 10)).toMatchObject({ kind: 'failed' });
    expect(target.budget.pauses).toEqual([0.75]);
    clock.time += 1000;
    failure.judgeError(target, { name: 'GcNetworkError', status: 0 }, false, clock.time, 'presence', 10);
    expect(target.budget.pauses).toEqual([0.75, 1.5]);
    expect(failure.requestRetries['5xx']).toBe(2);
    expect(failure.judgeError(target, { status: 503 }, true, clock.time, 'presence', 10)).toEqual({ kind: 'aborted' });
    expect(failure.judgeError(target, { status: 429, retryAfterSeconds: 3 }, false, clock.time, 'presence', 10)).toMatchObject({ kind: 'rateLimited' });
    expect(target.budget.pauses).toEqual([0.75, 1.5, 3]);
  });

  it('backs a field off exponentially to the cap, or for Retry-After, at exact epoch ms beyond 40 days of uptime', () => {
    const { failure, ledger, lifecycle, user, clock } = parts();
    const key = fieldKey(user('a', READY), PRESENCE);
    const delays: number[] = [];
    for (let attempt = 0; attempt < 8; attempt += 1) {
      failure.backOff(key, { retryable: true }, false);
      delays.push(ledger.retryAt(key) - clock.time);
    }
    // random 0.5: three quarters of min(60 s, 1 s · 2^(n-1)).
    expect(delays).toEqual([750, 1500, 3000, 6000, 12000, 24000, 45000, 45000]);
    failure.backOff(key, { retryable: true, retryAfterSeconds: 2 }, false);
    expect(ledger.retryAt(key)).toBe(clock.time + 2000);
    lifecycle.moveTo(key, Place.Delayed);
    expect(failure.nextRetryAt()).toBe(clock.time + 2000);
    expect(failure.nextDue(clock.time + 1999)).toBe(-1);
    expect(failure.nextDue(clock.time + 2000)).toBe(key);
  });

  it('lets fields that wait only on an outage go at once when GC answers again, and leaves the others', () => {
    const { failure, ledger, lifecycle, user, clock } = parts();
    const outage = fieldKey(user('outage', READY), PRESENCE);
    const own = fieldKey(user('own', READY), PRESENCE);
    failure.backOff(outage, { retryable: true }, true);
    failure.backOff(own, { retryable: true }, false);
    lifecycle.moveTo(outage, Place.Delayed);
    lifecycle.moveTo(own, Place.Delayed);
    const ownRetry = ledger.retryAt(own);
    failure.gcAnswers();
    expect(ledger.retryAt(outage)).toBe(clock.time);
    expect(ledger.retryAt(own)).toBe(ownRetry);
    expect(failure.nextDue(clock.time)).toBe(outage);
  });
});
