/**
 * The org's presences against the rules: every presence the rules can output (and the `keep` fallback) is a
 * system presence or an active custom label of the org; and EXAS's presence source exists (inject mode), or
 * would be created by the sidecar at its first start (a note, not a failure), or is created now under `--fix`.
 */
import { buildPresenceLookup, validatePresencesAgainstCatalog, type GcPresenceDefinition } from '../gc/index.ts';
import type { Check } from './checklist.ts';
import { describeError, plural, type DoctorContext } from './context.ts';

/** Labels of deactivated definitions (a presence that exists but is switched off gets its own remedy). */
function deactivatedLabels(definitions: readonly GcPresenceDefinition[]): Set<string> {
  const out = new Set<string>();
  for (const definition of definitions) {
    if (definition.deactivated !== true) continue;
    for (const label of Object.values(definition.languageLabels ?? {})) out.add(label);
    if (definition.name !== undefined) out.add(definition.name);
  }
  return out;
}

/** Presence definitions the rules need, checked against the catalog of the first client's org. */
export async function checkPresences(context: DoctorContext): Promise<Check[]> {
  const client = context.clients[0];
  if (client === undefined) return [];
  let definitions: GcPresenceDefinition[];
  try {
    definitions = await client.getPresenceDefinitions({ includeDeactivated: true });
  } catch (error) {
    return [{ id: 'gc.presences', group: 'gc', status: 'fail', summary: `presence catalog unreadable: ${describeError(error)}`, remedy: 'fix the GC access above first' }];
  }
  const lookup = buildPresenceLookup(definitions);
  context.catalog = lookup;
  const program = context.program;
  if (program === null) {
    return [{ id: 'gc.presences', group: 'gc', status: 'skip', summary: 'presences the rules need: not checked (the rules did not load)' }];
  }
  const needed = [...new Set([...program.presences, context.config.writer.keepFallback])];
  const errors = validatePresencesAgainstCatalog(needed, lookup);
  const deactivated = deactivatedLabels(definitions);
  if (errors.length === 0) {
    return [
      {
        id: 'gc.presences',
        group: 'gc',
        status: 'pass',
        summary: `all ${plural(needed.length, 'presence')} the rules can set exist and are active in the org`,
        data: { needed },
      },
    ];
  }
  return [
    {
      id: 'gc.presences',
      group: 'gc',
      status: 'fail',
      summary: `${plural(errors.length, 'presence')} the rules can set ${errors.length === 1 ? 'is' : 'are'} not in the org: ${errors.map((error) => `'${error.presence}'`).join(', ')}`,
      details: errors.map((error) =>
        deactivated.has(error.presence) ? `'${error.presence}' exists but is deactivated` : error.message.replace(/; known: .*$/, ''),
      ),
      remedy: `create ${errors.length === 1 ? 'it' : 'them'} in GC (Admin > User Management > Presences) or change ${program.file}`,
      data: { needed, missing: errors.map((error) => error.presence), deactivated: errors.map((error) => error.presence).filter((name) => deactivated.has(name)) },
    },
  ];
}

/** EXAS's presence source (inject mode only). */
export async function checkPresenceSource(context: DoctorContext): Promise<Check[]> {
  const client = context.clients[0];
  if (client === undefined || context.config.writer.mode !== 'inject') return [];
  const name = context.config.gc.presenceSourceName;
  try {
    const found = (await client.getPresenceSources()).find((source) => source.name === name && source.deactivated !== true);
    if (found !== undefined) {
      context.sourceId = found.id;
      return [{ id: 'gc.presence-source', group: 'gc', status: 'pass', summary: `presence source '${name}' exists (${found.id})`, data: { sourceId: found.id } }];
    }
    if (context.options.fix) {
      const created = await client.ensurePresenceSource(name, { description: 'Engage agent state, mirrored by EXAS' });
      context.sourceId = created.id;
      return [{ id: 'gc.presence-source', group: 'gc', status: 'pass', summary: `presence source '${name}' created (${created.id})`, data: { sourceId: created.id, created: true } }];
    }
    return [
      {
        id: 'gc.presence-source',
        group: 'gc',
        status: 'warn',
        summary: `presence source '${name}' does not exist yet: the sidecar creates it at its first start`,
        remedy: 'nothing to do (or run exas doctor --fix to create it now)',
        data: { sourceId: null },
      },
    ];
  } catch (error) {
    return [{ id: 'gc.presence-source', group: 'gc', status: 'fail', summary: `presence source '${name}': ${describeError(error)}`, remedy: 'fix the GC access above first' }];
  }
}
