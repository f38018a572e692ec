/**
 * Go-live impact: every resolvable agent's current Engage state through the rules, against what GC shows for
 * its user now (read in bulk, 100 users a request, as the sidecar reads it at start): how many users would
 * change the moment EXAS starts, grouped by from → to, as the dry-run impact preview shows candidate rules.
 */
import { previewImpact, type LiveAgent } from '../rules/index.ts';
import { gcStateReader } from '../sync/gc-adapters.ts';
import type { GcUserState, PresenceName, RoutingStatus } from '../vocabulary.ts';
import type { Check } from './checklist.ts';
import { describeError, plural, type DoctorContext } from './context.ts';

const SAMPLE = 5;

const show = (state: GcUserState | null): string => (state === null ? 'unknown' : `${state.presence}/${state.routingStatus}`);

export async function checkImpact(context: DoctorContext): Promise<Check[]> {
  const { program, users, observations, catalog } = context;
  if (program === null || users === null || observations === null) {
    return [{ id: 'impact', group: 'impact', status: 'skip', summary: 'go-live impact not computed: needs the rules, the resolved users and Stat Server states' }];
  }
  const withState = [...users.entries()].filter(([agentId]) => observations.get(agentId)?.kind === 'snapshot');
  let current: Map<string, { presence?: string; routingStatus?: string }>;
  try {
    current = await gcStateReader(context.clients, () => catalog ?? undefined).read(
      withState.map(([, userId]) => userId),
      context.options.signal,
    );
  } catch (error) {
    return [{ id: 'impact', group: 'impact', status: 'fail', summary: `GC users' current state unreadable: ${describeError(error)}`, remedy: 'fix the GC access above first' }];
  }
  const agents: LiveAgent[] = [];
  for (const [agentId, userId] of withState) {
    const observation = observations.get(agentId);
    if (observation?.kind !== 'snapshot') continue;
    const now = current.get(userId);
    const known = now?.presence !== undefined && now.routingStatus !== undefined;
    agents.push({
      agentId,
      state: observation.snapshot.state,
      callType: observation.snapshot.callType,
      reason: observation.snapshot.reason,
      current: known ? { presence: now.presence as PresenceName, routingStatus: now.routingStatus as RoutingStatus } : undefined,
    });
  }
  const preview = previewImpact(program, agents, SAMPLE);
  const details = [
    ...preview.transitions.map((transition) => `${show(transition.from)} → ${show(transition.to)}: ${transition.count}`),
    ...preview.sample.map((change) => `e.g. agent ${change.agentId}: ${show(change.from)} → ${show(change.to)}${change.rule ? ` (rule '${change.rule.name}', line ${change.rule.line})` : ''}`),
  ];
  const notes: string[] = [];
  if (preview.unmatched > 0) notes.push(`${plural(preview.unmatched, 'agent')} match no rule (left as they are)`);
  if (preview.keepWithoutPresence > 0) notes.push(`${plural(preview.keepWithoutPresence, 'agent')} would keep a presence GC does not show (fallback ${context.config.writer.keepFallback})`);
  const skipped = users.size - withState.length;
  if (skipped > 0) notes.push(`${plural(skipped, 'resolvable agent')} without a Stat Server state not counted`);
  return [
    {
      id: 'impact',
      group: 'impact',
      status: preview.unmatched > 0 ? 'warn' : 'pass',
      summary: `${plural(preview.changing, 'user')} would change when EXAS starts; ${preview.unchanged} already show what the rules say (${plural(preview.agents, 'agent')} compared)`,
      details: [...details, ...notes],
      ...(preview.unmatched > 0 ? { remedy: `add rules for the unmatched states to ${program.file} (exas check lists the gaps)` } : {}),
      data: { ...preview },
    },
  ];
}
