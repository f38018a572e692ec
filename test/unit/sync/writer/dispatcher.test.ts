/** The writer's dispatcher: which client sends, when, and with whom in the batch. */
import { describe, expect, it } from 'vitest';
import { fieldKey, Place, PRESENCE, ROUTING } from '../../../../src/sync/writer/ledger.ts';
import { parts, StubTarget, quietLogs } from './harness.ts';

quietLogs();

const READY = { presence: 'OnQueue', routingStatus: 'Idle' } as const;
const ON_CALL = { presence: 'OnQueue', routingStatus: 'Interacting' } as const;

describe('writer dispatcher', () => {
  it('waits for the earliest slot, then sends the oldest users to the client whose slot came first', () => {
    const early = new StubTarget('early', 2);
    const late = new StubTarget('late', 2);
    const { dispatcher, user, clock, ledger } = parts({ targets: [late, early] });
    early.budget.nextSlot = clock.time + 50;
    late.budget.nextSlot = clock.time + 80;
    for (const [index, userId] of ['c', 'a', 'b'].entries()) user(userId, READY, clock.time - 10 * (3 - index) + (userId === 'c' ? 100 : 0));
    expect(dispatcher.dispatchOne(clock.time)).toEqual({ sent: false, wakeAt: clock.time + 50 });
    clock.time += 50;
    expect(dispatcher.dispatchOne(clock.time)).toEqual({ sent: true });
    expect(early.requests).toHaveLength(1);
    expect(early.requests[0]).toMatchObject({ endpoint: 'presence', userIds: ['a', 'b'] });
    expect(ledger.place[fieldKey(ledger.slotOf('a'), PRESENCE)]).toBe(Place.InFlight);
    expect(ledger.place[fieldKey(ledger.slotOf('c'), PRESENCE)]).toBe(Place.Queued);
  });

  it('keeps at most maxInFlightPerTarget requests open per client', () => {
    const target = new StubTarget('t0', 1);
    const { dispatcher, user, clock } = parts({ targets: [target], maxInFlightPerTarget: 2 });
    for (const userId of ['a', 'b', 'c']) user(userId, READY);
    expect(dispatcher.dispatchOne(clock.time).sent).toBe(true);
    expect(dispatcher.dispatchOne(clock.time).sent).toBe(true);
    expect(dispatcher.dispatchOne(clock.time)).toEqual({ sent: false, wakeAt: Number.POSITIVE_INFINITY });
    expect(target.requests.map((request) => request.userIds)).toEqual([['a'], ['b']]);
  });

  it('looks past routing statuses a client cannot set, leaving them queued for one that can', () => {
    const perUser = new StubTarget('per-user', 100, (status) => status === 'Idle' || status === 'OffQueue');
    const { dispatcher, user, clock, ledger } = parts({ targets: [perUser] });
    const both = { presence: 'OnQueue', routingStatus: 'OffQueue' } as const;
    const a = user('a', ON_CALL, clock.time - 20, both);
    user('b', READY, clock.time - 10, both);
    expect(dispatcher.dispatchOne(clock.time).sent).toBe(true);
    expect(perUser.requests[0]).toMatchObject({ endpoint: 'routing', userIds: ['b'] });
    expect(ledger.place[fieldKey(a, ROUTING)]).toBe(Place.Queued);
  });

  it('with several clients, holds a batch that is not full until two of the pool slots passed since the last one', () => {
    const one = new StubTarget('one');
    const two = new StubTarget('two');
    const { dispatcher, user, clock } = parts({ targets: [one, two] });
    one.budget.free = 1;
    two.budget.free = 1;
    user('a', READY);
    expect(dispatcher.dispatchOne(clock.time).sent).toBe(true);
    user('b', READY);
    // Two slots of a pool of 600 requests a minute: 200 ms.
    expect(dispatcher.dispatchOne(clock.time)).toEqual({ sent: false, wakeAt: clock.time + 200 });
    clock.time += 200;
    expect(dispatcher.dispatchOne(clock.time).sent).toBe(true);
  });
});
