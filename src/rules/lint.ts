/**
 * The linter: findings about what the rules mean rather than how they are written. Errors: an empty rule set,
 * a rule that can never match (earlier rules take all its inputs). Warnings: state × call type combinations no
 * rule covers (those inputs are "unmatched" and leave GC unchanged), and rules that set `Available` (EXAS
 * mirrors contact-center states; GC's Available means "free for non-ACD work", which the seed never sets).
 */
import type { Diagnostic } from './diagnostic.ts';
import type { Compiled } from './compile.ts';
import { CALLS, type RulesModel } from './model.ts';
import type { RulesSource } from './source.ts';

export function lint(model: RulesModel, compiled: Compiled, source: RulesSource): { errors: Diagnostic[]; warnings: Diagnostic[] } {
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const push = (list: Diagnostic[], severity: Diagnostic['severity'], code: string, where: { line: number; column: number }, message: string): void => {
    list.push({ severity, code, file: source.file, line: where.line, column: where.column, message });
  };

  if (model.rules.length === 0) {
    push(errors, 'error', 'empty-rule-set', source.at(['rules'], true), 'the rule set is empty: add at least one rule under rules:');
    return { errors, warnings };
  }

  for (const { rule, coveredBy } of compiled.shadowed) {
    const where = source.at(['rules', rule.index]);
    const message =
      coveredBy.length === 0
        ? `rule '${rule.ref.name}' can never match: its when: matches no input`
        : `rule '${rule.ref.name}' can never match: earlier ${coveredBy.length === 1 ? 'rule' : 'rules'} ${coveredBy
            .map((other) => `'${other.ref.name}' (line ${other.ref.line})`)
            .join(', ')} ${coveredBy.length === 1 ? 'covers' : 'cover'} every input it matches`;
    push(errors, 'error', 'shadowed-rule', where, message);
  }

  const rulesKey = source.at(['rules'], true);
  for (const state of new Set(compiled.uncovered.map((cell) => cell.state))) {
    const cells = compiled.uncovered.filter((cell) => cell.state === state);
    if (cells.length === CALLS.length && cells.every((cell) => cell.whole)) {
      push(warnings, 'warning', 'uncovered-input', rulesKey, `no rule covers state ${state} (with any call type); such events are unmatched and leave GC unchanged`);
      continue;
    }
    for (const cell of cells) {
      const what = cell.whole ? '' : ` for ${cell.reasons.join(', ')}`;
      push(warnings, 'warning', 'uncovered-input', rulesKey, `no rule covers state ${cell.state} with call type ${cell.callType}${what}; such events are unmatched and leave GC unchanged`);
    }
  }

  for (const rule of model.rules) {
    if (rule.presence === 'Available') {
      push(warnings, 'warning', 'sets-available', source.at(['rules', rule.index, 'presence']), `rule '${rule.ref.name}' sets presence Available; EXAS normally never sets Available (agents would look free for non-queue work)`);
    }
  }
  return { errors, warnings };
}
