import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../../src/sync/backoff.ts';
import { defaultClassifyError } from '../../../src/sync/classify-error.ts';
import { IndexedHeap } from '../../../src/sync/pending-queue.ts';

describe('retry backoff', () => {
  it('doubles from the base delay, never exceeds the cap, and keeps at least half of it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, random) => {
        const delay = retryDelayMs(attempt, { baseMs: 1000, maxMs: 60_000, random: () => random });
        const cap = Math.min(60_000, 1000 * 2 ** (attempt - 1));
        expect(delay).toBeGreaterThanOrEqual(cap / 2);
        expect(delay).toBeLessThanOrEqual(cap);
      }),
    );
    expect([1, 2, 3].map((attempt) => retryDelayMs(attempt, { baseMs: 100, maxMs: 1000, random: () => 0 }))).toEqual([50, 100, 200]);
  });
});

describe('default error classification', () => {
  it('retries 429 with its Retry-After, 5xx, 408, 401, network failures and timeouts, and not other 4xx', () => {
    expect(defaultClassifyError(Object.assign(new Error('limited'), { status: 429, retryAfterSeconds: 7 }))).toEqual({ retryable: true, retryAfterSeconds: 7 });
    expect(defaultClassifyError({ status: 429 })).toEqual({ retryable: true });
    for (const status of [500, 502, 503, 504, 408, 401]) expect(defaultClassifyError({ status }).retryable).toBe(true);
    for (const status of [400, 403, 404, 409, 422]) expect(defaultClassifyError({ status }).retryable).toBe(false);
    expect(defaultClassifyError(new TypeError('fetch failed')).retryable).toBe(true);
    expect(defaultClassifyError(Object.assign(new Error('x'), { name: 'GcNetworkError' })).retryable).toBe(true);
    expect(defaultClassifyError(Object.assign(new Error('x'), { name: 'TimeoutError' })).retryable).toBe(true);
    expect(defaultClassifyError(Object.assign(new Error('x'), { code: 'ECONNRESET' })).retryable).toBe(true);
    expect(defaultClassifyError(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' }) })).retryable).toBe(true);
    expect(defaultClassifyError({ retryable: false, status: 503 }).retryable).toBe(false);
    // The GC client's GcNetworkError carries status 0 (no response).
    expect(defaultClassifyError(Object.assign(new Error('reset'), { name: 'GcNetworkError', status: 0 })).retryable).toBe(true);
    expect(defaultClassifyError(Object.assign(new Error('denied'), { name: 'GcPermissionError', status: 403 })).retryable).toBe(false);
    expect(defaultClassifyError(new Error('bug')).retryable).toBe(false);
    expect(defaultClassifyError('a string').retryable).toBe(false);
  });
});

describe('indexed heap', () => {
  it('pops in order after any mix of pushes, removals and key changes, holding each item once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('push', 'remove', 'update', 'pop'), fc.nat(30), fc.integer({ min: -50, max: 50 })), { maxLength: 200 }),
        (operations) => {
          const items = Array.from({ length: 31 }, (_, id) => ({ id, key: 0, heapIndex: -1 }));
          const heap = new IndexedHeap<(typeof items)[number]>((a, b) => a.key < b.key || (a.key === b.key && a.id < b.id));
          const model = new Set<number>();
          for (const [operation, id, key] of operations) {
            const item = items[id]!;
            if (operation === 'push' && !model.has(id)) {
              item.key = key;
              heap.push(item);
              model.add(id);
            } else if (operation === 'remove') {
              expect(heap.remove(item)).toBe(model.delete(id));
            } else if (operation === 'update' && model.has(id)) {
              item.key = key;
              heap.update(item);
            } else if (operation === 'pop') {
              const popped = heap.pop();
              const expected = [...model].map((index) => items[index]!).sort((a, b) => a.key - b.key || a.id - b.id)[0];
              expect(popped).toBe(expected);
              if (popped !== undefined) model.delete(popped.id);
            }
            expect(heap.size).toBe(model.size);
          }
          const drained: number[] = [];
          for (let item = heap.pop(); item !== undefined; item = heap.pop()) drained.push(item.key);
          expect(drained).toEqual([...drained].sort((a, b) => a - b));
        },
      ),
    );
  });

  it('refuses to hold the same item twice', () => {
    const heap = new IndexedHeap<{ heapIndex: number }>(() => false);
    const item = { heapIndex: -1 };
    heap.push(item);
    expect(() => heap.push(item)).toThrow(/already queued/);
  });
});
