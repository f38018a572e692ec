/**
 * A user's slot in the ledger is freed only once nothing of the user is open, and a reused slot starts blank:
 * a request that settles after its user left scope updates nothing, and never touches the user who gets the slot.
 */
import { describe, expect, it } from 'vitest';
import { createWriter } from '../../../../src/sync/writer/index.ts';
import { FakeClock, FakeTarget, runUntilIdle } from '../fakes.ts';
import { quietLogs } from './harness.ts';

quietLogs();

const READY = { presence: 'OnQueue', routingStatus: 'Idle' } as const;
const BUSY = { presence: 'Busy', routingStatus: 'OffQueue' } as const;

describe('writer slots', () => {
  it('drops a user forgotten in flight when its request settles, and gives its slot to a newcomer blank', async () => {
    const clock = new FakeClock();
    const target = new FakeTarget(clock, { latencyMs: 100 });
    target.respond = (call) => (call.items.some((item) => item.userId === 'leaver') ? [{ userId: 'leaver', ok: false, retryable: false, message: 'rejected' }] : undefined);
    const acknowledged: string[] = [];
    const writer = createWriter({ targets: [target], now: clock.now, timers: clock.timers, random: () => 0.5, onAcknowledged: (userId) => acknowledged.push(userId) });
    writer.start();
    writer.setDesired('leaver', BUSY);
    await clock.advance(10);
    expect(writer.get('leaver')!.inFlight).toBe(true);
    writer.forget('leaver');
    expect(writer.get('leaver')).toBeUndefined();
    expect(writer.stats().trackedUsers).toBe(1);
    await clock.advance(200);
    // The rejection of the forgotten user parked nothing and left nothing behind.
    expect(writer.stats()).toMatchObject({ trackedUsers: 0, failedUsers: 0, inFlightUsers: 0, pendingUsers: 0 });
    writer.setDesired('newcomer', READY);
    expect(writer.get('newcomer')).toMatchObject({ version: 1, acknowledgedVersion: 0, inFlight: false, failed: false });
    expect(writer.get('newcomer')!.lastError).toBeUndefined();
    await runUntilIdle(clock, writer);
    expect(target.gc.presence.get('newcomer')).toBe('OnQueue');
    expect(target.gc.routing.get('newcomer')).toBe('Idle');
    expect(acknowledged).toEqual(['newcomer']);
    expect(writer.get('leaver')).toBeUndefined();
  });
});
