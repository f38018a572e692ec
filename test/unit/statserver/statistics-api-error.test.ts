/** Which Statistics API failures are Stat Server refusing statistics (split the batch) and which break the link. */
import { describe, expect, it } from 'vitest';
import { StatisticsApiError } from '../../../src/statserver/index.ts';

const error = (httpStatus: number, statusCode: number | null) => new StatisticsApiError('x', httpStatus, statusCode, 'Stat Server says no');

describe('StatisticsApiError.refusal', () => {
  it('is a refusal for a non-zero status.code other than ASYNC_OK on a 200 or 400 answer', () => {
    expect(error(200, 2).refusal).toBe(true);
    expect(error(400, 2).refusal).toBe(true);
    expect(error(400, 400).refusal).toBe(true);
  });

  it('is not a refusal for success codes, auth, a missing resource, server errors, or a body without a status', () => {
    expect(error(200, 0).refusal).toBe(false);
    expect(error(200, 1).refusal).toBe(false);
    for (const http of [401, 403, 404, 429, 500, 502, 503]) expect(error(http, 5).refusal).toBe(false);
    expect(error(400, null).refusal).toBe(false);
  });

  it('keeps Stat Server message for the agent view', () => {
    expect(error(200, 2).serverMessage).toBe('Stat Server says no');
  });
});
