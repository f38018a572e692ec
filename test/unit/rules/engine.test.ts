import { describe, expect, it } from 'vitest';
import { dryRun, DryRunInputError, formatExplanation, loadRules, parseDryRunInput, runRulesTests, type RulesProgram } from '../../../src/rules/index.ts';

function program(text: string): RulesProgram {
  const result = loadRules(text, 'r.yaml');
  expect(result.errors).toEqual([]);
  return result.program!;
}

const CATCH_ALL = `  - name: rest\n    presence: Busy\n    routingStatus: OffQueue\n`;

describe('rules engine: matching', () => {
  it('aliases map several Engage reason codes to one name', () => {
    const p = program(`reasons:\n  aliases:\n    Break: [BRK, Coffee]\nrules:\n  - name: break\n    when: { reason: Break }\n    presence: Break\n    routingStatus: OffQueue\n${CATCH_ALL}`);
    expect(p.decide('NotReady', 'None', 'BRK').presence).toBe('Break');
    expect(p.decide('NotReady', 'None', 'Coffee').presence).toBe('Break');
    expect(p.decide('NotReady', 'None', 'Break').presence).toBe('Break');
    expect(p.decide('NotReady', 'None', 'coffee').presence).toBe('Busy');
    expect(p.explain('NotReady', 'None', 'BRK').reasonName).toBe('Break');
  });

  it('an alias no rule names falls into the other-reasons class', () => {
    const p = program(`reasons:\n  aliases:\n    Lunch: [L1]\nrules:\n  - name: break\n    when: { reason: Break }\n    presence: Break\n    routingStatus: OffQueue\n${CATCH_ALL}`);
    expect(p.decide('NotReady', 'None', 'L1').rule?.name).toBe('rest');
  });

  it('case-insensitive reasons fold both the codes and the rules', () => {
    const p = program(`reasons:\n  case: insensitive\n  aliases:\n    Meal: [LUNCH]\nrules:\n  - name: meal\n    when: { reason: meal }\n    presence: Meal\n    routingStatus: OffQueue\n${CATCH_ALL}`);
    for (const reason of ['Meal', 'MEAL', 'meal', 'lunch', 'Lunch']) expect(p.decide('NotReady', 'None', reason).presence).toBe('Meal');
    expect(p.decide('NotReady', 'None', 'Break').presence).toBe('Busy');
  });

  it.each(['exact', 'insensitive'])('many named reasons (beyond the unrolled fast path) still classify right, case %s', (mode) => {
    const reasons = Array.from({ length: 12 }, (_, i) => `R${i}`);
    const rules = reasons.map((reason) => `  - name: r-${reason}\n    when: { reason: ${reason} }\n    presence: Busy\n    routingStatus: OffQueue\n`).join('');
    const p = program(`reasons:\n  case: ${mode}\n  aliases:\n    R3: [X3, Y3]\nrules:\n${rules}${CATCH_ALL}`);
    for (const reason of reasons) expect(p.decide('Ready', 'None', reason).rule?.name).toBe(`r-${reason}`);
    expect(p.decide('Ready', 'None', 'Y3').rule?.name).toBe('r-R3');
    expect(p.decide('Ready', 'None', 'r7').rule?.name).toBe(mode === 'exact' ? 'rest' : 'r-R7');
    expect(p.decide('Ready', 'None', 'nope').rule?.name).toBe('rest');
  });

  it('negation matches every value except those listed, and null is a value of its own', () => {
    const p = program(`rules:\n  - name: named-reason\n    when: { reason: { not: [null, Break] } }\n    presence: Meeting\n    routingStatus: OffQueue\n${CATCH_ALL}`);
    expect(p.decide('NotReady', 'None', 'Anything').rule?.name).toBe('named-reason');
    expect(p.decide('NotReady', 'None', 'Break').rule?.name).toBe('rest');
    expect(p.decide('NotReady', 'None', null).rule?.name).toBe('rest');
  });

  it('lists, any and negated states and call types match as written', () => {
    const p = program(
      `rules:\n  - name: a\n    when: { state: [Ready, NotReady], callType: { not: [None] }, reason: any }\n    presence: Busy\n    routingStatus: Interacting\n${CATCH_ALL}`,
    );
    expect(p.decide('Ready', 'Consult', 'x').rule?.name).toBe('a');
    expect(p.decide('NotReady', 'Inbound', null).rule?.name).toBe('a');
    expect(p.decide('Ready', 'None', null).rule?.name).toBe('rest');
    expect(p.decide('LoggedOff', 'Inbound', null).rule?.name).toBe('rest');
  });

  it('first match wins and the decision names the rule and its line', () => {
    const p = program(`rules:\n  - name: ready\n    when: { state: Ready }\n    presence: OnQueue\n    routingStatus: Idle\n${CATCH_ALL}`);
    expect(p.decide('Ready', 'None', null)).toEqual({ presence: 'OnQueue', routingStatus: 'Idle', rule: { name: 'ready', file: 'r.yaml', line: 2 }, unmatched: false });
    expect(p.decide('NotReady', 'None', null).rule).toEqual({ name: 'rest', file: 'r.yaml', line: 6 });
  });

  it('returns the same frozen decision object each time (no allocation per decision)', () => {
    const p = program(`rules:\n${CATCH_ALL}`);
    const first = p.decide('Ready', 'None', 'x');
    expect(p.decide('NotReady', 'Inbound', 'y')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('an input no rule matches is unmatched, with null presence, routing status and rule', () => {
    const p = program(`rules:\n  - name: ready\n    when: { state: Ready }\n    presence: OnQueue\n    routingStatus: Idle\n`);
    expect(p.decide('NotReady', 'None', null)).toEqual({ presence: null, routingStatus: null, rule: null, unmatched: true });
    expect(p.decide('Bogus' as never, 'None', null).unmatched).toBe(true);
  });

  it('explain lists the rules considered up to the match, and why each failed', () => {
    const p = program(`rules:\n  - name: ready\n    when: { state: Ready, callType: None }\n    presence: OnQueue\n    routingStatus: Idle\n${CATCH_ALL}`);
    const explanation = p.explain('NotReady', 'Inbound', 'Break');
    expect(explanation.considered.map((item) => [item.rule.name, item.matched, item.failed])).toEqual([
      ['ready', false, ['state', 'callType']],
      ['rest', true, []],
    ]);
    expect(formatExplanation(explanation)).toContain('decision: presence Busy, routing status OffQueue\nby rule: rest (r.yaml:6)');
  });

  it('program exposes its hash, rules, custom presences and output presences', () => {
    const text = `customPresences:\n  - { label: Coaching, system: Busy }\nrules:\n  - name: coach\n    when: { reason: Coaching }\n    presence: Coaching\n    routingStatus: OffQueue\n  - name: acw\n    presence: keep\n    routingStatus: Interacting\n`;
    const p = program(text);
    expect(p.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(p.presences).toEqual(['Coaching']);
    expect(p.customPresences).toEqual([{ label: 'Coaching', system: 'Busy' }]);
    expect(p.rules.map((rule) => rule.name)).toEqual(['coach', 'acw']);
  });
});

describe('dry run', () => {
  const p = program(`rules:\n  - name: break\n    when: { state: NotReady, reason: Break }\n    presence: Break\n    routingStatus: OffQueue\n  - name: acw\n    when: { state: AfterCallWork }\n    presence: keep\n    routingStatus: Interacting\n  - name: ready\n    when: { state: Ready }\n    presence: OnQueue\n    routingStatus: Idle\n`);

  it('keep resolves to the same agent’s earlier presence; null when nothing is known', () => {
    const results = dryRun(
      p,
      parseDryRunInput({ events: [{ agentId: '1', state: 'AfterCallWork' }, { agentId: '1', state: 'NotReady', reason: 'Break' }, { agentId: '2', state: 'AfterCallWork' }, { agentId: '1', state: 'AfterCallWork' }] }),
    );
    expect(results.map((r) => [r.agentId, r.presence, r.routingStatus, r.presenceChanged])).toEqual([
      ['1', null, 'Interacting', false],
      ['1', 'Break', 'OffQueue', true],
      ['2', null, 'Interacting', false],
      ['1', 'Break', 'Interacting', false],
    ]);
  });

  it('presenceChanged is true only when the presence differs from the previous known one', () => {
    const results = dryRun(p, parseDryRunInput({ events: [{ agentId: '1', state: 'Ready' }, { agentId: '1', state: 'Ready', callType: 'Inbound' }, { agentId: '1', state: 'NotReady', reason: 'Break' }] }));
    expect(results.map((r) => r.presenceChanged)).toEqual([true, false, true]);
  });

  it('previousPresence seeds keep and presenceChanged', () => {
    const events = parseDryRunInput({ events: [{ agentId: '1', state: 'AfterCallWork' }, { agentId: '1', state: 'Ready' }] });
    const results = dryRun(p, events, (agentId) => (agentId === '1' ? 'OnQueue' : undefined));
    expect(results.map((r) => [r.presence, r.presenceChanged])).toEqual([
      ['OnQueue', false],
      ['OnQueue', false],
    ]);
  });

  it('an unmatched event reports nulls and unmatched: true, and does not change what is known', () => {
    const results = dryRun(p, parseDryRunInput({ events: [{ agentId: '1', state: 'Ready' }, { agentId: '1', state: 'LoggedOff' }, { agentId: '1', state: 'AfterCallWork' }] }));
    expect(results[1]).toEqual({ agentId: '1', presence: null, routingStatus: null, presenceChanged: false, rule: null, unmatched: true });
    expect(results[2]?.presence).toBe('OnQueue');
  });

  it('input defaults callType to None and reason to null', () => {
    expect(parseDryRunInput({ events: [{ agentId: '7', state: 'Ready' }] })).toEqual([{ agentId: '7', state: 'Ready', callType: 'None', reason: null }]);
  });

  it.each([
    [{ events: [{ agentId: '1', state: 'Redy' }] }, 0, 'state', /events\[0\]\.state: unknown state "Redy" \(did you mean 'Ready'\?\)/],
    [{ events: [{ agentId: '1', state: 'Ready' }, { agentId: '1', state: 'Ready', callType: 'Inbund' }] }, 1, 'callType', /events\[1\]\.callType: unknown call type/],
    [{ events: [{ state: 'Ready' }] }, 0, 'agentId', /events\[0\]\.agentId: required/],
    [{ events: [{ agentId: 1001, state: 'Ready' }] }, 0, 'agentId', /agentId/],
    [{ events: [{ agentId: '1', state: 'Ready', reason: 5 }] }, 0, 'reason', /must be a string or null/],
    [{ events: [{ agentId: '1', state: 'Ready', colour: 'red' }] }, 0, 'colour', /events\[0\]\.colour: unknown field/],
    [{ events: ['x'] }, 0, null, /events\[0\]: must be an object/],
    [{ events: {} }, null, 'events', /must be an array/],
    [{ events: [], extra: 1 }, null, 'extra', /unknown field 'extra'/],
    [[], null, null, /must be a JSON object/],
  ])('rejects invalid input %j naming the event index and field', (input, index, field, message) => {
    let caught: unknown;
    try {
      parseDryRunInput(input);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DryRunInputError);
    const error = caught as DryRunInputError;
    expect([error.index, error.field]).toEqual([index, field]);
    expect(error.message).toMatch(message);
  });
});

describe('tests: section runner', () => {
  it('reports a failing step with expected and actual', () => {
    const p = program(`rules:\n${CATCH_ALL}tests:\n  - name: wrong\n    events:\n      - { state: Ready, expect: { presence: OnQueue, routingStatus: OffQueue } }\n  - name: right\n    events:\n      - { state: Ready, expect: { presence: Busy, rule: rest, unmatched: false } }\n`);
    const report = runRulesTests(p);
    expect([report.passed, report.failed]).toEqual([1, 1]);
    const failed = report.outcomes[0]!;
    expect(failed.failedStep).toBe(0);
    expect(failed.mismatches).toEqual([{ key: 'presence', expected: 'OnQueue', actual: 'Busy' }]);
  });

  it('presence: { not: … } expects any presence but those', () => {
    const p = program(`rules:\n${CATCH_ALL}tests:\n  - name: never available\n    events:\n      - { state: Ready, expect: { presence: { not: [Available, OnQueue] } } }\n  - name: busy is not allowed\n    events:\n      - { state: Ready, expect: { presence: { not: Busy } } }\n`);
    expect(runRulesTests(p).outcomes.map((o) => o.passed)).toEqual([true, false]);
  });
});
