import { describe, expect, it } from 'vitest';
import { afterColdStart, readAllByPages, streamColdStart, type ColdStartSteps, type IdentityStatePage, type ObservedGcState, type StatePage } from '../../../src/sync/cold-resync.ts';
import { pageStates } from '../../../src/sync/gc-adapters.ts';

const ON_QUEUE: ObservedGcState = { presence: 'OnQueue', routingStatus: 'Idle' };

/** A paged identity of two pages; user `u3` comes without its state. */
function twoPages(steps: string[]): ColdStartSteps['identity'] {
  return async (agentIds, onPage) => {
    const pages: IdentityStatePage[] = [
      { resolved: new Map([['a1', 'u1'], ['a2', 'u2']]), states: new Map([['u1', ON_QUEUE], ['u2', ON_QUEUE]]), unread: [], requestedAt: 10 },
      { resolved: new Map([['a3', 'u3'], ['a4', 'u4']]), states: new Map([['u4', ON_QUEUE]]), unread: ['u3'], requestedAt: 20 },
    ];
    for (const page of pages) {
      steps.push(`page ${page.requestedAt}`);
      onPage(page);
    }
    steps.push('pages done');
    return new Map(agentIds.map((agentId) => [agentId, `u${agentId.slice(1)}`]));
  };
}

describe('streaming cold start', () => {
  it('assigns, seeds and applies each page before the next is read, and reads by id only the users without state', async () => {
    const steps: string[] = [];
    const result = await streamColdStart({
      agentIds: ['a1', 'a2', 'a3', 'a4'],
      identity: twoPages(steps),
      assign: (resolved) => steps.push(`assign ${[...resolved.values()].join(',')}`),
      seed: (at, states) => steps.push(`seed@${at} ${[...states.keys()].join(',')}`),
      apply: (userIds) => steps.push(`apply ${userIds.join(',')}`),
      byId: {
        read: async (userIds) => {
          steps.push(`read by id ${userIds.join(',')}`);
          return new Map(userIds.map((userId) => [userId, ON_QUEUE]));
        },
      },
      now: () => 30,
    });
    expect(steps).toEqual([
      'page 10',
      'assign u1,u2',
      'seed@10 u1,u2',
      'apply u1,u2',
      'page 20',
      'assign u3,u4',
      'seed@20 u4',
      'apply u4',
      'read by id u3',
      'pages done',
      'seed@30 u3',
      'apply u3',
    ]);
    expect(result).toMatchObject({ pages: 2, readById: 1 });
    expect(result.resolved.size).toBe(4);
  });

  it('without a reader by id, users without state are applied unread', async () => {
    const applied: string[] = [];
    await streamColdStart({ agentIds: ['a1', 'a3'], identity: twoPages([]), assign: () => undefined, seed: () => undefined, apply: (userIds) => void applied.push(...userIds), now: () => 0 });
    expect(applied).toEqual(['u1', 'u2', 'u4', 'u3']);
  });
});

describe('reading every user by pages', () => {
  it('hands over each page, keeps only synced users, and reads by id the synced users no page showed', async () => {
    const taken: Array<[number, string[]]> = [];
    const kept: string[] = [];
    const pages = async (onPage: (page: StatePage) => void, keep: (userId: string) => boolean): Promise<void> => {
      for (const userId of ['u1', 'u2', 'other']) if (keep(userId)) kept.push(userId);
      onPage({ states: new Map([['u1', ON_QUEUE]]), unread: ['u2'], requestedAt: 5 });
    };
    const byIdAsked: string[][] = [];
    const result = await readAllByPages(
      pages,
      () => ['u1', 'u2', 'u3'],
      { read: async (userIds) => (byIdAsked.push([...userIds]), new Map(userIds.map((userId) => [userId, ON_QUEUE]))) },
      (at, states) => void taken.push([at, [...states.keys()]]),
      () => 9,
    );
    expect(kept).toEqual(['u1', 'u2']);
    expect(byIdAsked).toEqual([['u2', 'u3']]);
    expect(taken).toEqual([
      [5, ['u1']],
      [9, ['u2', 'u3']],
    ]);
    expect(result.readById).toBe(2);
  });
});

describe('after the streaming start', () => {
  it('sets up the watch once the writes are out, then starts the gap check', async () => {
    const steps: string[] = [];
    let owed = 3;
    await afterColdStart({
      settled: () => owed === 0,
      progress: () => 3 - owed,
      wait: async () => {
        steps.push(`wait (${owed} owed)`);
        owed -= 1;
      },
      watch: async () => void steps.push('watch'),
      recheck: () => void steps.push('recheck'),
    });
    expect(steps).toEqual(['wait (3 owed)', 'wait (2 owed)', 'wait (1 owed)', 'watch', 'recheck']);
  });

  it('stops waiting when the writes make no progress (GC down must not keep drift unwatched)', async () => {
    const steps: string[] = [];
    let clock = 0;
    await afterColdStart({
      settled: () => false,
      progress: () => 0,
      wait: async (ms) => void (clock += ms),
      watch: async () => void steps.push('watch'),
      recheck: () => void steps.push('recheck'),
      stallMs: 5_000,
      now: () => clock,
    });
    expect(steps).toEqual(['watch', 'recheck']);
    expect(clock).toBe(5_000);
  });
});

describe('listing page states', () => {
  it('takes users with both expansions, leaves the others unread, and tells the shown presences', () => {
    const shown: string[] = [];
    const { states, unread } = pageStates(
      [
        { id: 'u1', presence: { sourceId: 's', primary: true, presenceDefinition: { id: 'd', systemPresence: 'On Queue' } }, routingStatus: { status: 'IDLE' } },
        { id: 'u2', routingStatus: { status: 'IDLE' } },
        { id: 'u3', presence: { presenceDefinition: { id: 'd', systemPresence: 'Available' } } },
      ],
      undefined,
      (readings) => void shown.push(...readings.keys()),
    );
    expect([...states]).toEqual([['u1', { presence: 'OnQueue', routingStatus: 'Idle' }]]);
    expect(unread).toEqual(['u2', 'u3']);
    expect(shown).toEqual(['u1']);
  });
});
