/** Human-readable text of an Explanation, for `exas explain` and the status page. */
import type { Explanation } from './compile.ts';

const FACET_NAMES = { state: 'state', callType: 'call type', reason: 'reason' } as const;

/** Several lines: the input, each rule considered and why it did not match, and the decision. */
export function formatExplanation(explanation: Explanation): string {
  const { state, callType, reason, reasonName, decision } = explanation;
  const reasonText = reason === null ? 'no reason' : reasonName !== null && reasonName !== reason ? `reason '${reason}' (read as '${reasonName}')` : `reason '${reason}'`;
  const lines = [`input: state ${state}, call type ${callType}, ${reasonText}`, 'rules considered:'];
  for (const item of explanation.considered) {
    const where = `${item.rule.file}:${item.rule.line}`;
    lines.push(
      item.matched
        ? `  ✓ ${item.rule.name} (${where}) matches`
        : `  ✗ ${item.rule.name} (${where}) does not match: ${item.failed.map((facet) => FACET_NAMES[facet]).join(', ')}`,
    );
  }
  if (decision.unmatched) {
    lines.push('decision: unmatched (no rule matches; GC is left unchanged)');
  } else {
    const presence = decision.presence === 'keep' ? 'keep (presence unchanged)' : decision.presence;
    lines.push(`decision: presence ${presence}, routing status ${decision.routingStatus}`);
    if (decision.rule) lines.push(`by rule: ${decision.rule.name} (${decision.rule.file}:${decision.rule.line})`);
  }
  return lines.join('\n') + '\n';
}
