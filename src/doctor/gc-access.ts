/**
 * GC access per OAuth client: the token works, and the client holds every permission EXAS needs under the
 * config. Each permission is found by probing the endpoint EXAS uses, never by guessing from a role: a 403
 * means missing, and GC's 403 body names the missing permissions. Probes change nothing: reads are reads, and
 * every write probe sends a body GC must refuse (empty batch, no source id) or targets the nil user id, so an
 * allowed probe answers 2xx/400/404 and a forbidden one 403.
 */
import type { ExasConfig } from '../config/index.ts';
import { GcAuthError, GcError, GcNetworkError, GcPermissionError, missingPermissionsOf, type GcClient } from '../gc/index.ts';
import type { Check } from './checklist.ts';
import { describeError, plural, type DoctorContext } from './context.ts';

/** A user id no org has: write probes aim at it so that nothing real can change. */
export const NIL_USER_ID = '00000000-0000-0000-0000-000000000000';

/** One endpoint EXAS uses, the permission GC documents for it, and a harmless request that exercises it. */
export interface PermissionProbe {
  /** What EXAS uses the endpoint for. */
  readonly use: string;
  /** `METHOD /path` as GC documents it. */
  readonly endpoint: string;
  /** The permission GC's docs name, if any (the 403 body's names win when it gives them). */
  readonly permission?: string;
  /** Whether the config makes EXAS call this endpoint. */
  needed(config: ExasConfig, fix: boolean): boolean;
  send(client: GcClient, config: ExasConfig): Promise<unknown>;
}

const inject = (config: ExasConfig): boolean => config.writer.mode === 'inject';
const listsUsers = (config: ExasConfig): boolean =>
  config.scope.source === 'gc' || config.identity.key === 'employeeId' || (config.identity.key !== 'externalId' && config.identity.mode !== 'lookup');

/** Every endpoint EXAS calls, in the order the sidecar first needs them. */
export const PERMISSION_PROBES: readonly PermissionProbe[] = [
  {
    use: 'load the presence catalog',
    endpoint: 'GET /api/v2/presence/definitions',
    permission: 'presence:presenceDefinition:view',
    needed: () => true,
    send: (client) => client.getPresenceDefinitions(),
  },
  {
    use: 'find its presence source',
    endpoint: 'GET /api/v2/presence/sources',
    permission: 'presence:source:view',
    needed: inject,
    send: (client) => client.getPresenceSources(),
  },
  {
    use: 'create its presence source (first start)',
    endpoint: 'POST /api/v2/presence/sources',
    permission: 'presence:source:add',
    needed: inject,
    // No name: GC refuses it (400) once the permission is checked; nothing is created.
    send: (client) => client.request('POST', 'POST /api/v2/presence/sources', '/api/v2/presence/sources', { body: {} }),
  },
  {
    use: 'resolve agents by listing users',
    endpoint: 'GET /api/v2/users',
    needed: listsUsers,
    send: (client) => client.listUsers({ pageSize: 1, pageNumber: 1 }),
  },
  {
    use: 'resolve agents by external id',
    endpoint: 'GET /api/v2/users/externalid/{authorityName}/{externalKey}',
    needed: (config) => config.identity.key === 'externalId',
    send: (client, config) => client.getUserByExternalId(config.identity.authority, NIL_USER_ID),
  },
  {
    use: 'resolve agents by username / email',
    endpoint: 'POST /api/v2/users/search',
    permission: 'directory:user:view',
    needed: (config) => (config.identity.key === 'username' || config.identity.key === 'email') && config.identity.mode === 'lookup',
    send: (client, config) => client.searchUsersExact(config.identity.key === 'email' ? 'email' : 'username', [NIL_USER_ID]),
  },
  {
    use: "read users' presence and routing status",
    endpoint: 'GET /api/v2/users?id=…&expand=presence,routingStatus',
    needed: () => true,
    send: (client) => client.getUsersByIds([NIL_USER_ID], { expand: ['presence', 'routingStatus'] }),
  },
  {
    use: 'check the primary presence source',
    endpoint: 'GET /api/v2/presence/users/{userId}/primarysource',
    permission: 'presence:userPrimarySource:view',
    needed: (config, fix) => inject(config) && (config.gc.primarySource !== 'off' || fix),
    send: (client) => client.getPrimarySource(NIL_USER_ID),
  },
  {
    use: "make EXAS's source primary",
    endpoint: 'PUT /api/v2/presence/users/{userId}/primarysource',
    permission: 'presence:userPrimarySource:edit',
    needed: (config, fix) => inject(config) && (config.gc.primarySource === 'fix' || fix),
    send: (client) => client.request('PUT', 'PUT /api/v2/presence/users/{userId}/primarysource', `/api/v2/presence/users/${NIL_USER_ID}/primarysource`, { body: {} }),
  },
  {
    use: 'write presence (inject)',
    endpoint: 'POST /api/v2/events/users/presence',
    permission: 'presence:userPresence:inject',
    needed: inject,
    send: (client) => client.request('POST', 'POST /api/v2/events/users/presence', '/api/v2/events/users/presence', { body: { userPresenceEvents: [] } }),
  },
  {
    use: 'write routing status (inject)',
    endpoint: 'POST /api/v2/events/users/routingstatus',
    permission: 'routing:routingstatus:inject',
    needed: inject,
    send: (client) =>
      client.request('POST', 'POST /api/v2/events/users/routingstatus', '/api/v2/events/users/routingstatus', { body: { userRoutingStatusEvents: [] } }),
  },
  {
    use: 'write presence (per-user)',
    endpoint: 'PATCH /api/v2/users/{userId}/presences/purecloud',
    permission: 'presence:userPresence:edit',
    needed: (config) => !inject(config),
    send: (client) =>
      client.request('PATCH', 'PATCH /api/v2/users/{userId}/presences/purecloud', `/api/v2/users/${NIL_USER_ID}/presences/purecloud`, { body: {} }),
  },
  {
    use: 'write routing status (per-user)',
    endpoint: 'PUT /api/v2/users/{userId}/routingstatus',
    needed: (config) => !inject(config),
    send: (client) => client.request('PUT', 'PUT /api/v2/users/{userId}/routingstatus', `/api/v2/users/${NIL_USER_ID}/routingstatus`, { body: {} }),
  },
];

