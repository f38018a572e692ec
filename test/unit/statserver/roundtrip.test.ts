import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CALL_TYPES, ENGAGE_STATES } from '../../../src/vocabulary.ts';
import { Crowd } from '../../../src/emulators/statserver/crowd.ts';
import { agentStatusValue } from '../../../src/emulators/statserver/agent-status.ts';
import { pascalTree } from '../../../src/emulators/statserver/bridge-simulator.ts';
import { digestAgentStatus, foldAgentSnapshot } from '../../../src/statserver/normalize.ts';

const reasons = fc.option(fc.oneof(fc.constantFrom('Break', 'Meal', 'Meeting', 'Training'), fc.string({ minLength: 1, maxLength: 12 })), { nil: null });

describe('normalizer ⇄ emulator round trip (property)', () => {
  it('every state × call type × reason the emulator renders folds back to itself, camelCase and PascalCase', () => {
    const crowd = new Crowd(1, 1);
    const agent = crowd.agents[0]!;
    fc.assert(
      fc.property(fc.constantFrom(...ENGAGE_STATES), fc.constantFrom(...CALL_TYPES), reasons, (state, callType, reason) => {
        crowd.set(agent, { state, callType, reason });
        const expected = crowd.view(agent);
        const current = { value: agentStatusValue(agent, 'DNStatus'), at: agent.since };
        const withActions = { value: agentStatusValue(agent, 'DNAction'), at: agent.since };
        for (const [a, b] of [
          [current, withActions],
          [{ ...current, value: pascalTree(current.value) }, { ...withActions, value: pascalTree(withActions.value) }],
        ] as const) {
          const result = foldAgentSnapshot(agent.agentId, a, b);
          expect(result.kind).toBe('snapshot');
          if (result.kind !== 'snapshot') return;
          const { agentId, state: s, callType: c, reason: r } = result.snapshot;
          expect({ agentId, state: s, callType: c, reason: r }).toEqual(expected);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('any JSON at all folds to a snapshot or an unknown, never a throw', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        const result = foldAgentSnapshot('x', { value: a, at: 1 }, { value: b, at: 2 });
        expect(['snapshot', 'unknown']).toContain(result.kind);
      }),
      { numRuns: 500 },
    );
  });

  it('two agents in the same state share one digest (the agent table keeps no per-agent tree)', () => {
    const crowd = new Crowd(2, 1);
    const [first, second] = crowd.agents as [(typeof crowd.agents)[number], (typeof crowd.agents)[number]];
    crowd.set(first, { state: 'NotReady', callType: 'None', reason: 'Break' });
    crowd.set(second, { state: 'NotReady', callType: 'None', reason: 'Break' });
    const a = digestAgentStatus(agentStatusValue(first, 'DNAction'));
    expect(digestAgentStatus(agentStatusValue(second, 'DNAction'))).toBe(a);
    expect(a).toEqual({ ok: true, loggedOut: false, hasActions: true, folded: { state: 'NotReady', callType: 'None', reason: 'Break' } });
    expect(Object.isFrozen(a)).toBe(true);
  });
});
