/**
 * The compiler: turns a rules model into a lookup table indexed by state × call type × reason class, filled
 * first-match-wins, holding one frozen Decision per rule. A decision is then three small index computations and
 * one array read: O(1) in the number of rules, no allocation. Reasons no rule names share the "other" class;
 * "no reason" (null) has its own. The same pass finds shadowed rules and uncovered combinations for the linter.
 */
import { createHash } from 'node:crypto';
import type { CallType, EngageState, PresenceOutput, RoutingStatus, RuleRef } from '../vocabulary.ts';
import { CALLS, ReasonNames, STATES, type CustomPresence, type Matcher, type RuleSpec, type RulesModel, type RulesTest } from './model.ts';
import { mismatches, type Facet } from './naive.ts';

/** The answer for one input: what to set, and which rule said so. `unmatched` when no rule matches. */
export interface Decision {
  readonly presence: PresenceOutput | null;
  readonly routingStatus: RoutingStatus | null;
  readonly rule: RuleRef | null;
  readonly unmatched: boolean;
}

/** One rule as `explain` saw it. */
export interface RuleConsidered {
  readonly rule: RuleRef;
  readonly matched: boolean;
  /** The facets that did not match (empty when matched). */
  readonly failed: readonly Facet[];
}

/** Why an input got its decision: the rules considered, in order, up to the one that matched. */
export interface Explanation {
  readonly state: EngageState;
  readonly callType: CallType;
  readonly reason: string | null;
  /** The reason after aliases and case folding, as rules see it (null: no reason). */
  readonly reasonName: string | null;
  readonly decision: Decision;
  readonly considered: readonly RuleConsidered[];
}

/** A compiled rules file: decide in O(1), explain, and what the rest of EXAS needs to know about it. */
export interface RulesProgram {
  readonly file: string;
  /** sha256 hex of the source text. */
  readonly hash: string;
  /** The rules in file order. */
  readonly rules: readonly RuleRef[];
  /** Every presence name the rules can output, excluding `keep` (for the GC catalog check). */
  readonly presences: readonly string[];
  /** Custom presences the file declares, with the system presence each sits under. */
  readonly customPresences: readonly CustomPresence[];
  /** The file's `tests:` section. */
  readonly tests: readonly RulesTest[];
  /** The source text (a worker thread compiles its own copy of the live rules from it). */
  readonly source: string;
  /** O(1) in the number of rules; returns a shared frozen object, allocates nothing (exact reason case). */
  decide(state: EngageState, callType: CallType, reason: string | null): Decision;
  explain(state: EngageState, callType: CallType, reason: string | null): Explanation;
}

/** The decision when no rule matches (or the input is outside the vocabulary). */
export const UNMATCHED: Decision = Object.freeze({ presence: null, routingStatus: null, rule: null, unmatched: true });

const NO_REASON = 0;
const OTHER_REASON = 1;
/** Pads the unrolled reason compare; NUL characters never occur in Engage reason codes. */
const UNUSED_CODE = '\u0000\u0000exas-unused\u0000';

/** A rule no input can reach, and the earlier rules that take its inputs. */
export interface ShadowedRule {
  readonly rule: RuleSpec;
  readonly coveredBy: readonly RuleSpec[];
}

/** A state × call type with reasons no rule covers. */
export interface UncoveredCell {
  readonly state: EngageState;
  readonly callType: CallType;
  /** True when no reason at all is covered; else `reasons` says which are missing. */
  readonly whole: boolean;
  /** Missing reason classes, described: `no reason`, `other reasons`, or a reason name. */
  readonly reasons: readonly string[];
}

export interface Compiled {
  readonly program: RulesProgram;
  /** The program's decision table as plain data (see `packed.ts`). */
  readonly tables: DecisionTables;
  readonly shadowed: readonly ShadowedRule[];
  readonly uncovered: readonly UncoveredCell[];
}

