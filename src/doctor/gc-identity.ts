/**
 * Scope and identity: which Engage agents EXAS would sync (the config's scope, sampled with `--sample`), and
 * how many of them resolve to a GC user the way the sidecar resolves them, with examples of those that do not
 * and why. The doctor keeps no identity cache: it neither reads nor writes the sidecar's.
 */
import { createIdentityResolver, listUsersByKey, type IdentityKey } from '../gc/index.ts';
import { fileScope } from '../sync/scope.ts';
import type { Check } from './checklist.ts';
import { describeError, plural, type DoctorContext } from './context.ts';

const EXAMPLES = 5;

/** Why an agent has no GC user, in the words of the identity key. */
function whyUnresolved(agentId: string, key: IdentityKey, authority: string): string {
  switch (key) {
    case 'externalId':
      return `no GC user has external id '${agentId}' under authority '${authority}'`;
    case 'employeeId':
      return `no active GC user has employee id '${agentId}' (employerInfo.employeeId)`;
    default:
      return `no active GC user has ${key} '${agentId}'`;
  }
}

/** Reads the scope and resolves it; sets `context.scope` and `context.users`. */
export async function checkScopeAndIdentity(context: DoctorContext): Promise<Check[]> {
  const client = context.clients[0];
  if (client === undefined) return [];
  const { config } = context;
  const key = config.identity.key;
  let scope: string[];
  let users: Map<string, string>;
  try {
    if (config.scope.source === 'gc') {
      if (key === 'externalId') throw new Error("scope.source gc needs identity.key username, email or employeeId (GC's user listing has no external ids)");
      // Every listed user carries the key: the scope is the users, so each agent resolves by construction.
      const byKey = await listUsersByKey(client, key, context.options.signal ? { signal: context.options.signal } : {});
      scope = sample([...byKey.keys()], context.options.sample);
      users = new Map(scope.map((agentId) => [agentId, byKey.get(agentId) as string]));
    } else {
      const all = config.scope.source === 'list' ? [...new Set(config.scope.agents)] : await fileScope(config.scope.file)();
      scope = sample(all, context.options.sample);
      const resolver = createIdentityResolver(client, {
        key,
        authority: config.identity.authority,
        ...(config.identity.mode === 'auto' ? {} : { mode: config.identity.mode }),
      });
      users = await resolver.resolve(scope, context.options.signal);
    }
  } catch (error) {
    return [
      {
        id: 'gc.identity',
        group: 'gc',
        status: 'fail',
        summary: `scope / identity: ${describeError(error)}`,
        remedy: config.scope.source === 'file' ? `check scope.file (${config.scope.file})` : 'fix the GC access above first',
      },
    ];
  }
  context.scope = scope;
  context.users = users;
  const sampled = context.options.sample !== undefined ? ` (sample of ${scope.length})` : '';
  const unresolved = scope.filter((agentId) => !users.has(agentId));
  const data = { scope: scope.length, resolved: users.size, unresolved: unresolved.length, examples: unresolved.slice(0, EXAMPLES) };
  if (scope.length === 0) {
    return [{ id: 'gc.identity', group: 'gc', status: 'fail', summary: `the scope (${config.scope.source}) names no agents`, remedy: 'set scope.agents, scope.file or scope.source', data }];
  }
  if (unresolved.length === 0) {
    return [{ id: 'gc.identity', group: 'gc', status: 'pass', summary: `all ${plural(scope.length, 'agent')} in scope${sampled} resolve to GC users by ${key}`, data }];
  }
  return [
    {
      id: 'gc.identity',
      group: 'gc',
      status: 'fail',
      summary: `${users.size} of ${plural(scope.length, 'agent')} in scope${sampled} resolve to GC users by ${key}; ${unresolved.length} do not`,
      details: [
        ...unresolved.slice(0, EXAMPLES).map((agentId) => `${agentId}: ${whyUnresolved(agentId, key, config.identity.authority)}`),
        ...(unresolved.length > EXAMPLES ? [`… and ${unresolved.length - EXAMPLES} more`] : []),
      ],
      remedy:
        key === 'externalId'
          ? `give those GC users the external id (authority '${config.identity.authority}'), or take the agents out of scope`
          : `set ${key} on those GC users (or fix identity.key), or take the agents out of scope`,
      data,
    },
  ];
}

/** The first `size` agents (all when `size` is undefined). */
export function sample<T>(items: readonly T[], size: number | undefined): T[] {
  return size === undefined ? [...items] : items.slice(0, size);
}
