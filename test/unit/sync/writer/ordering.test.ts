/** The writer's ordering policy: oldest change first, presence first. */
import { describe, expect, it } from 'vitest';
import { fieldKey, Place, PRESENCE, ROUTING } from '../../../../src/sync/writer/ledger.ts';
import { PRESENCE_FIRST_MAX_ATTEMPTS } from '../../../../src/sync/writer/ordering.ts';
import { parts } from './harness.ts';

const READY = { presence: 'OnQueue', routingStatus: 'Idle' } as const;
const BUSY = { presence: 'Busy', routingStatus: 'OffQueue' } as const;

describe('writer ordering', () => {
  it('queues users oldest change first, whatever order they arrive in', () => {
    const { ledger, ordering, user, clock } = parts();
    user('late', READY, clock.time + 30);
    user('early', READY, clock.time + 10);
    user('middle', READY, clock.time + 20);
    const queue = ordering.queue(PRESENCE);
    const popped: string[] = [];
    for (let key = queue.peek(); key !== -1; key = queue.peek()) {
      popped.push(ledger.userId(key >> 1));
      queue.remove(key);
    }
    expect(popped).toEqual(['early', 'middle', 'late']);
    // Their routing statuses wait outside the queue while their presences are pending (presence first).
    expect(ordering.queue(ROUTING).size).toBe(0);
  });

  it('gives both fields of a user the place of its oldest pending change, and a parked field none', () => {
    const { ledger, ordering, lifecycle, user, clock } = parts();
    const start = clock.time;
    const a = user('a', READY, start + 10, BUSY);
    const b = user('b', READY, start + 20, BUSY);
    expect(ledger.lineSince[a]).toBe(start + 10);
    expect(ordering.olderChangeFirst(fieldKey(a, PRESENCE), fieldKey(b, PRESENCE))).toBe(true);
    // a's presence is rejected for good: it holds no place in line, and a's routing status goes without it.
    lifecycle.moveTo(fieldKey(a, PRESENCE), Place.Parked);
    expect(ledger.place[fieldKey(a, ROUTING)]).toBe(Place.Queued);
    expect(ledger.lineSince[a]).toBe(start + 10);
    lifecycle.moveTo(fieldKey(a, ROUTING), Place.Parked);
    expect(ledger.lineSince[a]).toBe(Number.POSITIVE_INFINITY);
    expect(ordering.olderChangeFirst(fieldKey(b, PRESENCE), fieldKey(a, PRESENCE))).toBe(true);
  });

  it('keeps a pending change in its place when the user changes again, and requeues a change made in flight', () => {
    const { ledger, ordering, clock } = parts();
    const key = fieldKey(ledger.add('a'), PRESENCE);
    ordering.noteChange(key, clock.time);
    ordering.noteChange(key, clock.time + 500);
    expect(ledger.pendingSince[key]).toBe(clock.time);
    const first = ledger.sequence[key]!;
    ordering.requeueChange(key, clock.time + 700);
    expect(ledger.pendingSince[key]).toBe(clock.time + 700);
    expect(ledger.sequence[key]).toBeGreaterThan(first);
  });

  it('holds a routing status back while its presence is pending, up to a few failed presence attempts', () => {
    const { ledger, ordering, user } = parts();
    const slot = user('a', READY, undefined, BUSY);
    const presence = fieldKey(slot, PRESENCE);
    const routing = fieldKey(slot, ROUTING);
    expect(ledger.place[presence]).toBe(Place.Queued);
    expect(ledger.place[routing]).toBe(Place.WaitsForOther);
    for (const place of [Place.Queued, Place.WaitsForOther, Place.InFlight]) {
      ledger.setPlace(presence, place);
      expect(ordering.waitsForOther(routing)).toBe(true);
    }
    ledger.setPlace(presence, Place.Delayed);
    ledger.setAttempts(presence, PRESENCE_FIRST_MAX_ATTEMPTS - 1);
    expect(ordering.waitsForOther(routing)).toBe(true);
    ledger.setAttempts(presence, PRESENCE_FIRST_MAX_ATTEMPTS);
    expect(ordering.waitsForOther(routing)).toBe(false);
    ledger.setPlace(presence, Place.Parked);
    expect(ordering.waitsForOther(routing)).toBe(false);
    // and a presence waits while the routing-status request is open: never both fields in flight.
    ledger.setPlace(routing, Place.InFlight);
    expect(ordering.waitsForOther(presence)).toBe(true);
    ledger.setPlace(routing, Place.Idle);
    expect(ordering.waitsForOther(presence)).toBe(false);
  });

  it('serves the endpoint whose head changed first', () => {
    const { ordering, user, lifecycle, clock } = parts();
    const start = clock.time;
    const a = user('a', READY, start, { presence: 'OnQueue', routingStatus: 'OffQueue' });
    expect(ordering.endpointOrder()).toEqual([ROUTING, PRESENCE]);
    user('b', READY, start, BUSY);
    expect(ordering.endpointOrder()).toEqual([ROUTING, PRESENCE]);
    lifecycle.moveTo(fieldKey(a, ROUTING), Place.Idle);
    expect(ordering.endpointOrder()).toEqual([PRESENCE, ROUTING]);
    user('c', READY, start - 5, { presence: 'OnQueue', routingStatus: 'OffQueue' });
    expect(ordering.endpointOrder()).toEqual([ROUTING, PRESENCE]);
  });
});
