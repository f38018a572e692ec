import { describe, expect, it } from 'vitest';
import { formatDiagnostic, loadRules, loadRulesFile, type Diagnostic } from '../../../src/rules/index.ts';

const FILE = 'test.rules.yaml';

/** The default file's shape, small: one rule per state so a file is complete unless a test says otherwise. */
const TAIL = `  - name: logged-off
    when: { state: LoggedOff }
    presence: Offline
    routingStatus: OffQueue
  - name: not-ready
    when: { state: NotReady }
    presence: Busy
    routingStatus: OffQueue
  - name: ready
    when: { state: Ready }
    presence: OnQueue
    routingStatus: Idle
  - name: acw
    when: { state: AfterCallWork }
    presence: keep
    routingStatus: Interacting
`;

function errorsOf(text: string): string[] {
  const result = loadRules(text, FILE);
  expect(result.program).toBeNull();
  return result.errors.map(formatDiagnostic);
}

function warningsOf(text: string): string[] {
  const result = loadRules(text, FILE);
  expect(result.errors.map(formatDiagnostic)).toEqual([]);
  return result.warnings.map(formatDiagnostic);
}

describe('rules loader and linter report FILE:LINE:COLUMN errors', () => {
  it('accepts a complete file with no findings', () => {
    const result = loadRules(`rules:\n${TAIL}`, FILE);
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.program?.rules.map((rule) => rule.name)).toEqual(['logged-off', 'not-ready', 'ready', 'acw']);
  });

  it('reports a YAML syntax error at its position: an unclosed bracket at the bracket', () => {
    expect(errorsOf('rules:\n  - name: [a\n')).toEqual(["test.rules.yaml:2:11: YAML syntax error: unclosed '[': this flow list needs a matching ']'"]);
  });

  it('reports a second YAML document as an error', () => {
    expect(errorsOf(`rules:\n${TAIL}---\nrules: []\n`)).toEqual(['test.rules.yaml:18:1: the rules file must be a single YAML document (found another --- document here)']);
  });

  it('reports a duplicate key at the second occurrence, naming the key', () => {
    const errors = errorsOf(`rules:\n  - name: a\n    when: { state: Ready, state: NotReady }\n    presence: Busy\n    routingStatus: Idle\n`);
    expect(errors).toContain("test.rules.yaml:3:27: duplicate key 'state'; a key may appear once in a mapping");
  });

  it('reports an unknown key at the key, with a did-you-mean hint and the allowed keys', () => {
    const errors = errorsOf(`rules:\n  - name: a\n    presense: Busy\n    routingStatus: Idle\n`);
    expect(errors).toContain(
      "test.rules.yaml:3:5: unknown key 'presense' in rules[0] (did you mean 'presence'?); allowed: name, description, when, presence, routingStatus",
    );
    expect(errors).toContain("test.rules.yaml:2:5: rules[0] is missing required key 'presence'");
  });

  it('reports an unknown top-level key', () => {
    expect(errorsOf(`rulez: []\nrules:\n${TAIL}`)).toContain(
      "test.rules.yaml:1:1: unknown key 'rulez' in the rules file (did you mean 'rules'?); allowed: version, reasons, customPresences, rules, tests",
    );
  });

  it('reports a misspelled state with a did-you-mean hint', () => {
    expect(errorsOf(`rules:\n  - name: a\n    when: { state: Redy }\n    presence: Busy\n    routingStatus: Idle\n`)).toEqual([
      "test.rules.yaml:3:20: unknown state 'Redy' in rules[0].when.state (did you mean 'Ready'?); expected one of LoggedOff, NotReady, Ready, AfterCallWork",
    ]);
  });

  it('reports a misspelled call type inside a list and inside a negation', () => {
    const errors = errorsOf(`rules:\n  - name: a\n    when: { callType: [None, Inbund], state: { not: [Ready, NotRedy] } }\n    presence: Busy\n    routingStatus: Idle\n`);
    expect(errors).toEqual([
      expect.stringMatching(/^test\.rules\.yaml:3:30: unknown call type 'Inbund' in rules\[0\]\.when\.callType\[1\] \(did you mean 'Inbound'\?\)/),
      expect.stringMatching(/^test\.rules\.yaml:3:61: unknown state 'NotRedy' in rules\[0\]\.when\.state\.not\[1\] \(did you mean 'NotReady'\?\)/),
    ]);
  });

  it('reports a misspelled presence with a did-you-mean hint', () => {
    expect(errorsOf(`rules:\n  - name: a\n    presence: OnQeue\n    routingStatus: Idle\n`)).toEqual([
      expect.stringMatching(/^test\.rules\.yaml:3:15: unknown presence 'OnQeue' \(did you mean 'OnQueue'\?\)/),
    ]);
  });

  it('suggests a declared custom presence label', () => {
    const text = `customPresences:\n  - { label: Coaching, system: Busy }\nrules:\n  - name: a\n    presence: Coachin\n    routingStatus: OffQueue\n`;
    expect(errorsOf(text)).toEqual([expect.stringMatching(/^test\.rules\.yaml:5:15: unknown presence 'Coachin' \(did you mean 'Coaching'\?\)/)]);
  });

  it('reports a misspelled routing status and wrong value types', () => {
    const errors = errorsOf(`version: 2\nrules:\n  - name: 3\n    presence: Busy\n    routingStatus: Idel\n`);
    expect(errors).toEqual([
      'test.rules.yaml:1:10: version must be 1',
      'test.rules.yaml:3:11: rules[0].name must be a string, not number 3 (quote it: "3")',
      expect.stringMatching(/^test\.rules\.yaml:5:20: unknown routing status 'Idel' in rules\[0\]\.routingStatus \(did you mean 'Idle'\?\)/),
    ]);
  });

  it('reports a rules: that is not a list, and a root that is not a mapping', () => {
    expect(errorsOf('rules: {}\n')).toEqual(['test.rules.yaml:1:8: rules must be a list, not a mapping']);
    expect(errorsOf('- a\n')).toEqual(['test.rules.yaml:1:1: the rules file must be a mapping, not a list']);
  });

  it('reports several errors at once, in file order', () => {
    const text = `rules:\n  - name: a\n    when: { state: Redy }\n    presence: OnQeue\n    routingStatus: Idel\n    colour: red\n`;
    const errors = loadRules(text, FILE).errors;
    expect(errors.map((d) => [d.line, d.column])).toEqual([
      [3, 20],
      [4, 15],
      [5, 20],
      [6, 5],
    ]);
  });

  it('reports a rule shadowed by earlier rules, naming them', () => {
    const text = `rules:\n${TAIL}  - name: ready-break\n    when: { state: Ready, reason: Break }\n    presence: Break\n    routingStatus: OffQueue\n`;
    expect(errorsOf(text)).toEqual(["test.rules.yaml:18:5: rule 'ready-break' can never match: earlier rule 'ready' (line 10) covers every input it matches"]);
  });

  it('reports a rule shadowed by several earlier rules together', () => {
    const text = `rules:\n  - name: no-reason\n    when: { reason: null }\n    presence: Busy\n    routingStatus: OffQueue\n  - name: some-reason\n    when: { reason: { not: [null] } }\n    presence: Busy\n    routingStatus: OffQueue\n  - name: everything\n    presence: Busy\n    routingStatus: OffQueue\n`;
    expect(errorsOf(text)).toEqual([
      "test.rules.yaml:10:5: rule 'everything' can never match: earlier rules 'no-reason' (line 2), 'some-reason' (line 6) cover every input it matches",
    ]);
  });

  it('reports a rule whose when matches nothing', () => {
    const text = `rules:\n${TAIL}  - name: never\n    when: { state: { not: [LoggedOff, NotReady, Ready, AfterCallWork] } }\n    presence: Busy\n    routingStatus: OffQueue\n`;
    expect(errorsOf(text)).toEqual(["test.rules.yaml:18:5: rule 'never' can never match: its when: matches no input"]);
  });

  it('reports an empty rule set at the rules key', () => {
    expect(errorsOf('version: 1\nrules: []\n')).toEqual(['test.rules.yaml:2:1: the rule set is empty: add at least one rule under rules:']);
  });

  it('reports an empty file and a file without rules', () => {
    expect(errorsOf('')).toEqual(['test.rules.yaml:1:1: the rules file is empty: expected a mapping with a rules: list']);
    expect(errorsOf('version: 1\n')).toEqual(["test.rules.yaml:1:1: the rules file is missing required key 'rules'"]);
  });

  it('refuses YAML aliases that would expand hugely, with a clear error', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
      'rules: *d',
    ].join('\n');
    expect(errorsOf(bomb)).toEqual(['test.rules.yaml:2:8: YAML aliases expand too much (more than 100 expansions); refusing the file']);
  });

  it('reports duplicate rule names and alias conflicts', () => {
    const text = `reasons:\n  aliases:\n    Break: [BRK]\n    Pause: [BRK]\nrules:\n  - name: a\n    presence: Busy\n    routingStatus: OffQueue\n  - name: a\n    when: { state: Ready }\n    presence: OnQueue\n    routingStatus: Idle\n`;
    expect(errorsOf(text)).toEqual([
      "test.rules.yaml:4:13: reason code 'BRK' is already an alias of 'Break'; a code can belong to one alias only",
      "test.rules.yaml:9:11: rule name 'a' is already used by rules[0]; names must be unique",
    ]);
  });

  it('warns about state × call type combinations no rule covers', () => {
    const text = `rules:\n  - name: ready\n    when: { state: Ready }\n    presence: OnQueue\n    routingStatus: Idle\n  - name: not-ready-break\n    when: { state: NotReady, callType: None, reason: Break }\n    presence: Break\n    routingStatus: OffQueue\n  - name: not-ready-calls\n    when: { state: NotReady, callType: { not: None } }\n    presence: Busy\n    routingStatus: Interacting\n`;
    expect(warningsOf(text)).toEqual([
      'test.rules.yaml:1:1: warning: no rule covers state LoggedOff (with any call type); such events are unmatched and leave GC unchanged',
      'test.rules.yaml:1:1: warning: no rule covers state NotReady with call type None for no reason, other reasons; such events are unmatched and leave GC unchanged',
      'test.rules.yaml:1:1: warning: no rule covers state AfterCallWork (with any call type); such events are unmatched and leave GC unchanged',
    ]);
  });

  it('warns about a rule that outputs Available, at its presence', () => {
    const text = `rules:\n  - name: ready-available\n    when: { state: Ready, reason: Holiday }\n    presence: Available\n    routingStatus: Idle\n${TAIL}`;
    expect(warningsOf(text)).toEqual([
      "test.rules.yaml:4:15: warning: rule 'ready-available' sets presence Available; EXAS normally never sets Available (agents would look free for non-queue work)",
    ]);
  });

  it('reports an unreadable file as an error at 1:1', async () => {
    const result = await loadRulesFile('test/unit/rules/does-not-exist.yaml');
    expect(result.errors.map(formatDiagnostic)).toEqual(['test/unit/rules/does-not-exist.yaml:1:1: cannot read rules file: no such file']);
  });

  it('formats warnings with "warning: " after the location', () => {
    const warning: Diagnostic = { severity: 'warning', file: 'f.yaml', line: 3, column: 7, message: 'm' };
    expect(formatDiagnostic(warning)).toBe('f.yaml:3:7: warning: m');
    expect(formatDiagnostic({ ...warning, severity: 'error' })).toBe('f.yaml:3:7: m');
  });

  it('hints to quote a numeric reason code', () => {
    expect(errorsOf(`rules:\n  - name: a\n    when: { reason: [101, x] }\n    presence: Busy\n    routingStatus: OffQueue\n`)).toEqual([
      'test.rules.yaml:3:22: rules[0].when.reason[0] must be a string or null, not number 101 (quote it: "101")',
    ]);
  });

  it('reports test expectations naming an unknown presence or rule', () => {
    const text = `rules:\n${TAIL}tests:\n  - name: t\n    events:\n      - { state: Ready, expect: { presence: OnQeue, rule: redy } }\n      - { state: AfterCallWork, expect: { presence: keep } }\n`;
    expect(errorsOf(text)).toEqual([
      "test.rules.yaml:21:45: expected presence 'OnQeue' is not a known presence (system or customPresences) (did you mean 'OnQueue'?)",
      "test.rules.yaml:21:59: expected rule 'redy' is not a rule in this file (did you mean 'ready'?)",
      expect.stringMatching(/^test\.rules\.yaml:22:53: expected presence 'keep' is not a known presence .*keep resolves to the earlier presence/),
    ]);
  });

  it('reports bad tests: entries at their node', () => {
    const text = `rules:\n${TAIL}tests:\n  - name: t\n    events:\n      - { state: Rady, expect: { presense: Busy } }\n`;
    expect(errorsOf(text)).toEqual([
      expect.stringMatching(/^test\.rules\.yaml:21:18: unknown state 'Rady' in tests\[0\]\.events\[0\]\.state \(did you mean 'Ready'\?\)/),
      expect.stringMatching(/^test\.rules\.yaml:21:34: unknown key 'presense' in tests\[0\]\.events\[0\]\.expect \(did you mean 'presence'\?\)/),
    ]);
  });
});