/** Compiles a model (whatever its lint findings) into a program plus the analysis the linter reports. */
export function compile(model: RulesModel, sourceText: string): Compiled {
  const names = new ReasonNames(model.reasonCase, model.aliases);

  // Reason classes: 0 = no reason, 1 = any reason no rule names, then one per reason key rules name.
  const classOfKey = new Map<string, number>();
  const classNames = ['no reason', 'other reasons'];
  for (const rule of model.rules) {
    if (rule.reason.kind === 'any') continue;
    for (const value of rule.reason.values) {
      if (value === null) continue;
      const key = names.ofRuleValue(value);
      if (!classOfKey.has(key)) {
        classOfKey.set(key, classNames.length);
        classNames.push(`'${value}'`);
      }
    }
  }
  const reasonCount = classNames.length;
  // What decide() looks an Engage code up in: rule keys, plus every alias code (to its alias's class, or other).
  const lookup = new Map<string, number>(classOfKey);
  for (const [code, alias] of names.aliasCodes()) lookup.set(code, classOfKey.get(alias) ?? OTHER_REASON);

  // Built once, and each rule's classes once (not per state × call type): a list of N rules naming N reasons
  // would otherwise cost N² (seconds for a few thousand rules, minutes for a 1 MiB candidate posted to /dry-run).
  const allReasons = Array.from({ length: reasonCount }, (_, i) => i);
  const reasonClasses = (matcher: Matcher<string | null>): number[] => {
    if (matcher.kind === 'any') return allReasons;
    const listed = new Set(matcher.values.map((value) => (value === null ? NO_REASON : classOfKey.get(names.ofRuleValue(value))!)));
    return matcher.kind === 'in' ? [...listed] : allReasons.filter((i) => !listed.has(i));
  };
  const pick = <T>(matcher: Matcher<T>, universe: readonly T[]): number[] => {
    const indexes = universe.map((_, i) => i);
    if (matcher.kind === 'any') return indexes;
    const listed = new Set(matcher.values);
    return indexes.filter((i) => listed.has(universe[i]!) === (matcher.kind === 'in'));
  };

  const cellCount = STATES.length * CALLS.length * reasonCount;
  // Each cell holds a decision slot: 0 is UNMATCHED, rule i's decision is slot i + 1.
  const cells = new Int32Array(cellCount);
  const shadowed: ShadowedRule[] = [];
  for (const rule of model.rules) {
    const slot = rule.index + 1;
    const coveredBy = new Set<number>();
    let claimed = 0;
    const ruleReasons = reasonClasses(rule.reason);
    for (const s of pick(rule.state, STATES)) {
      for (const c of pick(rule.callType, CALLS)) {
        for (const r of ruleReasons) {
          const cell = (s * CALLS.length + c) * reasonCount + r;
          if (cells[cell] === 0) {
            cells[cell] = slot;
            claimed += 1;
          } else {
            coveredBy.add(cells[cell]! - 1);
          }
        }
      }
    }
    if (claimed === 0) shadowed.push({ rule, coveredBy: [...coveredBy].sort((a, b) => a - b).map((i) => model.rules[i]!) });
  }

  const uncovered: UncoveredCell[] = [];
  STATES.forEach((state, s) => {
    CALLS.forEach((callType, c) => {
      const missing: string[] = [];
      for (let r = 0; r < reasonCount; r += 1) if (cells[(s * CALLS.length + c) * reasonCount + r] === 0) missing.push(classNames[r]!);
      if (missing.length > 0) uncovered.push({ state, callType, whole: missing.length === reasonCount, reasons: missing });
    });
  });

  // Most state × call type rows do not depend on the reason (in the seed table, only NotReady without a call
  // does): for those the row's one decision is returned without looking the reason up at all.
  const rowCount = STATES.length * CALLS.length;
  const rows = new Int32Array(rowCount).fill(-1);
  for (let row = 0; row < rowCount; row += 1) {
    const first = cells[row * reasonCount]!;
    let uniform = true;
    for (let r = 1; r < reasonCount; r += 1) if (cells[row * reasonCount + r] !== first) uniform = false;
    if (uniform) rows[row] = first;
  }
  const tables: DecisionTables = {
    reasonCount,
    cells,
    rows,
    reasonKeys: [...lookup.keys()],
    reasonClasses: Int32Array.from(lookup.values()),
    insensitive: model.reasonCase === 'insensitive',
  };
  const decisions = decisionsOf(model.rules.map((rule) => ({ presence: rule.presence, routingStatus: rule.routingStatus, rule: rule.ref })));
  const presences = [...new Set(model.rules.map((rule) => rule.presence).filter((presence) => presence !== 'keep'))];
  const program = assembleProgram(
    {
      file: model.file,
      hash: createHash('sha256').update(sourceText).digest('hex'),
      presences,
      customPresences: model.customPresences,
      tests: model.tests,
      source: sourceText,
    },
    tables,
    decisions,
    () => model,
  );
  return { program, tables, shadowed, uncovered };
}

/**
 * The decision table as plain data (typed arrays and a string list): what a worker thread that compiled a file
 * hands the serving thread, which adopts it in about a millisecond instead of compiling again (see `packed.ts`).
 */
export interface DecisionTables {
  /** Reason classes: 0 no reason, 1 any other reason, then one per reason rules name. */
  readonly reasonCount: number;
  /** Decision slot per state × call type × reason class: 0 unmatched, i + 1 rule i. */
  readonly cells: Int32Array;
  /** Per state × call type: the one slot of a row that does not depend on the reason, else -1. */
  readonly rows: Int32Array;
  /** Reason keys (rule keys and alias codes, folded as the file says) and the class of each. */
  readonly reasonKeys: readonly string[];
  readonly reasonClasses: Int32Array;
  readonly insensitive: boolean;
}

/** What a program says about its file besides the table. */
export interface ProgramFacts {
  readonly file: string;
  readonly hash: string;
  readonly presences: readonly string[];
  readonly customPresences: readonly CustomPresence[];
  readonly tests: readonly RulesTest[];
  readonly source: string;
}

/** One frozen decision per rule, by slot (slot 0 is UNMATCHED). */
export function decisionsOf(rules: ReadonlyArray<{ presence: PresenceOutput; routingStatus: RoutingStatus; rule: RuleRef }>): Decision[] {
  const decisions: Decision[] = [UNMATCHED];
  for (const { presence, routingStatus, rule } of rules) decisions.push(Object.freeze({ presence, routingStatus, rule, unmatched: false }));
  return decisions;
}

