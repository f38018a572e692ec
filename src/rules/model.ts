/**
 * The typed rules model: what a schema-valid rules file means, before compilation. Built from the parsed YAML
 * with the semantic checks the schema cannot express (unknown presence names, alias conflicts, duplicate rule
 * names), each pointing at its node.
 */
import {
  CALL_TYPES,
  ENGAGE_STATES,
  KEEP,
  SYSTEM_PRESENCES,
  type CallType,
  type EngageState,
  type PresenceOutput,
  type RoutingStatus,
  type RuleRef,
  type SystemPresence,
} from '../vocabulary.ts';
import type { Diagnostic } from './diagnostic.ts';
import { didYouMean } from './did-you-mean.ts';
import type { PathSegment, RulesSource } from './source.ts';

/** How Engage reason codes compare: `exact` (default) or `insensitive` to case. */
export type ReasonCase = 'exact' | 'insensitive';

/** One facet of a rule's `when`: any value, one of a list, or anything but a list. */
export type Matcher<T> =
  | { readonly kind: 'any' }
  | { readonly kind: 'in'; readonly values: readonly T[] }
  | { readonly kind: 'notIn'; readonly values: readonly T[] };

/** A rule as written, with where it was written. */
export interface RuleSpec {
  readonly index: number;
  readonly ref: RuleRef;
  readonly column: number;
  readonly state: Matcher<EngageState>;
  readonly callType: Matcher<CallType>;
  /** Reason names as written in the rule (alias names or raw codes; null = no reason). */
  readonly reason: Matcher<string | null>;
  readonly presence: PresenceOutput;
  readonly routingStatus: RoutingStatus;
}

/** A custom (secondary) GC presence, by its label and the system presence it sits under. */
export interface CustomPresence {
  readonly label: string;
  readonly system: SystemPresence;
}

/** What a test expects after one event; only the keys given are checked. */
export interface TestExpectation {
  readonly presence?: string | null | { readonly not: readonly string[] };
  readonly routingStatus?: RoutingStatus | null;
  readonly rule?: string | null;
  readonly unmatched?: boolean;
  readonly presenceChanged?: boolean;
}

/** One event of a test sequence and the result expected after it. */
export interface TestStep {
  readonly agentId: string;
  readonly state: EngageState;
  readonly callType: CallType;
  readonly reason: string | null;
  readonly expect: TestExpectation;
  readonly line: number;
}

/** A named sequence of events from the file's `tests:` section. */
export interface RulesTest {
  readonly name: string;
  readonly file: string;
  readonly line: number;
  readonly steps: readonly TestStep[];
}

/** A whole rules file, typed. */
export interface RulesModel {
  readonly file: string;
  readonly reasonCase: ReasonCase;
  /** Alias name → the Engage reason codes it stands for, in file order. */
  readonly aliases: ReadonlyMap<string, readonly string[]>;
  readonly customPresences: readonly CustomPresence[];
  readonly rules: readonly RuleSpec[];
  readonly tests: readonly RulesTest[];
}

/** The agent id test events use when they do not name one. */
export const DEFAULT_TEST_AGENT = 'agent';

/**
 * Reads reason codes the way the file says: folds case when `insensitive`, maps alias codes to their alias name.
 * A rule's reason value is an alias name, else a code (mapped to its alias, if any); an Engage code is mapped to
 * its alias, else stays itself.
 */
export class ReasonNames {
  private readonly fold: (text: string) => string;
  private readonly aliasNames = new Map<string, string>();
  private readonly codeToAlias = new Map<string, string>();

  constructor(reasonCase: ReasonCase, aliases: ReadonlyMap<string, readonly string[]>) {
    this.fold = reasonCase === 'insensitive' ? (text) => text.toLowerCase() : (text) => text;
    for (const [name, codes] of aliases) {
      this.aliasNames.set(this.fold(name), this.fold(name));
      for (const code of codes) if (!this.codeToAlias.has(this.fold(code))) this.codeToAlias.set(this.fold(code), this.fold(name));
    }
  }

  /** The key a rule's reason value stands for (folded). */
  ofRuleValue(value: string): string {
    const folded = this.fold(value);
    return this.aliasNames.get(folded) ?? this.codeToAlias.get(folded) ?? folded;
  }

  /** The key an Engage reason code stands for (folded). */
  ofCode(code: string): string {
    const folded = this.fold(code);
    return this.codeToAlias.get(folded) ?? folded;
  }

  /** Every Engage code (folded) that aliases list, with the alias key it maps to. */
  aliasCodes(): ReadonlyMap<string, string> {
    return this.codeToAlias;
  }
}

interface RawRule {
  name: string;
  when?: { state?: unknown; callType?: unknown; reason?: unknown };
  presence: string;
  routingStatus: RoutingStatus;
}

interface RawFile {
  reasons?: { case?: ReasonCase; aliases?: Record<string, string[]> };
  customPresences?: { label: string; system: SystemPresence }[];
  rules: RawRule[];
  tests?: {
    name: string;
    events: {
      agentId?: string;
      state: EngageState;
      callType?: CallType;
      reason?: string | null;
      expect: TestExpectation & { presence?: string | null | { not: string | string[] } };
    }[];
  }[];
}

