import { describe, expect, it } from 'vitest';
import {
  errorFromResponse,
  GcAuthError,
  GcConflictError,
  GcNetworkError,
  GcNotFoundError,
  GcPermissionError,
  GcServerError,
  GcValidationError,
  isRetryable,
  parseRetryAfter,
  RateLimitedError,
} from '../../../src/gc/index.ts';

const body = (fields: Record<string, unknown>): string => JSON.stringify(fields);

describe('GC error parsing', () => {
  it('reads code, status, message and correlation id from GC error body and header', () => {
    const error = errorFromResponse(
      404,
      new Headers({ 'ININ-Correlation-Id': 'corr-1' }),
      body({ message: 'user not found', code: 'not.found', status: 404, contextId: 'ctx-9' }),
      'GET /api/v2/users/{userId}',
    );
    expect(error).toBeInstanceOf(GcNotFoundError);
    expect(error.status).toBe(404);
    expect(error.code).toBe('not.found');
    expect(error.correlationId).toBe('corr-1');
    expect(error.message).toContain('user not found');
    expect(isRetryable(error)).toBe(false);
  });

  it('falls back to contextId when the correlation header is missing', () => {
    const error = errorFromResponse(400, new Headers(), body({ code: 'bad.request', contextId: 'ctx-9' }), 'POST x');
    expect(error).toBeInstanceOf(GcValidationError);
    expect(error.correlationId).toBe('ctx-9');
  });

  it('turns a 429 into RateLimitedError with Retry-After seconds', () => {
    const error = errorFromResponse(429, new Headers({ 'Retry-After': '17' }), body({ code: 'too.many.requests.retry.after' }), 'POST x');
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterSeconds).toBe(17);
    expect(error.code).toBe('too.many.requests.retry.after');
    expect(isRetryable(error)).toBe(true);
  });

  it.each([
    [401, GcAuthError, false],
    [403, GcPermissionError, false],
    [409, GcConflictError, false],
    [413, GcValidationError, false],
    [500, GcServerError, true],
    [503, GcServerError, true],
  ])('maps HTTP %i to its typed error', (status, type, retryable) => {
    const error = errorFromResponse(status, new Headers(), '<html>proxy</html>', 'GET x');
    expect(error).toBeInstanceOf(type);
    expect(isRetryable(error)).toBe(retryable);
  });

  it('treats network failures and timeouts as retryable', () => {
    const error = new GcNetworkError('GET x: timed out', { timedOut: true });
    expect(error.status).toBe(0);
    expect(error.timedOut).toBe(true);
    expect(isRetryable(error)).toBe(true);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3);
    expect(parseRetryAfter(null, 0, 5)).toBe(5);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10);
  });
});
