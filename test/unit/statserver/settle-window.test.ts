import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSettleWindow } from '../../../src/statserver/settle-window.ts';
import { createAgentTable } from '../../../src/statserver/agent-table.ts';
import { DEFAULT_NORMALIZER_OPTIONS } from '../../../src/statserver/normalize.ts';
import { SourceCounters } from '../../../src/statserver/source-stats.ts';
import { createLogger, setLogSink } from '../../../src/log.ts';
import type { AgentObservation } from '../../../src/statserver/stat-source.ts';
import { fakeScheduler } from './fake-scheduler.ts';

describe('settle window', () => {
  it('flushes an agent once, settleMs after its first change, however many changes came in between', () => {
    const clock = fakeScheduler();
    const flushed: string[] = [];
    const window = createSettleWindow(50, (agentId) => flushed.push(agentId), clock);
    window.touch('a');
    clock.advance(30);
    window.touch('a');
    window.touch('b');
    clock.advance(19);
    expect(flushed).toEqual([]);
    clock.advance(1);
    expect(flushed).toEqual(['a']);
    clock.advance(30);
    expect(flushed).toEqual(['a', 'b']);
    expect(clock.pending).toBe(0);
  });

  it('uses one timer for many agents', () => {
    const clock = fakeScheduler();
    const flushed: string[] = [];
    const window = createSettleWindow(50, (agentId) => flushed.push(agentId), clock);
    for (let index = 0; index < 1000; index += 1) window.touch(String(index));
    expect(clock.pending).toBe(1);
    clock.advance(50);
    expect(flushed).toHaveLength(1000);
  });

  it('flushNow, cancel, flushAll and settleMs 0 behave as named', () => {
    const clock = fakeScheduler();
    const flushed: string[] = [];
    const window = createSettleWindow(50, (agentId) => flushed.push(agentId), clock);
    window.touch('a');
    window.touch('b');
    window.touch('c');
    window.flushNow('a');
    window.cancel('b');
    expect(flushed).toEqual(['a']);
    window.flushAll();
    expect(flushed).toEqual(['a', 'c']);
    expect(window.pendingCount).toBe(0);
    const immediate: string[] = [];
    createSettleWindow(0, (agentId) => immediate.push(agentId), clock).touch('z');
    expect(immediate).toEqual(['z']);
    expect(() => createSettleWindow(-1, () => undefined, clock)).toThrow(/settleMs/);
  });
});

function tree(actions: Array<{ action: string | number; reasons?: Record<string, string> }>) {
  return { agentId: '1001', status: 4, place: { placeId: 'P', dnStatuses: [{ dnId: '6001', status: 4, actions }] } };
}
const dnStatus = (status: number) => ({ agentId: '1001', status, place: { placeId: 'P', dnStatuses: [{ dnId: '6001', status }] } });

const logLines: string[] = [];
let previousSink: ((line: string) => void) | undefined;
beforeAll(() => {
  previousSink = setLogSink((line) => logLines.push(line));
});
afterAll(() => {
  if (previousSink) setLogSink(previousSink);
});

function table(component = 'test') {
  const clock = fakeScheduler();
  const observations: AgentObservation[] = [];
  const counters = new SourceCounters(createLogger(component));
  const agents = createAgentTable({
    normalizer: DEFAULT_NORMALIZER_OPTIONS,
    settleMs: 50,
    counters,
    emit: (observation) => observations.push(observation),
    scheduler: clock,
  });
  return { clock, observations, counters, agents };
}

