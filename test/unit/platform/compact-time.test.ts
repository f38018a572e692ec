import { describe, expect, it } from 'vitest';
import { createTimeColumn, packTime, unpackTime } from '../../../src/platform/compact-time.ts';

const DAY_MS = 86_400_000;
const START = Date.UTC(2026, 0, 1);

describe('compact time', () => {
  it('a time column gives back every epoch ms exactly, past the 24.8 days a packed small integer covers', () => {
    const column = createTimeColumn(2);
    const times = [START, START + 24 * DAY_MS + 1, START + 2 ** 31 + 7, START + 41 * DAY_MS + 123, START + 400 * DAY_MS + 999];
    times.forEach((at, slot) => column.set(slot, at));
    expect(times.map((_, slot) => column.get(slot))).toEqual(times);
    expect(column.capacity).toBeGreaterThanOrEqual(times.length);
  });

  it('a slot with no time, or a cleared one, has none', () => {
    const column = createTimeColumn();
    column.set(3, START);
    column.clear(3);
    expect(column.get(3)).toBeUndefined();
    expect(column.get(0)).toBeUndefined();
    expect(column.get(10_000)).toBeUndefined();
  });

  it('packed times stay exact after 40 days of uptime (boxed, not wrapped)', () => {
    const at = Date.now() + 41 * DAY_MS + 5;
    expect(unpackTime(packTime(at))).toBe(at);
  });
});
