import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadRules } from '../../../src/rules/index.ts';
import { compile } from '../../../src/rules/compile.ts';
import { packProgram, unpackProgram } from '../../../src/rules/packed.ts';
import { buildModel, ReasonNames } from '../../../src/rules/model.ts';
import { firstMatch } from '../../../src/rules/naive.ts';
import { parseRulesSource } from '../../../src/rules/source.ts';
import { validateShape } from '../../../src/rules/validate.ts';
import { CALL_TYPES, ENGAGE_STATES, ROUTING_STATUSES } from '../../../src/vocabulary.ts';

const REASONS = ['Break', 'Meal', 'Lunch', 'BRK', 'x'];

const matcher = <T>(values: readonly T[]) =>
  fc.oneof(
    fc.constant(undefined),
    fc.constant('any'),
    fc.constantFrom(...values),
    fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 3 }),
    fc.record({ not: fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 3 }) }),
  );

const rule = fc.record(
  {
    state: matcher(ENGAGE_STATES),
    callType: matcher(CALL_TYPES),
    reason: matcher<string | null>([...REASONS, null]),
    presence: fc.constantFrom('Busy', 'Break', 'OnQueue', 'keep'),
    routingStatus: fc.constantFrom(...ROUTING_STATUSES),
  },
  { requiredKeys: ['presence', 'routingStatus'] },
);

const rulesFile = fc.record({
  case: fc.constantFrom('exact', 'insensitive'),
  aliases: fc.constantFrom({}, { Break: ['BRK', 'Pause'] }, { Meal: ['Lunch', 'MEAL'] }),
  rules: fc.array(rule, { minLength: 1, maxLength: 8 }),
});type RulesFileSample = typeof rulesFile extends fc.Arbitrary<infer T> ? T : never;


const input = fc.record({
  state: fc.constantFrom(...ENGAGE_STATES),
  callType: fc.constantFrom(...CALL_TYPES),
  reason: fc.constantFrom(null, ...REASONS, 'break', 'pause', 'lunch', 'unnamed'),
});

/** The YAML text of a generated rules file, rules named r0, r1, … */
function rulesText(file: RulesFileSample): string {
  return stringify({
    reasons: { case: file.case, aliases: file.aliases },
    rules: file.rules.map(({ state, callType, reason, presence, routingStatus }, i) => ({
      name: `r${i}`,
      when: Object.fromEntries(Object.entries({ state, callType, reason }).filter(([, v]) => v !== undefined)),
      presence,
      routingStatus,
    })),
  });
}

describe('rules compiler (property)', () => {
  it('the compiled table agrees with a naive first-match interpreter on random rules and inputs', () => {
    fc.assert(
      fc.property(rulesFile, fc.array(input, { minLength: 1, maxLength: 20 }), (file, inputs) => {
        const text = rulesText(file);
        const parsed = parseRulesSource(text, 'p.yaml');
        expect(parsed.errors).toEqual([]);
        expect(validateShape(parsed.source!)).toEqual([]);
        const { model, errors } = buildModel(parsed.source!);
        expect(errors).toEqual([]);
        // Compiled directly (shadowed rules are lint errors, but the table must still be right).
        const { program } = compile(model, text);
        const names = new ReasonNames(model.reasonCase, model.aliases);
        for (const { state, callType, reason } of inputs) {
          const expected = firstMatch(model.rules, names, state, callType, reason);
          const actual = program.decide(state, callType, reason);
          expect(actual.rule?.name ?? null).toBe(expected?.ref.name ?? null);
          expect(actual.unmatched).toBe(expected === undefined);
          if (expected) expect([actual.presence, actual.routingStatus]).toEqual([expected.presence, expected.routingStatus]);
        }
      }),
      { numRuns: 300, seed: 20261130 },
    );
  });

  it('a program packed by one thread and adopted by another (structured clone) decides and explains as the compiled one', () => {
    fc.assert(
      fc.property(rulesFile, fc.array(input, { minLength: 1, maxLength: 20 }), (file, inputs) => {
        const text = rulesText(file);
        const { model } = buildModel(parseRulesSource(text, 'p.yaml').source!);
        const compiled = compile(model, text);
        const adopted = unpackProgram(structuredClone(packProgram(model, compiled)), text);
        const { decide, explain, ...facts } = compiled.program;
        const { decide: adoptedDecide, explain: adoptedExplain, ...adoptedFacts } = adopted;
        expect(adoptedFacts).toEqual(facts);
        for (const { state, callType, reason } of inputs) {
          expect(adoptedDecide(state, callType, reason)).toEqual(decide(state, callType, reason));
          expect(adoptedExplain(state, callType, reason)).toEqual(explain(state, callType, reason));
        }
      }),
      { numRuns: 200, seed: 20261208 },
    );
  });

  it('the loader never throws on arbitrary text; it returns errors or a program', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: fc.constantFrom('r', 'u', 'l', 'e', 's', ':', '-', ' ', '\n', '{', '}', '[', ']', '&', '*', 'a', '"', '#', '!', '?', '|', '>'), maxLength: 120 })), (text) => {
        const result = loadRules(text, 'fuzz.yaml');
        expect(result.program === null).toBe(result.errors.length > 0);
        for (const error of result.errors) {
          expect(error.line).toBeGreaterThanOrEqual(1);
          expect(error.column).toBeGreaterThanOrEqual(1);
          expect(error.message).not.toMatch(/^internal error/);
        }
      }),
      { numRuns: 500, seed: 7 },
    );
  });

  it('the loader never throws on random YAML documents built from rules-like values', () => {
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.constantFrom('rules', 'name', 'when', 'state', 'Ready', 'any', 'not', 'presence', 'keep', 'routingStatus', 'Idle', 'tests', 'events', 'expect', null, 1, true),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('rules', 'name', 'when', 'state', 'callType', 'reason', 'not', 'presence', 'routingStatus', 'tests', 'events', 'expect', 'x'), tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (doc) => {
        const result = loadRules(stringify(doc), 'fuzz.yaml');
        expect(result.program === null).toBe(result.errors.length > 0);
        for (const error of result.errors) expect(error.message).not.toMatch(/^internal error/);
      }),
      { numRuns: 500, seed: 11 },
    );
  });
});
