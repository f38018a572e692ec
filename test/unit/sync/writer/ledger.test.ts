/** The writer's ledger: slots, field values, places and tallies, in dense columns. */
import { describe, expect, it } from 'vitest';
import { sharedState } from '../../../../src/sync/desired-state.ts';
import { fieldKey, otherKey, Place, PRESENCE, ROUTING, slotOfKey, WriterLedger } from '../../../../src/sync/writer/ledger.ts';
import { FORTY_DAYS_MS } from './harness.ts';

describe('writer ledger', () => {
  it('gives each user one slot, reuses a freed slot, and a reused slot starts blank', () => {
    const ledger = new WriterLedger();
    const a = ledger.add('a');
    const b = ledger.add('b');
    expect(a).not.toBe(b);
    expect(ledger.slotOf('a')).toBe(a);
    expect(ledger.userId(b)).toBe('b');
    ledger.setDesired(a, { presence: 'Busy', routingStatus: 'OffQueue' });
    ledger.version[a] = 7;
    ledger.setLastError(fieldKey(a, PRESENCE), 'HTTP 503');
    ledger.setAttempts(fieldKey(a, PRESENCE), 3);
    ledger.remove(a);
    expect(ledger.slotOf('a')).toBe(-1);
    expect(ledger.size).toBe(1);
    const c = ledger.add('c');
    expect(c).toBe(a);
    expect(ledger.desired(c)).toBeUndefined();
    expect(ledger.version[c]).toBe(0);
    expect(ledger.lastError(fieldKey(c, PRESENCE))).toBeUndefined();
    expect(ledger.attempts(fieldKey(c, PRESENCE))).toBe(0);
    expect(ledger.place[fieldKey(c, ROUTING)]).toBe(Place.Idle);
    expect([...ledger.slots()].map((slot) => ledger.userId(slot))).toEqual(['b', 'c']);
  });

  it('keeps values as codes and gives back the shared state objects, across growth', () => {
    const ledger = new WriterLedger();
    const slots = Array.from({ length: 5000 }, (_, i) => ledger.add(`u${i}`));
    for (const slot of slots) ledger.setDesired(slot, { presence: slot % 2 === 0 ? 'OnQueue' : 'Lunch', routingStatus: 'Idle' });
    ledger.setAcknowledged(fieldKey(slots[4999]!, ROUTING), 'Interacting');
    expect(ledger.desired(slots[0]!)).toBe(sharedState('OnQueue', 'Idle'));
    expect(ledger.desired(slots[4999]!)).toBe(sharedState('Lunch', 'Idle'));
    expect(ledger.desiredValue(fieldKey(slots[3]!, PRESENCE))).toBe('Lunch');
    expect(ledger.acknowledgedRouting(slots[4999]!)).toBe('Interacting');
    expect(ledger.acknowledgedPresence(slots[4999]!)).toBeUndefined();
    ledger.startFlight(fieldKey(slots[2]!, ROUTING));
    ledger.setDesired(slots[2]!, { presence: 'Busy', routingStatus: 'OffQueue' });
    expect(ledger.flight(fieldKey(slots[2]!, ROUTING))).toEqual({ version: 0, state: sharedState('OnQueue', 'Idle') });
    expect(ledger.endFlight(fieldKey(slots[2]!, ROUTING))!.state).toBe(sharedState('OnQueue', 'Idle'));
    expect(ledger.flight(fieldKey(slots[2]!, ROUTING))).toBeUndefined();
  });

  it('counts users, not fields, by place, and knows how many are busy', () => {
    const ledger = new WriterLedger();
    const a = ledger.add('a');
    const b = ledger.add('b');
    ledger.setPlace(fieldKey(a, PRESENCE), Place.Queued);
    ledger.setPlace(fieldKey(a, ROUTING), Place.WaitsForOther);
    ledger.setPlace(fieldKey(b, PRESENCE), Place.InFlight);
    ledger.setPlace(fieldKey(b, ROUTING), Place.Parked);
    expect(ledger.tally).toEqual({ waiting: 1, inflight: 1, parked: 1 });
    expect(ledger.busyUsers).toBe(2);
    ledger.setPlace(fieldKey(a, PRESENCE), Place.Delayed);
    ledger.setPlace(fieldKey(a, ROUTING), Place.Idle);
    expect(ledger.tally).toEqual({ waiting: 1, inflight: 1, parked: 1 });
    ledger.setPlace(fieldKey(a, PRESENCE), Place.Idle);
    ledger.setPlace(fieldKey(b, PRESENCE), Place.Idle);
    expect(ledger.tally).toEqual({ waiting: 0, inflight: 0, parked: 1 });
    expect(ledger.busyUsers).toBe(0);
  });

  it('keeps times exact as epoch milliseconds, far beyond 2^31 ms of uptime', () => {
    const ledger = new WriterLedger();
    const key = fieldKey(ledger.add('a'), PRESENCE);
    const late = 1_767_225_600_000 + FORTY_DAYS_MS + 0.5;
    ledger.pendingSince[key] = late;
    ledger.setRetryAt(key, late + 2 ** 32);
    expect(ledger.pendingSince[key]).toBe(late);
    expect(ledger.retryAt(key) - ledger.pendingSince[key]!).toBe(2 ** 32);
  });

  it('names a field by slot and field, and its sibling', () => {
    expect(fieldKey(5, ROUTING)).toBe(11);
    expect(slotOfKey(11)).toBe(5);
    expect(otherKey(11)).toBe(10);
    expect(otherKey(10)).toBe(11);
  });
});
