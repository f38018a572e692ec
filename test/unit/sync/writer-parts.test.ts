import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../../src/sync/backoff.ts';
import { defaultClassifyError } from '../../../src/sync/classify-error.ts';

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
