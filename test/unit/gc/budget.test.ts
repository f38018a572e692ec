import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSlidingWindowBudget } from '../../../src/gc/index.ts';

describe('sliding window request budget', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets the limit through at once and no more within 60 s', async () => {
    let clock = 1_000_000;
    const budget = createSlidingWindowBudget({ requestsPerMinute: 10, headroom: 0, safetyMarginMs: 0, now: () => clock });
    expect(budget.limit).toBe(10);
    for (let index = 0; index < 10; index += 1) await budget.take();
    expect(budget.available()).toBe(0);
    expect(budget.nextSlotAt()).toBe(1_000_000 + 60_000);
    clock += 59_999;
    expect(budget.available()).toBe(0);
    clock += 1;
    expect(budget.available()).toBe(10);
  });

  it('frees slots one at a time as the oldest requests leave the window', async () => {
    let clock = 0;
    const budget = createSlidingWindowBudget({ requestsPerMinute: 3, headroom: 0, safetyMarginMs: 0, now: () => clock });
    await budget.take();
    clock = 10_000;
    await budget.take();
    clock = 20_000;
    await budget.take();
    clock = 60_000;
    expect(budget.available()).toBe(1);
    expect(budget.nextSlotAt()).toBe(60_000);
    await budget.take();
    expect(budget.nextSlotAt()).toBe(70_000);
  });

  it('counts the requests sent in the window, which pacing keeps apart from limit minus available', async () => {
    let clock = 0;
    // 300/min with a 3 % burst: 9 requests go at once, then the pacing hands out a token every ~206 ms.
    const budget = createSlidingWindowBudget({ requestsPerMinute: 300, headroom: 0, safetyMarginMs: 0, burstShare: 0.03, now: () => clock });
    for (let index = 0; index < 9; index += 1) await budget.take();
    expect(budget.sentInWindow()).toBe(9);
    expect(budget.available()).toBe(0);
    // limit − available says 300 in use; GC has seen 9.
    expect(budget.limit - budget.available()).toBe(300);
    clock = 30_000;
    expect(budget.sentInWindow()).toBe(9);
    clock = 60_000;
    expect(budget.sentInWindow()).toBe(0);
  });

  it('never lets more than the limit into any 60 s window, even when callers queue up', async () => {
    vi.useFakeTimers({ now: 0 });
    const budget = createSlidingWindowBudget({ requestsPerMinute: 5, headroom: 0, safetyMarginMs: 0, now: () => Date.now() });
    const sentAt: number[] = [];
    const all = Array.from({ length: 12 }, () => budget.take().then(() => sentAt.push(Date.now())));
    await vi.advanceTimersByTimeAsync(3 * 60_000);
    await Promise.all(all);
    expect(sentAt).toHaveLength(12);
    for (const start of sentAt) {
      const inWindow = sentAt.filter((at) => at >= start && at < start + 60_000).length;
      expect(inWindow).toBeLessThanOrEqual(5);
    }
    expect(sentAt.slice(0, 5).every((at) => at === 0)).toBe(true);
    expect(sentAt[5]).toBe(60_000);
  });

  it('with a burst share, a sustained storm is spaced out, never more in any 60 s, and never stalls', async () => {
    vi.useFakeTimers({ now: 0 });
    const budget = createSlidingWindowBudget({ requestsPerMinute: 300, headroom: 0, safetyMarginMs: 0, burstShare: 0.1, now: () => Date.now() });
    const sentAt: number[] = [];
    let running = true;
    const sender = (async () => {
      while (running) {
        await budget.take();
        sentAt.push(Date.now());
      }
    })();
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    running = false;
    await vi.advanceTimersByTimeAsync(1_000);
    await sender;
    // The burst is a tenth of the budget, not all of it: the rest is spaced out at the 270 a minute left.
    expect(sentAt.filter((at) => at === 0)).toHaveLength(30);
    expect(sentAt.filter((at) => at < 1_000).length).toBeLessThanOrEqual(35);
    for (const start of sentAt) {
      expect(sentAt.filter((at) => at >= start && at < start + 60_000).length).toBeLessThanOrEqual(300);
    }
    // The burst and the spacing fit one window, so the window never holds the sender: one minute after the
    // burst there is no gap of the burst's length (spaced at the full 300 it was 6 s), every gap is one step.
    const gaps = sentAt.slice(30).map((at, index) => at - (sentAt[29 + index] as number));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(Math.ceil(60_000 / 270) + 1);
    // Minutes 2 to 5 of a storm each carry the 270 the spacing allows.
    for (let minute = 1; minute < 5; minute += 1) {
      const inMinute = sentAt.filter((at) => at >= minute * 60_000 && at < (minute + 1) * 60_000).length;
      expect(inMinute).toBeGreaterThanOrEqual(269);
    }
  });

  it('holds every request after a 429 until Retry-After has passed', async () => {
    vi.useFakeTimers({ now: 0 });
    const budget = createSlidingWindowBudget({ requestsPerMinute: 100, headroom: 0, now: () => Date.now() });
    budget.pauseFor(7);
    expect(budget.available()).toBe(0);
    expect(budget.nextSlotAt()).toBe(7_000);
    let sent = false;
    const pending = budget.take().then(() => {
      sent = true;
    });
    await vi.advanceTimersByTimeAsync(6_999);
    expect(sent).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await pending;
    expect(sent).toBe(true);
  });

  it('leaves headroom below the configured limit', () => {
    const budget = createSlidingWindowBudget({ requestsPerMinute: 300, headroom: 0.1 });
    expect(budget.limit).toBe(270);
    expect(createSlidingWindowBudget({ requestsPerMinute: 300 }).limit).toBe(285);
  });

  it('rejects a waiting take when its signal aborts, and serves the next caller', async () => {
    let clock = 0;
    const budget = createSlidingWindowBudget({ requestsPerMinute: 1, headroom: 0, safetyMarginMs: 0, now: () => clock });
    await budget.take();
    const controller = new AbortController();
    const waiting = budget.take(controller.signal);
    controller.abort(new Error('stopped'));
    await expect(waiting).rejects.toThrow('stopped');
    clock = 60_000;
    await expect(budget.take()).resolves.toBeUndefined();
  });

  it('refuses nonsense options with an error naming the option', () => {
    expect(() => createSlidingWindowBudget({ requestsPerMinute: 0 })).toThrow(/requestsPerMinute/);
    expect(() => createSlidingWindowBudget({ requestsPerMinute: 10, headroom: 1 })).toThrow(/headroom/);
  });
});
