import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadRules, runRulesTests, type RulesProgram } from '../../../src/rules/index.ts';
import { CALL_TYPES, ENGAGE_STATES, type CallType, type EngageState } from '../../../src/vocabulary.ts';

function load(path: string): RulesProgram {
  const result = loadRules(readFileSync(path, 'utf8'), path);
  expect(result.errors).toEqual([]);
  expect(result.warnings).toEqual([]);
  return result.program!;
}

const program = load('exas.rules.yaml');
const decide = (state: EngageState, callType: CallType, reason: string | null): [string | null, string | null] => {
  const decision = program.decide(state, callType, reason);
  return [decision.presence, decision.routingStatus];
};
const OTHER_CALLS: CallType[] = ['Inbound', 'Outbound', 'Consult', 'Unknown'];

describe('the default exas.rules.yaml reproduces the seed table', () => {
  it('LoggedOff with no call maps to Offline / OffQueue', () => {
    expect(decide('LoggedOff', 'None', null)).toEqual(['Offline', 'OffQueue']);
  });

  it('NotReady with no reason or an unmapped reason and no call maps to Busy / OffQueue', () => {
    expect(decide('NotReady', 'None', null)).toEqual(['Busy', 'OffQueue']);
    expect(decide('NotReady', 'None', 'Lunch')).toEqual(['Busy', 'OffQueue']);
    expect(decide('NotReady', 'None', '')).toEqual(['Busy', 'OffQueue']);
  });

  it.each(['Break', 'Meal', 'Meeting', 'Training'])('NotReady with reason %s and no call maps to %s / OffQueue', (reason) => {
    expect(decide('NotReady', 'None', reason)).toEqual([reason, 'OffQueue']);
  });

  it('reasons compare exactly by default: "break" is an unmapped reason', () => {
    expect(decide('NotReady', 'None', 'break')).toEqual(['Busy', 'OffQueue']);
  });

  it.each([null, 'Break', 'Lunch'])('NotReady with reason %s on an internal call maps to Busy / Communicating', (reason) => {
    expect(decide('NotReady', 'Internal', reason)).toEqual(['Busy', 'Communicating']);
  });

  it.each(OTHER_CALLS)('NotReady (any reason) on an %s call maps to Busy / Interacting', (callType) => {
    for (const reason of [null, 'Meal', 'Lunch']) expect(decide('NotReady', callType, reason)).toEqual(['Busy', 'Interacting']);
  });

  it('Ready with no call maps to OnQueue / Idle', () => {
    expect(decide('Ready', 'None', null)).toEqual(['OnQueue', 'Idle']);
  });

  it('Ready on an internal call maps to OnQueue / Communicating', () => {
    expect(decide('Ready', 'Internal', null)).toEqual(['OnQueue', 'Communicating']);
  });

  it.each(OTHER_CALLS)('Ready on an %s call maps to OnQueue / Interacting', (callType) => {
    expect(decide('Ready', callType, null)).toEqual(['OnQueue', 'Interacting']);
  });

  it('AfterCallWork with no call keeps presence and sets Interacting', () => {
    expect(decide('AfterCallWork', 'None', null)).toEqual(['keep', 'Interacting']);
    expect(decide('AfterCallWork', 'None', 'Break')).toEqual(['keep', 'Interacting']);
  });

  it('AfterCallWork with a call keeps presence; Communicating on an internal call, Interacting otherwise (DESIGN.md)', () => {
    expect(decide('AfterCallWork', 'Internal', null)).toEqual(['keep', 'Communicating']);
    for (const callType of OTHER_CALLS) expect(decide('AfterCallWork', callType, null)).toEqual(['keep', 'Interacting']);
  });

  it('LoggedOff with any call maps to Offline / OffQueue (DESIGN.md)', () => {
    for (const callType of CALL_TYPES) expect(decide('LoggedOff', callType, 'Break')).toEqual(['Offline', 'OffQueue']);
  });

  it('covers every state × call type × reason, and presence is never Available', () => {
    for (const state of ENGAGE_STATES) {
      for (const callType of CALL_TYPES) {
        for (const reason of [null, 'Break', 'Meal', 'Meeting', 'Training', 'Lunch', 'Available']) {
          const decision = program.decide(state, callType, reason);
          expect(decision.unmatched).toBe(false);
          expect(decision.presence).not.toBe('Available');
        }
      }
    }
    expect(program.presences).not.toContain('Available');
    expect([...program.presences].sort()).toEqual(['Break', 'Busy', 'Meal', 'Meeting', 'Offline', 'OnQueue', 'Training']);
  });

  it("passes its own tests: section, which covers every seed row", () => {
    const report = runRulesTests(program);
    expect(report.failed).toBe(0);
    expect(report.passed).toBeGreaterThanOrEqual(12);
    // Every rule fires in at least one test event, so every row is exercised.
    const fired = new Set<string>();
    for (const test of program.tests) for (const step of test.steps) fired.add(program.decide(step.state, step.callType, step.reason).rule!.name);
    expect([...fired].sort()).toEqual(program.rules.map((rule) => rule.name).sort());
  });

  it('rules/default.yaml says the same as exas.rules.yaml', () => {
    const copy = load('rules/default.yaml');
    for (const state of ENGAGE_STATES)
      for (const callType of CALL_TYPES)
        for (const reason of [null, 'Break', 'Meal', 'Meeting', 'Training', 'x']) {
          const a = program.decide(state, callType, reason);
          const b = copy.decide(state, callType, reason);
          expect([b.presence, b.routingStatus, b.rule?.name]).toEqual([a.presence, a.routingStatus, a.rule?.name]);
        }
  });

  it.each(['rules/default.yaml', 'rules/aliases.yaml', 'rules/custom-presences.yaml', 'rules/lunch-to-meal.yaml'])('example %s is clean and passes its tests', (path) => {
    const report = runRulesTests(load(path));
    expect(report.failed).toBe(0);
    expect(report.passed).toBeGreaterThan(0);
  });
});
