/**
 * Fuzz target: the rules loader. Whatever text arrives (an operator's half-edited file, a candidate posted to
 * /dry-run, random bytes), `loadRules` returns positioned errors or a program, never throws and never reports
 * an internal error; a program it returns decides and explains every input and runs its own tests.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadRules, runRulesTests, type LoadResult } from '../../src/rules/index.ts';
import { CALL_TYPES, ENGAGE_STATES, ROUTING_STATUSES } from '../../src/vocabulary.ts';
import { anyText, DOMAIN_TOKENS, mutations, yamlishText } from './arbitraries.ts';
import { FUZZ_TIMEOUT_MS, fuzzParameters, mutate, yieldToEventLoop } from './profile.ts';

const SEEDS = ['exas.rules.yaml', 'rules/default.yaml', 'rules/aliases.yaml', 'rules/custom-presences.yaml', 'rules/lunch-to-meal.yaml'].map((path) => ({
  path,
  text: readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8'),
}));
const REASONS: ReadonlyArray<string | null> = [null, '', 'Break', 'lunch', 'Coffee', '\ud800', '__proto__'];

/** The loader's contract, checked on every result. */
function checkResult(text: string, result: LoadResult): void {
  expect(result.program === null).toBe(result.errors.length > 0);
  const lines = text.split(/\r\n|\r|\n/).length;
  for (const diagnostic of [...result.errors, ...result.warnings]) {
    expect(diagnostic.message).not.toMatch(/internal error/);
    expect(diagnostic.message.length).toBeGreaterThan(0);
    expect(Number.isInteger(diagnostic.line) && diagnostic.line >= 1 && diagnostic.line <= lines + 1).toBe(true);
    expect(Number.isInteger(diagnostic.column) && diagnostic.column >= 1).toBe(true);
  }
  const program = result.program;
  if (program === null) return;
  for (const state of ENGAGE_STATES) {
    for (const callType of CALL_TYPES) {
      for (const reason of REASONS) {
        const decision = program.decide(state, callType, reason);
        if (decision.unmatched) {
          expect(decision.presence).toBeNull();
          expect(decision.rule).toBeNull();
        } else {
          expect(typeof decision.presence).toBe('string');
          expect(ROUTING_STATUSES).toContain(decision.routingStatus);
          expect(program.rules).toContainEqual(decision.rule);
        }
        expect(program.explain(state, callType, reason).decision).toEqual(decision);
      }
    }
  }
  const report = runRulesTests(program);
  expect(report.passed + report.failed).toBe(program.tests.length);
}

describe('rules loader fuzz', () => {
  it(
    'edits of the shipped rules files load to errors or a program, never a throw or an internal error',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...SEEDS), mutations, async (seed, edits) => {
          await yieldToEventLoop();
          const text = mutate(seed.text, edits);
          checkResult(text, loadRules(text, seed.path));
        }),
        fuzzParameters(200, 9101),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'arbitrary text (any Unicode, lone surrogates, YAML-shaped token soup) loads to errors, never a throw',
    async () => {
      await fc.assert(
        fc.asyncProperty(anyText, async (text) => {
          await yieldToEventLoop();
          checkResult(text, loadRules(text, 'fuzz.yaml'));
        }),
        fuzzParameters(1000, 9102),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'random YAML documents with anchors, aliases and tags in rule positions never make the loader throw',
    async () => {
      const key = fc.constantFrom(...DOMAIN_TOKENS);
      const leaf = fc.oneof(fc.constantFrom(...DOMAIN_TOKENS), fc.string({ maxLength: 12 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
      const node = fc.letrec((tie) => ({
        value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(key, tie('value'), { maxKeys: 5 })),
      })).value;
      // A rules-shaped skeleton keeps most inputs past the YAML layer into schema, model, lint and compile.
      const document = fc.record({ version: fc.oneof(fc.constant(1), leaf), rules: fc.array(fc.dictionary(key, node, { maxKeys: 5 }), { maxLength: 6 }), tests: fc.option(node) });
      await fc.assert(
        fc.asyncProperty(document, fc.boolean(), yamlishText, async (doc, withAnchors, extra) => {
          await yieldToEventLoop();
          let text = stringify(doc, { aliasDuplicateObjects: withAnchors });
          if (withAnchors) text = `${text}\nx-extra: ${JSON.stringify(extra)}\n`;
          checkResult(text, loadRules(text, 'fuzz.yaml'));
        }),
        fuzzParameters(200, 9103),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
