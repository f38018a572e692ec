import { describe, expect, it } from 'vitest';
import { createAgentTable, timeAt } from '../../../../src/sync/connector/agent-table.ts';
import { createLedger } from '../../../../src/sync/connector/ledger.ts';
import { createLogger } from '../../../../src/log.ts';
import type { AcknowledgedEntries } from '../../../../src/sync/store.ts';
import type { GcUserState } from '../../../../src/vocabulary.ts';

const ON_QUEUE: GcUserState = { presence: 'OnQueue', routingStatus: 'Idle' };

describe('agent table (dense columns)', () => {
  it('gives each agent a slot, indexes users, and keeps the order agents entered', () => {
    const table = createAgentTable(2);
    const a = table.add('1001');
    const b = table.add('1002');
    table.add('1003');
    expect(table.add('1001')).toBe(a);
    table.setUser(b, 'user-1002');
    expect(table.slotOfUser('user-1002')).toBe(b);
    expect([...table.agentIds()]).toEqual(['1001', '1002', '1003']);
    expect([...table.userIds()]).toEqual(['user-1002']);
    expect(table.size).toBe(3);
  });

  it('reuses the slot of an agent that left, cleared', () => {
    const table = createAgentTable(2);
    const slot = table.add('1001');
    table.setUser(slot, 'user-1001');
    table.desired[slot] = ON_QUEUE;
    table.lastEventAt[slot] = 1_000;
    table.remove('1001');
    table.dropUser('user-1001');
    const reused = table.add('2001');
    expect(reused).toBe(slot);
    expect(table.userId[reused]).toBeNull();
    expect(table.desired[reused]).toBeNull();
    expect(timeAt(table.lastEventAt, reused)).toBeUndefined();
    expect(table.slotOf('1001')).toBeUndefined();
  });

  it('keeps times exact beyond the small-integer range, across growth', () => {
    const table = createAgentTable(1);
    const late = Date.UTC(2026, 0, 1) + 41 * 86_400_000 + 7;
    const first = table.add('1001');
    table.acknowledgedAt[first] = late;
    for (let index = 0; index < 100; index += 1) table.add(`a${index}`);
    expect(timeAt(table.acknowledgedAt, first)).toBe(late);
  });
});

describe('ledger (acknowledged states in the table)', () => {
  const setUp = (): { table: ReturnType<typeof createAgentTable>; ledger: ReturnType<typeof createLedger>; saved: () => Map<string, unknown>; seeded: string[] } => {
    const table = createAgentTable();
    let scheduled: (() => AcknowledgedEntries) | undefined;
    const seeded: string[] = [];
    const ledger = createLedger({
      table,
      writer: { seedAcknowledged: (userId) => void seeded.push(userId) },
      store: {
        load: async () => ({ status: 'loaded' as const, entries: new Map([['user-1001', { state: ON_QUEUE, version: 4, at: 99 }], ['user-gone', { state: ON_QUEUE, version: 1, at: 1 }]]) }),
        scheduleSave: (snapshot) => void (scheduled = snapshot),
        flush: async () => undefined,
      },
      now: () => 500,
      log: createLogger('test.ledger'),
    });
    const saved = (): Map<string, unknown> => {
      const out = new Map<string, unknown>();
      scheduled?.().forEach((entry, userId) => out.set(userId, entry));
      return out;
    };
    return { table, ledger, saved, seeded };
  };

  it('records states only for synced users, and saves them with version and time', () => {
    const { table, ledger, saved } = setUp();
    table.setUser(table.add('1001'), 'user-1001');
    ledger.set('user-1001', ON_QUEUE, 3);
    ledger.set('user-unknown', ON_QUEUE, 1);
    expect(ledger.get('user-1001')).toEqual(ON_QUEUE);
    expect(ledger.get('user-unknown')).toBeUndefined();
    expect(saved()).toEqual(new Map([['user-1001', { state: ON_QUEUE, version: 3, at: 500 }]]));
  });

  it('seeds synced users from the store and the writer, skipping users no longer synced', async () => {
    const { table, ledger, saved, seeded } = setUp();
    table.setUser(table.add('1001'), 'user-1001');
    await ledger.seedFromStore();
    expect(seeded).toEqual(['user-1001']);
    ledger.persist();
    expect(saved()).toEqual(new Map([['user-1001', { state: ON_QUEUE, version: 4, at: 99 }]]));
  });
});