describe('agent table (normalizer + settle window)', () => {
  it('keeps reading times exact after 40 days of uptime, for agents added after others left', () => {
    const { clock, observations, agents } = table();
    const late = Date.UTC(2026, 0, 1) + 41 * 86_400_000 + 321;
    agents.add(['1001', '1002']);
    agents.remove('1001');
    agents.record('1003', 'currentState', dnStatus(4), late);
    agents.record('1003', 'reasons', tree([{ action: 4 }]), late + 1);
    clock.advance(50);
    expect(observations).toEqual([{ kind: 'snapshot', snapshot: { agentId: '1003', state: 'Ready', callType: 'None', reason: null, at: late + 1 } }]);
  });

  it('an agent going NotReady with reason Break never shows as NotReady without reason first', () => {
    const { clock, observations, agents } = table();
    agents.record('1001', 'currentState', dnStatus(8), 1000);
    clock.advance(20);
    agents.record('1001', 'reasons', tree([{ action: 8, reasons: { ReasonCode: 'Break' } }]), 1000);
    clock.advance(50);
    expect(observations).toEqual([
      { kind: 'snapshot', snapshot: { agentId: '1001', state: 'NotReady', callType: 'None', reason: 'Break', at: 1000 } },
    ]);
  });

  it('a statistic reported invalid marks the agent unknown at once, and a fresh valid value clears it', () => {
    const { clock, observations, agents, counters } = table();
    agents.record('1001', 'reasons', tree([{ action: 4 }]), 1000);
    clock.advance(50);
    agents.markInvalid('1001', 'reasons', 2000);
    agents.markInvalid('1001', 'currentState', 2000);
    expect(observations.at(-1)).toEqual({ kind: 'unknown', agentId: '1001', reason: 'invalid', at: 2000 });
    expect(observations).toHaveLength(2);
    agents.record('1001', 'currentState', dnStatus(4), 2500);
    clock.advance(50);
    expect(observations).toHaveLength(3);
    expect(observations.at(-1)).toMatchObject({ kind: 'unknown', reason: 'invalid' });
    agents.markValid('1001', 'reasons');
    agents.markValid('1001', 'currentState');
    agents.record('1001', 'reasons', tree([{ action: 8 }]), 3000);
    clock.advance(50);
    expect(observations.at(-1)).toMatchObject({ kind: 'snapshot', snapshot: { state: 'NotReady', reason: null, at: 3000 } });
    expect(counters.snapshot().unknowns['invalid']).toBeGreaterThanOrEqual(1);
  });

  it('garbage is logged once per kind and counted every time', () => {
    const { clock, observations, agents, counters } = table('garbage-test');
    for (let index = 0; index < 5; index += 1) agents.record(String(index), 'reasons', 'garbage', 1);
    clock.advance(50);
    expect(observations.filter((o) => o.kind === 'unknown' && o.reason === 'unparsable')).toHaveLength(5);
    expect(counters.snapshot().unknowns).toEqual({ unparsable: 5 });
    expect(logLines.filter((line) => line.includes('garbage-test'))).toHaveLength(1);
  });

  it('is the scope: added agents are in it once, without readings they are incomplete, removed ones are closed', () => {
    const { agents, observations, clock } = table();
    expect(agents.add(['1001', '1002', '1001'])).toEqual(['1001', '1002']);
    expect(agents.add(['1002', '1003'])).toEqual(['1003']);
    expect(agents.size).toBe(3);
    expect(agents.has('1002')).toBe(true);
    expect(agents.observe('1002')).toMatchObject({ kind: 'unknown', reason: 'incomplete' });
    agents.remove('1002');
    expect(agents.has('1002')).toBe(false);
    expect(agents.agentIds()).toEqual(['1001', '1003']);
    clock.advance(50);
    expect(observations).toEqual([]);
  });

  it('observe folds without waiting and a removed agent is closed', () => {
    const { agents } = table();
    agents.record('1001', 'reasons', tree([{ action: 9 }]), 1000);
    expect(agents.observe('1001')).toMatchObject({ kind: 'snapshot', snapshot: { state: 'AfterCallWork' } });
    agents.remove('1001');
    expect(agents.observe('1001')).toMatchObject({ kind: 'unknown', reason: 'closed' });
    expect(agents.agentIds()).toEqual([]);
  });
});
