/**
 * Runs a rules file's own `tests:` section: each test is a fresh dry run of its event sequence, and after every
 * event the result must match what the test expects (only the keys it names are checked).
 */
import type { RulesProgram } from './compile.ts';
import { dryRun, type DryRunResult } from './dry-run.ts';
import type { RulesTest, TestExpectation, TestStep } from './model.ts';

/** One expectation that did not hold. */
export interface TestMismatch {
  readonly key: keyof TestExpectation;
  readonly expected: string;
  readonly actual: string;
}

/** The outcome of one test. A failed test stops at its first failing step. */
export interface RulesTestOutcome {
  readonly test: RulesTest;
  readonly passed: boolean;
  /** Index of the failing step, when failed. */
  readonly failedStep?: number;
  readonly mismatches: readonly TestMismatch[];
  /** The dry-run result of each step up to and including the failing one. */
  readonly results: readonly DryRunResult[];
}

export interface RulesTestReport {
  readonly passed: number;
  readonly failed: number;
  /** Tests the filter left out (`exas test --run PATTERN`). */
  readonly skipped: number;
  readonly outcomes: readonly RulesTestOutcome[];
}

/** Runs the tests of the program's `tests:` section that `selected` keeps (all by default). */
export function runRulesTests(program: RulesProgram, selected: (test: RulesTest) => boolean = () => true): RulesTestReport {
  const tests = program.tests.filter(selected);
  const outcomes = tests.map((test) => runOne(program, test));
  const passed = outcomes.filter((outcome) => outcome.passed).length;
  return { passed, failed: outcomes.length - passed, skipped: program.tests.length - tests.length, outcomes };
}

function runOne(program: RulesProgram, test: RulesTest): RulesTestOutcome {
  const results = dryRun(program, test.steps);
  for (let index = 0; index < test.steps.length; index += 1) {
    const mismatches = compare(test.steps[index]!.expect, results[index]!);
    if (mismatches.length > 0) return { test, passed: false, failedStep: index, mismatches, results: results.slice(0, index + 1) };
  }
  return { test, passed: true, mismatches: [], results };
}

function compare(expect: TestExpectation, actual: DryRunResult): TestMismatch[] {
  const out: TestMismatch[] = [];
  const check = (key: keyof TestExpectation, ok: boolean, expected: string, actualText: string): void => {
    if (!ok) out.push({ key, expected, actual: actualText });
  };
  if (expect.presence !== undefined) {
    const presence = expect.presence;
    if (presence !== null && typeof presence === 'object') {
      check('presence', actual.presence === null || !presence.not.includes(actual.presence), `not ${presence.not.join(' / ')}`, show(actual.presence));
    } else {
      check('presence', actual.presence === presence, show(presence), show(actual.presence));
    }
  }
  if (expect.routingStatus !== undefined) check('routingStatus', actual.routingStatus === expect.routingStatus, show(expect.routingStatus), show(actual.routingStatus));
  if (expect.rule !== undefined) check('rule', (actual.rule?.name ?? null) === expect.rule, show(expect.rule), show(actual.rule?.name ?? null));
  if (expect.unmatched !== undefined) check('unmatched', (actual.unmatched === true) === expect.unmatched, String(expect.unmatched), String(actual.unmatched === true));
  if (expect.presenceChanged !== undefined) check('presenceChanged', actual.presenceChanged === expect.presenceChanged, String(expect.presenceChanged), String(actual.presenceChanged));
  return out;
}

function show(value: string | null): string {
  return value === null ? 'null' : value;
}

/** A human-readable account of one failed test: the events, expected vs actual, and the rule that fired. */
export function formatTestFailure(outcome: RulesTestOutcome): string {
  const { test } = outcome;
  const lines = [`FAIL ${test.file}:${test.line}: ${test.name}`];
  outcome.results.forEach((result, index) => {
    const step = test.steps[index]!;
    const marker = index === outcome.failedStep ? '  ✗' : '   ';
    lines.push(`${marker} ${index + 1}. ${describeEvent(step)} → ${show(result.presence)} / ${show(result.routingStatus)}`);
  });
  const failing = outcome.failedStep === undefined ? undefined : outcome.results[outcome.failedStep];
  const stepLine = outcome.failedStep === undefined ? test.line : test.steps[outcome.failedStep]!.line;
  lines.push(`    at ${test.file}:${stepLine}`);
  for (const mismatch of outcome.mismatches) lines.push(`    ${mismatch.key}: expected ${mismatch.expected}, actual ${mismatch.actual}`);
  const rule = failing?.rule;
  lines.push(`    rule: ${rule ? `${rule.name} (${rule.file}:${rule.line})` : 'none matched'}`);
  return lines.join('\n');
}

function describeEvent(step: TestStep): string {
  const reason = step.reason === null ? 'no reason' : `reason ${step.reason}`;
  return `${step.agentId === 'agent' ? '' : `agent ${step.agentId}: `}${step.state}, call ${step.callType}, ${reason}`;
}