export interface ProbeOutcome {
  readonly probe: PermissionProbe;
  /** `missing`: 403; `granted`: anything else GC answered; `unknown`: no answer (network, 5xx, 401). */
  readonly result: 'granted' | 'missing' | 'unknown';
  /** Missing permissions as the 403 named them (or the documented one when it named none). */
  readonly missing: readonly string[];
  /** GC's 403 code: `missing.any.permissions` means any one of `missing` is enough. */
  readonly code?: string;
  readonly error?: string;
}

/** Sends one probe and classifies GC's answer. */
export async function runProbe(client: GcClient, config: ExasConfig, probe: PermissionProbe): Promise<ProbeOutcome> {
  try {
    await probe.send(client, config);
    return { probe, result: 'granted', missing: [] };
  } catch (error) {
    if (error instanceof GcPermissionError) {
      const named = missingPermissionsOf(error);
      const missing = named.length > 0 ? named : [probe.permission ?? `a permission GC did not name (${error.code || '403'})`];
      return { probe, result: 'missing', missing, code: error.code, error: error.message };
    }
    if (error instanceof GcAuthError || error instanceof GcNetworkError || (error instanceof GcError && error.status >= 500) || !(error instanceof GcError)) {
      return { probe, result: 'unknown', missing: [], error: describeError(error) };
    }
    // 400 / 404 / 409 / 422: GC looked at the request after checking the permission.
    return { probe, result: 'granted', missing: [] };
  }
}

/** Token and permission checks of every client. */
export async function checkGcAccess(context: DoctorContext): Promise<Check[]> {
  const checks: Check[] = [];
  const probes = PERMISSION_PROBES.filter((probe) => probe.needed(context.config, context.options.fix));
  for (const [index, client] of context.clients.entries()) {
    const name = `client ${index} (${context.config.gc.clients[index]?.clientId ?? '?'})`;
    const [first, ...rest] = probes;
    if (first === undefined) continue;
    const firstOutcome = await runProbe(client, context.config, first);
    if (firstOutcome.result === 'unknown') {
      const auth = firstOutcome.error !== undefined && /oauth\/token|credentials|401/.test(firstOutcome.error);
      checks.push({
        id: `gc.token.${index}`,
        group: 'gc',
        status: 'fail',
        summary: `${name}: ${auth ? 'token refused' : 'GC did not answer'}: ${firstOutcome.error ?? 'no answer'}`,
        remedy: auth
          ? 'check gc.clients[].clientId / clientSecret and that the OAuth client uses the client-credentials grant'
          : 'check gc.region / gc.baseUrl and that this host can reach GC (proxy, firewall)',
      });
      continue;
    }
    checks.push({ id: `gc.token.${index}`, group: 'gc', status: 'pass', summary: `${name}: token works` });
    const outcomes = [firstOutcome];
    for (const probe of rest) outcomes.push(await runProbe(client, context.config, probe));
    checks.push(permissionsCheck(index, name, outcomes));
  }
  return checks;
}

function permissionsCheck(index: number, name: string, outcomes: readonly ProbeOutcome[]): Check {
  const missing = outcomes.filter((outcome) => outcome.result === 'missing');
  const unknown = outcomes.filter((outcome) => outcome.result === 'unknown');
  const names = [...new Set(missing.flatMap((outcome) => outcome.missing))];
  const data = {
    client: index,
    probed: outcomes.map((outcome) => ({ endpoint: outcome.probe.endpoint, use: outcome.probe.use, result: outcome.result, missing: outcome.missing })),
    missing: names,
  };
  if (missing.length > 0) {
    return {
      id: `gc.permissions.${index}`,
      group: 'gc',
      status: 'fail',
      summary: `${name}: missing ${plural(names.length, 'permission')}: ${names.join(', ')}`,
      details: missing.map(
        (outcome) => `${outcome.probe.endpoint} (${outcome.probe.use}): 403, needs ${outcome.missing.join(outcome.code === 'missing.any.permissions' ? ' or ' : ' and ')}`,
      ),
      remedy: `add ${names.join(', ')} to a role of the OAuth client (Admin > Roles/Permissions; see docs/go-live.md)`,
      data,
    };
  }
  if (unknown.length > 0) {
    return {
      id: `gc.permissions.${index}`,
      group: 'gc',
      status: 'fail',
      summary: `${name}: ${plural(unknown.length, 'endpoint')} could not be probed`,
      details: unknown.map((outcome) => `${outcome.probe.endpoint}: ${outcome.error ?? 'no answer'}`),
      remedy: 'run the doctor again; if it persists, GC or the network between is failing',
      data,
    };
  }
  return {
    id: `gc.permissions.${index}`,
    group: 'gc',
    status: 'pass',
    summary: `${name}: all ${outcomes.length} endpoints EXAS uses are permitted`,
    data,
  };
}