/**
 * A program over a decision table: `decide` reads the table; `explain` needs the model, which `modelOf` gives on
 * first use (a program adopted from a worker parses it only if something asks for an explanation).
 */
export function assembleProgram(facts: ProgramFacts, tables: DecisionTables, decisions: readonly Decision[], modelOf: () => RulesModel): RulesProgram {
  const { reasonCount, cells, rows } = tables;
  const stateIndex = indexer(STATES);
  const callIndex = indexer(CALLS);
  const callCount = CALLS.length;
  const uniformRow: Array<Decision | null> = Array.from(rows, (slot) => (slot < 0 ? null : decisions[slot]!));
  const lookup = new Map<string, number>();
  tables.reasonKeys.forEach((key, i) => lookup.set(key, tables.reasonClasses[i]!));
  const reasonClass = reasonClassifier(lookup, tables.insensitive);

  const decide = (state: EngageState, callType: CallType, reason: string | null): Decision => {
    const s = stateIndex(state);
    const c = callIndex(callType);
    if (s < 0 || c < 0) return UNMATCHED;
    const row = s * callCount + c;
    const uniform = uniformRow[row]!;
    if (uniform !== null) return uniform;
    return decisions[cells[row * reasonCount + (reason === null ? NO_REASON : reasonClass(reason))]!]!;
  };

  let explainer: { model: RulesModel; names: ReasonNames } | undefined;
  const explain = (state: EngageState, callType: CallType, reason: string | null): Explanation => {
    if (explainer === undefined) {
      const model = modelOf();
      explainer = { model, names: new ReasonNames(model.reasonCase, model.aliases) };
    }
    const { model, names } = explainer;
    const considered: RuleConsidered[] = [];
    for (const rule of model.rules) {
      const failed = mismatches(rule, names, state, callType, reason);
      considered.push({ rule: rule.ref, matched: failed.length === 0, failed });
      if (failed.length === 0) break;
    }
    return { state, callType, reason, reasonName: reason === null ? null : names.ofCode(reason), decision: decide(state, callType, reason), considered };
  };

  return Object.freeze({
    file: facts.file,
    hash: facts.hash,
    rules: Object.freeze(decisions.slice(1).map((decision) => decision.rule!)),
    presences: Object.freeze([...facts.presences]),
    customPresences: Object.freeze([...facts.customPresences]),
    tests: Object.freeze([...facts.tests]),
    source: facts.source,
    decide,
    explain,
  });
}

type Eight<T> = [T, T, T, T, T, T, T, T];

/**
 * Engage reason code → reason class. A handful of named reasons (the usual case) are compared in a short loop,
 * which beats hashing; many use a Map. Case-insensitive files fold only on a miss, so already-folded codes
 * stay allocation-free.
 */
function reasonClassifier(lookup: ReadonlyMap<string, number>, insensitive: boolean): (reason: string) => number {
  const find = (key: string): number | undefined => lookup.get(key);
  if (lookup.size <= 8) {
    // Unrolled compares against up to eight constants (padded with a code Engage cannot send), so the common
    // case of a few named reasons costs what a hand-written chain costs.
    const entries = [...lookup.entries()];
    while (entries.length < 8) entries.push([UNUSED_CODE, OTHER_REASON]);
    const [[k0, c0], [k1, c1], [k2, c2], [k3, c3], [k4, c4], [k5, c5], [k6, c6], [k7, c7]] = entries as unknown as Eight<[string, number]>;
    const scan = (reason: string): number =>
      reason === k0 ? c0 : reason === k1 ? c1 : reason === k2 ? c2 : reason === k3 ? c3 : reason === k4 ? c4 : reason === k5 ? c5 : reason === k6 ? c6 : reason === k7 ? c7 : -1;
    if (!insensitive) return (reason) => {
      const found = scan(reason);
      return found >= 0 ? found : OTHER_REASON;
    };
    return (reason) => {
      const found = scan(reason);
      if (found >= 0) return found;
      const folded = scan(reason.toLowerCase());
      return folded >= 0 ? folded : OTHER_REASON;
    };
  }
  if (!insensitive) return (reason) => find(reason) ?? OTHER_REASON;
  return (reason) => find(reason) ?? find(reason.toLowerCase()) ?? OTHER_REASON;
}

/**
 * A string → index function over a fixed vocabulary. A switch over constant strings lets V8 compare interned
 * pointers, which beats a Map lookup on the hot path.
 */
function indexer(values: readonly string[]): (value: string) => number {
  const [a, b, c, d, e, f] = values;
  if (values.length === 4) {
    return (value) => (value === a ? 0 : value === b ? 1 : value === c ? 2 : value === d ? 3 : -1);
  }
  if (values.length === 6) {
    return (value) => (value === a ? 0 : value === b ? 1 : value === c ? 2 : value === d ? 3 : value === e ? 4 : value === f ? 5 : -1);
  }
  const map = new Map(values.map((value, i) => [value, i]));
  return (value) => map.get(value) ?? -1;
}
