/** The HA chaos oracle itself: it must flag two writers interleaving, and pass a clean handover. */
import { describe, expect, it } from 'vitest';
import { instanceOf, isGcWrite, overlappingWrites, type GcRequestRecord } from '../helpers/gc-request-log.ts';

const write = (at: number, instance: string): GcRequestRecord => ({ at, instance, method: 'POST', path: '/api/v2/events/users/presence', status: 202, write: true, entries: 1 });

describe('HA oracle', () => {
  it('a clean handover (and an old request landing within the margin) is not an overlap', () => {
    const writes = [write(0, 'a'), write(200, 'a'), write(400, 'a'), write(5_000, 'b'), write(5_300, 'a'), write(5_400, 'b'), write(6_000, 'b')];
    expect(overlappingWrites(writes, 2_500, 4_000)).toEqual([]);
  });

  it('two instances writing through the same stretch are flagged', () => {
    const writes: GcRequestRecord[] = [];
    for (let at = 0; at <= 12_000; at += 500) writes.push(write(at, 'a'));
    for (let at = 250; at <= 12_000; at += 1_000) writes.push(write(at, 'b'));
    const overlaps = overlappingWrites(writes, 2_500, 8_000);
    expect(overlaps.length).toBeGreaterThan(0);
    expect(new Set(overlaps.map((overlap) => overlap.instance))).toEqual(new Set(['a', 'b']));
  });

  it('a failback after a whole lease is a new tenure, not an overlap', () => {
    const writes = [write(0, 'a'), write(5_000, 'b'), write(10_000, 'a')];
    expect(overlappingWrites(writes, 2_500, 4_000)).toEqual([]);
  });

  it('classifies GC writes and reads the instance from User-Agent', () => {
    expect(isGcWrite('POST', '/api/v2/events/users/routingstatus')).toBe(true);
    expect(isGcWrite('PATCH', '/api/v2/users/u1/presences/src')).toBe(true);
    expect(isGcWrite('PUT', '/api/v2/users/u1/routingstatus')).toBe(true);
    expect(isGcWrite('PUT', '/api/v2/presence/users/u1/primarysource')).toBe(true);
    expect(isGcWrite('GET', '/api/v2/users?id=u1')).toBe(false);
    expect(isGcWrite('POST', '/api/v2/notifications/channels')).toBe(false);
    expect(instanceOf('exas/0.1.0 (exas-a)')).toBe('exas-a');
  });
});
