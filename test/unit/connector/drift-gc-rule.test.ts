import { describe, expect, it } from 'vitest';
import { createDriftGuard } from '../../../src/sync/drift.ts';
import { askInOrder } from '../../helpers/drift-asks.ts';

/** GC's native rule "routing status Off Queue unless On Queue", if it holds for injected state (undocumented). */
describe('drift guard and GC keeping routing status Off Queue off On Queue', () => {
  function guard() {
    let now = 0;
    const drift = createDriftGuard({ policy: 're-assert', maxReasserts: 3, windowMs: 300_000, echoWindowMs: 30_000, now: () => now });
    return { drift, ask: askInOrder(drift, () => now), advance: (ms: number) => (now += ms) };
  }
  const onCall = { presence: 'Busy', routingStatus: 'Interacting' } as const;

  it('re-asserts such an Off Queue once per desired state, then recognises the rule however often GC reports it', () => {
    const { drift, ask, advance } = guard();
    ask('u1', { presence: 'OnQueue', routingStatus: 'Idle' });
    ask('u1', onCall);
    advance(60_000);
    expect(drift.judge('u1', 'routingStatus', 'OffQueue', onCall)).toMatchObject({ kind: 'drift', action: 're-assert' });
    // Bulk reads every few minutes for an hour: never another re-assert, never the cap.
    for (let read = 0; read < 20; read += 1) {
      advance(180_000);
      expect(drift.judge('u1', 'routingStatus', 'OffQueue', onCall)).toMatchObject({ kind: 'drift', action: 'gc-rule' });
    }
    expect(drift.stats()).toMatchObject({ reasserted: 1, capped: 0, gcRule: 20 });
  });

  it('gives a new desired state its one re-assert again', () => {
    const { drift, ask, advance } = guard();
    ask('u1', onCall);
    advance(60_000);
    expect(drift.judge('u1', 'routingStatus', 'OffQueue', onCall)).toMatchObject({ action: 're-assert' });
    expect(drift.judge('u1', 'routingStatus', 'OffQueue', onCall)).toMatchObject({ action: 'gc-rule' });
    const internal = { presence: 'Busy', routingStatus: 'Communicating' } as const;
    ask('u1', internal);
    advance(60_000);
    expect(drift.judge('u1', 'routingStatus', 'OffQueue', internal)).toMatchObject({ action: 're-assert' });
    expect(drift.judge('u1', 'routingStatus', 'OffQueue', internal)).toMatchObject({ action: 'gc-rule' });
  });

  it('does not apply to On Queue, nor to presence, nor to other routing statuses: those are drift as before', () => {
    const { drift, ask, advance } = guard();
    const ready = { presence: 'OnQueue', routingStatus: 'Idle' } as const;
    ask('u1', ready);
    advance(60_000);
    for (let change = 0; change < 4; change += 1) {
      advance(2_000);
      drift.judge('u1', 'routingStatus', 'OffQueue', ready);
    }
    expect(drift.stats()).toMatchObject({ reasserted: 3, capped: 1, gcRule: 0 });
    ask('u2', onCall);
    advance(60_000);
    expect(drift.judge('u2', 'presence', 'Available', onCall)).toMatchObject({ action: 're-assert' });
    expect(drift.judge('u2', 'routingStatus', 'Idle', onCall)).toMatchObject({ action: 're-assert' });
    expect(drift.stats().gcRule).toBe(0);
  });
});
