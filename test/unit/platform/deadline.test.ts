import { describe, expect, it } from 'vitest';
import { withDeadline } from '../../../src/platform/deadline.ts';

describe('withDeadline', () => {
  it('gives the task its value when it settles in time', async () => {
    await expect(withDeadline(Promise.resolve(42), 1_000, () => new Error('late'))).resolves.toBe(42);
    await expect(withDeadline(Promise.reject(new Error('failed')), 1_000, () => new Error('late'))).rejects.toThrow('failed');
  });

  it('rejects with late() when the task does not settle in time, and handles its later rejection', async () => {
    let fail: (error: Error) => void = () => undefined;
    const task = new Promise<number>((_, reject) => (fail = reject));
    await expect(withDeadline(task, 5, () => new Error('too slow'))).rejects.toThrow('too slow');
    fail(new Error('after the deadline')); // must not surface as an unhandled rejection (vitest fails the run)
    await new Promise((resolve) => setImmediate(resolve));
  });
});