/** Builds the model from a schema-valid source; semantic errors come back as diagnostics. */
export function buildModel(source: RulesSource): { model: RulesModel; errors: Diagnostic[] } {
  const raw = source.value as RawFile;
  const errors: Diagnostic[] = [];
  const error = (path: readonly PathSegment[], code: string, message: string, key = false): void => {
    const { line, column } = source.at(path, key);
    errors.push({ severity: 'error', code, file: source.file, line, column, message });
  };

  const reasonCase: ReasonCase = raw.reasons?.case ?? 'exact';
  const fold = reasonCase === 'insensitive' ? (text: string) => text.toLowerCase() : (text: string) => text;
  const aliases = new Map<string, readonly string[]>();
  const codeOwner = new Map<string, string>();
  const aliasByFolded = new Map<string, string>();
  for (const [name, codes] of Object.entries(raw.reasons?.aliases ?? {})) {
    const previous = aliasByFolded.get(fold(name));
    if (previous !== undefined) error(['reasons', 'aliases', name], 'duplicate-alias', `alias '${name}' is the same name as alias '${previous}' (reason case is ${reasonCase})`, true);
    aliasByFolded.set(fold(name), name);
    aliases.set(name, codes);
    codes.forEach((code, index) => {
      const owner = codeOwner.get(fold(code));
      if (owner !== undefined && owner !== name) {
        error(['reasons', 'aliases', name, index], 'alias-code-conflict', `reason code '${code}' is already an alias of '${owner}'; a code can belong to one alias only`);
      } else if (owner === name) {
        error(['reasons', 'aliases', name, index], 'alias-code-conflict', `reason code '${code}' is listed twice in alias '${name}'`);
      }
      codeOwner.set(fold(code), name);
    });
  }
  for (const [name] of aliases) {
    const owner = codeOwner.get(fold(name));
    if (owner !== undefined && owner !== name) {
      error(['reasons', 'aliases', name], 'alias-code-conflict', `alias name '${name}' is also listed as a reason code of alias '${owner}'; rules could not tell them apart`, true);
    }
  }

  const customPresences: CustomPresence[] = [];
  const labels = new Set<string>();
  (raw.customPresences ?? []).forEach((presence, index) => {
    if (labels.has(presence.label)) error(['customPresences', index, 'label'], 'duplicate-custom-presence', `custom presence '${presence.label}' is declared twice`);
    if ((SYSTEM_PRESENCES as readonly string[]).includes(presence.label) || presence.label === KEEP) {
      error(['customPresences', index, 'label'], 'reserved-presence', `custom presence label '${presence.label}' is a reserved name (a system presence or keep)`);
    }
    labels.add(presence.label);
    customPresences.push({ label: presence.label, system: presence.system });
  });

  errors.push(...presenceErrors(source));
  const ruleNames = new Map<string, number>();
  const rules: RuleSpec[] = raw.rules.map((rule, index) => {
    const at = source.at(['rules', index]);
    const earlier = ruleNames.get(rule.name);
    if (earlier !== undefined) error(['rules', index, 'name'], 'duplicate-rule-name', `rule name '${rule.name}' is already used by rules[${earlier}]; names must be unique`);
    else ruleNames.set(rule.name, index);
    return {
      index,
      ref: Object.freeze({ name: rule.name, file: source.file, line: at.line }),
      column: at.column,
      state: matcher<EngageState>(rule.when?.state),
      callType: matcher<CallType>(rule.when?.callType),
      reason: matcher<string | null>(rule.when?.reason),
      presence: rule.presence,
      routingStatus: rule.routingStatus,
    };
  });

  const tests: RulesTest[] = (raw.tests ?? []).map((test, testIndex) => ({
    name: test.name,
    file: source.file,
    line: source.at(['tests', testIndex]).line,
    steps: test.events.map((event, eventIndex) => ({
      agentId: event.agentId ?? DEFAULT_TEST_AGENT,
      state: event.state,
      callType: event.callType ?? 'None',
      reason: event.reason ?? null,
      expect: expectation(event.expect),
      line: source.at(['tests', testIndex, 'events', eventIndex]).line,
    })),
  }));

  errors.push(...testExpectationErrors(source));

  return { model: { file: source.file, reasonCase, aliases, customPresences, rules, tests }, errors };
}

/**
 * Test expectations naming a presence or rule that cannot occur: typos, the test could never pass. Tolerates a
 * file that failed the schema, so a slip in `tests:` shows together with the rules' errors. With no rules at all
 * the rule names are not checked: "the rule set is empty" says it once.
 */
