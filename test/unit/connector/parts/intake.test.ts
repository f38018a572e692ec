import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadRules } from '../../../../src/rules/index.ts';
import { createAgentTable } from '../../../../src/sync/connector/agent-table.ts';
import { createIntake } from '../../../../src/sync/connector/intake.ts';
import { createLedger } from '../../../../src/sync/connector/ledger.ts';
import { createLogger } from '../../../../src/log.ts';
import { FakeWriter } from '../fakes.ts';

const loaded = loadRules(readFileSync('exas.rules.yaml', 'utf8'), 'exas.rules.yaml');

function setUp(pushing = true) {
  const program = loaded.program;
  if (program === null) throw new Error('default rules do not load');
  const table = createAgentTable();
  const writer = new FakeWriter();
  const ledger = createLedger({ table, writer, store: undefined, now: () => 5, log: createLogger('test') });
  const knownAgain: string[] = [];
  const intake = createIntake({
    table,
    ledger,
    writer,
    rules: { current: () => program },
    drift: { noteDesired: () => undefined },
    keepFallback: 'Busy',
    metrics: undefined,
    pushing: () => pushing,
    isStopped: () => false,
    knownAgain: (userId) => void knownAgain.push(userId),
    now: () => 5,
    log: createLogger('test'),
  });
  const slot = table.add('1001');
  table.setUser(slot, 'user-1001');
  return { table, writer, intake, slot, knownAgain };
}

describe('intake', () => {
  it('turns an observation into the mapped desired state for the writer, and lists the change', () => {
    const h = setUp();
    h.intake.onObservation({ kind: 'snapshot', snapshot: { agentId: '1001', state: 'Ready', callType: 'None', reason: null, at: 3 } });
    expect(h.writer.desiredOf('user-1001')).toEqual({ presence: 'OnQueue', routingStatus: 'Idle' });
    expect(h.knownAgain).toEqual(['user-1001']);
    expect(h.intake.recentChanges()).toMatchObject([{ agentId: '1001', from: null, to: { presence: 'OnQueue', routingStatus: 'Idle' } }]);
    expect(h.intake.counts.observations).toBe(1);
  });

  it('pushes nothing for an unknown state, and nothing before the start-up resync began', () => {
    const unknown = setUp();
    unknown.intake.onObservation({ kind: 'unknown', agentId: '1001', reason: 'invalid', at: 3 });
    expect(unknown.writer.desiredOf('user-1001')).toBeUndefined();
    expect(unknown.intake.counts.unknown).toBe(1);
    expect(unknown.table.unknownReason[unknown.slot]).toBe('invalid');

    const early = setUp(false);
    early.intake.onObservation({ kind: 'snapshot', snapshot: { agentId: '1001', state: 'Ready', callType: 'None', reason: null, at: 3 } });
    expect(early.writer.desiredOf('user-1001')).toBeUndefined();
    expect(early.table.decision[early.slot]).not.toBeNull();
  });

  it('ignores agents not in scope', () => {
    const h = setUp();
    h.intake.onObservation({ kind: 'snapshot', snapshot: { agentId: '9999', state: 'Ready', callType: 'None', reason: null, at: 3 } });
    expect(h.intake.counts.observations).toBe(0);
  });
});
