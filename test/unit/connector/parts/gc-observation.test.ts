import { describe, expect, it } from 'vitest';
import { createAgentTable } from '../../../../src/sync/connector/agent-table.ts';
import { createGcObservation, standInRoutingStatus, type GcStateReader } from '../../../../src/sync/connector/gc-observation.ts';
import { createLedger } from '../../../../src/sync/connector/ledger.ts';
import { createDriftGuard } from '../../../../src/sync/drift.ts';
import { createLogger } from '../../../../src/log.ts';
import type { WriterUserView } from '../../../../src/sync/writer/index.ts';
import type { GcUserState } from '../../../../src/vocabulary.ts';

const ON_QUEUE: GcUserState = { presence: 'OnQueue', routingStatus: 'Idle' };

function setUp(read: GcStateReader['read']) {
  let time = 1_000;
  const table = createAgentTable();
  const seeded: Array<{ userId: string; state: GcUserState }> = [];
  const writer = {
    get: (): WriterUserView | undefined => undefined,
    seedAcknowledged: (userId: string, state: GcUserState) => void seeded.push({ userId, state }),
  };
  const ledger = createLedger({ table, writer, store: undefined, now: () => time, log: createLogger('test') });
  const observation = createGcObservation({
    table,
    ledger,
    writer,
    drift: createDriftGuard({ policy: 're-assert', maxReasserts: 3, windowMs: 300_000, echoWindowMs: 30_000, now: () => time }),
    gcState: { read },
    signal: new AbortController().signal,
    isStopped: () => false,
    now: () => time,
    log: createLogger('test'),
  });
  const slot = table.add('1001');
  table.setUser(slot, 'user-1001');
  table.snapshot[slot] = { agentId: '1001', state: 'Ready', callType: 'None', reason: null, at: 1 };
  table.desired[slot] = ON_QUEUE;
  ledger.set('user-1001', ON_QUEUE);
  return { observation, ledger, seeded, advance: (ms: number) => void (time += ms) };
}

describe('GC observation', () => {
  it('seeds a bulk read that differs from what EXAS believes, and counts it', async () => {
    const h = setUp(async () => new Map([['user-1001', { presence: 'Busy' }]]));
    expect(await h.observation.seedFromGc(['user-1001'])).toBe(1);
    expect(h.ledger.get('user-1001')).toEqual({ presence: 'Busy', routingStatus: 'Idle' });
    expect(h.seeded).toEqual([{ userId: 'user-1001', state: { presence: 'Busy', routingStatus: 'Idle' } }]);
  });

  it('keeps a field learned after a bulk read began over what the read says of it', async () => {
    let during = (): void => undefined;
    const h = setUp(async () => {
      during();
      return new Map([['user-1001', { presence: 'Busy', routingStatus: 'OffQueue' }]]);
    });
    during = () => {
      h.advance(10);
      h.observation.noteFieldLearned('user-1001', 'presence');
    };
    await h.observation.seedFromGc(['user-1001']);
    expect(h.ledger.get('user-1001')).toEqual({ presence: 'OnQueue', routingStatus: 'OffQueue' });
  });

  it('judges a notification of someone else\'s change as drift and re-asserts', () => {
    const h = setUp(async () => new Map());
    h.observation.observeGc('user-1001', 'presence', 'Meal');
    expect(h.observation.counts).toMatchObject({ driftDetected: 1, driftRepaired: 1 });
    expect(h.seeded.at(-1)).toEqual({ userId: 'user-1001', state: { presence: 'Meal', routingStatus: 'Idle' } });
  });

  it('stands in a settable routing status for one EXAS never sets', () => {
    expect(standInRoutingStatus('NotResponding', 'OffQueue')).toBe('Idle');
    expect(standInRoutingStatus('NotResponding', 'Idle')).toBe('OffQueue');
    expect(standInRoutingStatus('Interacting', undefined)).toBe('Interacting');
  });
});