export function testExpectationErrors(source: RulesSource): Diagnostic[] {
  const root = source.value as { customPresences?: unknown; rules?: unknown; tests?: unknown } | null;
  if (root === null || typeof root !== 'object' || !Array.isArray(root.tests)) return [];
  const field = (item: unknown, key: string): unknown => (item !== null && typeof item === 'object' ? (item as Record<string, unknown>)[key] : undefined);
  const strings = (list: unknown, key: string): string[] => (Array.isArray(list) ? list.map((item: unknown) => field(item, key)).filter((value): value is string => typeof value === 'string') : []);
  const presenceNames = [...SYSTEM_PRESENCES, ...strings(root.customPresences, 'label')];
  const ruleNames = strings(root.rules, 'name');
  const out: Diagnostic[] = [];
  const error = (path: readonly PathSegment[], code: string, message: string): void => {
    const { line, column } = source.at(path);
    out.push({ severity: 'error', code, file: source.file, line, column, message });
  };
  root.tests.forEach((test: unknown, testIndex) => {
    const events = field(test, 'events');
    if (!Array.isArray(events)) return;
    events.forEach((event: unknown, eventIndex) => {
      const at = ['tests', testIndex, 'events', eventIndex, 'expect'];
      const expect = field(event, 'expect');
      const presence = field(expect, 'presence');
      const negated = field(presence, 'not');
      const expected: Array<{ name: unknown; path: PathSegment[] }> =
        typeof presence === 'string'
          ? [{ name: presence, path: [...at, 'presence'] }]
          : Array.isArray(negated)
            ? negated.map((name: unknown, index) => ({ name, path: [...at, 'presence', 'not', index] }))
            : negated !== undefined
              ? [{ name: negated, path: [...at, 'presence', 'not'] }]
              : [];
      for (const { name, path } of expected) {
        if (typeof name !== 'string' || presenceNames.includes(name)) continue;
        const keepHint = name === KEEP ? '; a test expects the resolved presence (keep resolves to the earlier presence, or null)' : didYouMean(name, presenceNames);
        error(path, 'unknown-test-presence', `expected presence '${name}' is not a known presence (system or customPresences)${keepHint}`);
      }
      const rule = field(expect, 'rule');
      if (typeof rule === 'string' && ruleNames.length > 0 && !ruleNames.includes(rule)) {
        error([...at, 'rule'], 'unknown-test-rule', `expected rule '${rule}' is not a rule in this file${didYouMean(rule, ruleNames)}`);
      }
    });
  });
  return out;
}

/** `rules: []` (or `rules:` with nothing under it): one error that says so. */
export function emptyRuleSetError(source: RulesSource): Diagnostic[] {
  const rules = (source.value as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules) || rules.length > 0) return [];
  const { line, column } = source.at(['rules'], true);
  return [{ severity: 'error', code: 'empty-rule-set', file: source.file, line, column, message: 'the rule set is empty: add at least one rule under rules:' }];
}

/**
 * Unknown presence names in rules, with a did-you-mean over system presences, declared labels and keep.
 * Tolerates a file that failed the schema, so these errors are reported together with the schema's.
 */
export function presenceErrors(source: RulesSource): Diagnostic[] {
  const root = source.value as { customPresences?: unknown; rules?: unknown } | null;
  if (root === null || typeof root !== 'object') return [];
  const labels = Array.isArray(root.customPresences)
    ? root.customPresences.map((item: unknown) => (item !== null && typeof item === 'object' ? (item as { label?: unknown }).label : undefined)).filter((label): label is string => typeof label === 'string')
    : [];
  const presenceNames = [...SYSTEM_PRESENCES, ...labels, KEEP];
  const out: Diagnostic[] = [];
  if (!Array.isArray(root.rules)) return out;
  root.rules.forEach((rule: unknown, index) => {
    const presence = rule !== null && typeof rule === 'object' ? (rule as { presence?: unknown }).presence : undefined;
    if (typeof presence !== 'string' || presence === '' || presenceNames.includes(presence)) return;
    const { line, column } = source.at(['rules', index, 'presence']);
    out.push({
      severity: 'error',
      code: 'unknown-presence',
      file: source.file,
      line,
      column,
      message: `unknown presence '${presence}'${didYouMean(presence, presenceNames)}; use a system presence (${SYSTEM_PRESENCES.join(', ')}), a label declared under customPresences, or keep`,
    });
  });
  return out;
}

function matcher<T>(value: unknown): Matcher<T> {
  if (value === undefined || value === 'any') return { kind: 'any' };
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const negated = (value as { not: unknown }).not;
    return { kind: 'notIn', values: (Array.isArray(negated) ? negated : [negated]) as T[] };
  }
  return { kind: 'in', values: (Array.isArray(value) ? value : [value]) as T[] };
}

function expectation(raw: TestExpectation & { presence?: string | null | { not: string | string[] } }): TestExpectation {
  const presence = raw.presence;
  if (presence !== null && typeof presence === 'object') {
    return { ...raw, presence: { not: Array.isArray(presence.not) ? presence.not : [presence.not] } };
  }
  return raw as TestExpectation;
}

/** Every state and call type, for the compiler and the coverage lint. */
export const STATES: readonly EngageState[] = ENGAGE_STATES;
export const CALLS: readonly CallType[] = CALL_TYPES;
