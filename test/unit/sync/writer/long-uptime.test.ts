/**
 * Times stay exact for months of uptime (issue 17 part 2): the writer keeps epoch milliseconds in Float64
 * columns, so a clock 40 days past process start (beyond 2^31 ms, where a packed small-integer time stopped being
 * one) orders users and backs off exactly as on day one.
 */
import { describe, expect, it } from 'vitest';
import { createWriter } from '../../../../src/sync/writer/index.ts';
import { FakeBudget, FakeClock, FakeTarget, runUntilIdle } from '../fakes.ts';
import { FORTY_DAYS_MS, quietLogs } from './harness.ts';

quietLogs();

const READY = { presence: 'OnQueue', routingStatus: 'Idle' } as const;

describe('writer after 40 days of uptime', () => {
  it('serves users oldest change first and backs off to the exact millisecond', async () => {
    const clock = new FakeClock(Date.now() + FORTY_DAYS_MS);
    expect(clock.now() - performance.timeOrigin).toBeGreaterThan(2 ** 31);
    const target = new FakeTarget(clock, { maxBatchSize: 1, budget: new FakeBudget(clock, 60), latencyMs: 10 });
    let failFirst = true;
    target.respond = (call) => {
      if (!failFirst) return undefined;
      failFirst = false;
      return [{ userId: call.items[0]!.userId, ok: false, retryable: true, message: 'try again' }];
    };
    const writer = createWriter({ targets: [target], now: clock.now, timers: clock.timers, random: () => 0.5, batchSize: 1 });
    const start = clock.now();
    // Changed 1 ms apart, told in another order: the order of the changes wins.
    writer.setDesired('third', READY, start + 2);
    writer.setDesired('first', READY, start);
    writer.setDesired('second', READY, start + 1);
    writer.start();
    await clock.advance(15);
    // GC failed the first user's event: 'first' backs off three quarters of the 1 s base (random 0.5), to the millisecond.
    const failedAt = target.calls[0]!.at + 10;
    expect(target.calls[0]!.items[0]!.userId).toBe('first');
    expect(writer.get('first')!.retryAt).toBe(failedAt + 750);
    expect(writer.get('first')!.pendingSince).toBe(start);
    await runUntilIdle(clock, writer);
    const presenceOrder = target.calls.filter((call) => call.endpoint === 'presence').map((call) => call.items[0]!.userId);
    expect(presenceOrder.slice(1, 3)).toEqual(['second', 'third']);
    const retry = target.calls.filter((call) => call.endpoint === 'presence' && call.items[0]!.userId === 'first')[1]!;
    expect(retry.at).toBeGreaterThanOrEqual(failedAt + 750);
    expect(target.gc.presence.get('first')).toBe('OnQueue');
    expect(writer.get('first')!.acknowledgedVersion).toBe(1);
    expect(writer.stats().oldestPendingAgeSeconds).toBe(0);
  });
});
