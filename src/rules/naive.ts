/**
 * The reference meaning of a rules file: walk the rules in order, first match wins. Slow (O(rules)) but
 * obviously right; the compiled table must agree with it (property-tested), and `explain` uses it to say why
 * each rule did or did not match.
 */
import type { CallType, EngageState } from '../vocabulary.ts';
import type { Matcher, ReasonNames, RuleSpec } from './model.ts';

/** Which facets of a rule fail for an input (empty: the rule matches). */
export type Facet = 'state' | 'callType' | 'reason';

function matches<T>(matcher: Matcher<T>, test: (value: T) => boolean): boolean {
  if (matcher.kind === 'any') return true;
  const listed = matcher.values.some(test);
  return matcher.kind === 'in' ? listed : !listed;
}

/** The facets of `rule` that do not match the input. */
export function mismatches(rule: RuleSpec, names: ReasonNames, state: EngageState, callType: CallType, reason: string | null): Facet[] {
  const out: Facet[] = [];
  if (!matches(rule.state, (value) => value === state)) out.push('state');
  if (!matches(rule.callType, (value) => value === callType)) out.push('callType');
  const key = reason === null ? null : names.ofCode(reason);
  const reasonMatches = matches(rule.reason, (value) => (value === null ? key === null : key !== null && names.ofRuleValue(value) === key));
  if (!reasonMatches) out.push('reason');
  return out;
}

/** The first rule that matches, or undefined. */
export function firstMatch(
  rules: readonly RuleSpec[],
  names: ReasonNames,
  state: EngageState,
  callType: CallType,
  reason: string | null,
): RuleSpec | undefined {
  return rules.find((rule) => mismatches(rule, names, state, callType, reason).length === 0);
}
