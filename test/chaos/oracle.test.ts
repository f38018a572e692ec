import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadRules, type RulesProgram } from '../../src/rules/index.ts';
import { staleWrites, unconverged, type EngageEntry, type GcEntry } from './oracle.ts';
import { variantRules } from './world.ts';

const text = readFileSync('exas.rules.yaml', 'utf8');
const program = loadRules(text, 'exas.rules.yaml').program as RulesProgram;
const variant = loadRules(variantRules(text), 'variant.yaml').program as RulesProgram;

const engage = (at: number, state: EngageEntry['state'], callType: EngageEntry['callType'] = 'None', reason: string | null = null): EngageEntry => ({ at, state, callType, reason });
const write = (at: number, part: GcEntry['part'], value: string, foreign = false): GcEntry => ({ at, part, value, foreign });

describe('chaos oracle: stale writes', () => {
  const history = [engage(0, 'LoggedOff'), engage(100, 'Ready'), engage(200, 'NotReady', 'None', 'Break'), engage(300, 'Ready', 'Inbound')];

  it('accepts writes that follow the Engage order, with coalesced states skipped', () => {
    const writes = [write(150, 'presence', 'OnQueue'), write(160, 'routingStatus', 'Idle'), write(350, 'routingStatus', 'Interacting')];
    expect(staleWrites('u1', history, writes, [program])).toEqual([]);
  });

  it('flags an older mapped state written after a newer one', () => {
    const writes = [write(250, 'presence', 'Break'), write(260, 'routingStatus', 'OffQueue'), write(270, 'presence', 'OnQueue')];
    const stale = staleWrites('u1', history, writes, [program]);
    expect(stale).toHaveLength(1);
    expect(stale[0]).toMatchObject({ part: 'presence', value: 'OnQueue', afterIndex: 2, currentIndex: 2 });
  });

  it('flags a write of a state the agent had not reached yet when GC applied it', () => {
    expect(staleWrites('u1', history, [write(120, 'presence', 'Break')], [program])).toHaveLength(1);
  });

  it('flags an EXAS write of Available under keep (keep never resolves to Available)', () => {
    const acw = [engage(0, 'Ready', 'Inbound'), engage(100, 'AfterCallWork')];
    const stale = staleWrites('u1', acw, [write(50, 'presence', 'OnQueue'), write(130, 'presence', 'Available')], [program]);
    expect(stale).toMatchObject([{ part: 'presence', value: 'Available' }]);
  });

  it('skips the foreign writer and lets keep (After Call Work) match any presence but Available', () => {
    const acw = [engage(0, 'Ready', 'Inbound'), engage(100, 'AfterCallWork')];
    const writes = [write(50, 'presence', 'OnQueue'), write(120, 'presence', 'Meal', true), write(130, 'presence', 'Busy'), write(140, 'routingStatus', 'Interacting')];
    expect(staleWrites('u1', acw, writes, [program])).toEqual([]);
  });

  it('accepts either side of a rules reload', () => {
    const writes = [write(250, 'presence', 'Meal')];
    expect(staleWrites('u1', history, writes, [program])).toHaveLength(1);
    expect(staleWrites('u1', history, writes, [program, variant])).toEqual([]);
  });
});

describe('chaos oracle: convergence', () => {
  it('reports agents whose GC state is not the mapping of their current Engage state', () => {
    const agents = [
      { agentId: '1001', userId: 'u1', engage: engage(0, 'Ready'), gc: { presence: 'OnQueue', routingStatus: 'Idle' } },
      { agentId: '1002', userId: 'u2', engage: engage(0, 'NotReady', 'None', 'Meal'), gc: { presence: 'Busy', routingStatus: 'OffQueue' } },
      { agentId: '1003', userId: 'u3', engage: engage(0, 'AfterCallWork'), gc: { presence: 'Training', routingStatus: 'Interacting' } },
    ];
    expect(unconverged(program, agents)).toEqual([{ agentId: '1002', userId: 'u2', engage: 'NotReady(Meal)', expected: 'Meal / OffQueue', observed: 'Busy / OffQueue' }]);
  });

  it('does not count Available as converged under keep', () => {
    const agents = [{ agentId: '1003', userId: 'u3', engage: engage(0, 'AfterCallWork'), gc: { presence: 'Available', routingStatus: 'Interacting' } }];
    expect(unconverged(program, agents)).toMatchObject([{ agentId: '1003', expected: 'keep / Interacting', observed: 'Available / Interacting' }]);
  });
});
