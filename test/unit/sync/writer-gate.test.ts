/** The writer's gate (high availability): nothing is sent while it is closed, not even by flush; opening it sends. */
import { describe, expect, it } from 'vitest';
import { createWriter, type WriterGate } from '../../../src/sync/writer/index.ts';
import { FakeClock, FakeTarget, runUntilIdle } from './fakes.ts';

function gate(open: boolean): WriterGate & { set(next: boolean): void } {
  let state = open;
  const listeners = new Set<() => void>();
  return {
    isOpen: () => state,
    onOpen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(next) {
      state = next;
      if (next) for (const listener of listeners) listener();
    },
  };
}

describe('writer gate', () => {
  it('sends nothing while closed, keeps the newest desired state, and sends it when the gate opens', async () => {
    const clock = new FakeClock();
    const target = new FakeTarget(clock);
    const writeGate = gate(false);
    const writer = createWriter({ targets: [target], now: clock.now, timers: clock.timers, random: () => 0.5, gate: writeGate });
    writer.start();
    writer.setDesired('u1', { presence: 'Busy', routingStatus: 'OffQueue' });
    writer.setDesired('u1', { presence: 'Break', routingStatus: 'OffQueue' });
    writer.setDesired('u2', { presence: 'OnQueue', routingStatus: 'Idle' });
    await clock.advance(60_000);
    expect(target.calls).toHaveLength(0);
    expect(writer.stats().pendingUsers).toBe(2);
    // A closed gate makes flush return at once, sending nothing.
    expect(await writer.flush(30_000)).toEqual({ sent: 0, remaining: 2 });
    expect(target.calls).toHaveLength(0);

    writeGate.set(true);
    await runUntilIdle(clock, writer);
    expect(target.calls.map((call) => call.endpoint)).toEqual(['presence', 'routing']);
    expect(target.calls[0]!.items).toEqual(expect.arrayContaining([{ userId: 'u1', value: 'Break' }, { userId: 'u2', value: 'OnQueue' }]));
    expect(writer.get('u1')?.acknowledged).toEqual({ presence: 'Break', routingStatus: 'OffQueue' });
    await writer.stop();
  });

  it('a gate that closes mid-way stops the next batch; open requests settle', async () => {
    const clock = new FakeClock();
    const target = new FakeTarget(clock);
    const writeGate = gate(true);
    const writer = createWriter({ targets: [target], now: clock.now, timers: clock.timers, random: () => 0.5, gate: writeGate });
    writer.start();
    writer.setDesired('u1', { presence: 'Busy', routingStatus: 'OffQueue' });
    await runUntilIdle(clock, writer);
    const before = target.calls.length;
    writeGate.set(false);
    writer.setDesired('u1', { presence: 'OnQueue', routingStatus: 'Idle' });
    await clock.advance(60_000);
    expect(target.calls.length).toBe(before);
    writeGate.set(true);
    await runUntilIdle(clock, writer);
    expect(target.calls.length).toBe(before + 2);
    await writer.stop();
  });
});
