/**
 * Small adapters between the GC stage (`src/gc/`) and the connector: write targets that exist before GC has
 * answered (the catalog and presence source are set up in the background), a bulk reader of users' current
 * state, and the GC numbers `/metrics` reports.
 */
import {
  createGcWriteTarget,
  fromWireRoutingStatus,
  GcNetworkError,
  listUserPages,
  NOT_SET_UP,
  normalizeSystemPresence,
  toRestRoutingStatus,
  type GcClient,
  type GcUser,
  type GcWriteTarget,
  type IdentityResolver,
  type PresenceLookup,
  type WriteOutcome,
} from '../gc/index.ts';
import { addRetryCounts, zeroRetryCounts } from '../gc/retry-cause.ts';
import type { GcStatusClass, MetricsSnapshot } from '../metrics/index.ts';
import type { GcUserState, PresenceName, RoutingStatus } from '../vocabulary.ts';
import type { GcStateReader } from './connector/index.ts';
import type { ObservedGcState, PagedIdentityLookup, PagedStateReader } from './cold-resync.ts';

/** One GC request the live writer would send for a dry-run result (never sent by the preview). */
export interface GcRequestPreview {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  /** Path under the GC API base, e.g. `/api/v2/events/users/presence`. */
  readonly path: string;
  /** The JSON body as it would be sent. */
  readonly body: unknown;
}

/** What a write target needs once GC answered: the catalog and (inject mode) EXAS's presence source id. */
export interface GcWriteSetup {
  readonly catalog: PresenceLookup;
  readonly sourceId: string | undefined;
}

/**
 * A write target for `client` usable before GC is reachable: until `setup()` returns a value, every write
 * fails as a retryable network error, so the writer backs off and keeps the desired states coalesced.
 */
export function deferredWriteTarget(
  client: GcClient,
  options: { mode: 'inject' | 'per-user'; batchSize: number; setup: () => GcWriteSetup | undefined },
): GcWriteTarget {
  let real: GcWriteTarget | undefined;
  const target = (): GcWriteTarget => {
    if (real !== undefined) return real;
    const setup = options.setup();
    if (setup === undefined) throw new GcNetworkError('GC is not set up yet (presence catalog / source)', { code: NOT_SET_UP });
    real = createGcWriteTarget(client, {
      mode: options.mode,
      batchSize: options.batchSize,
      catalog: setup.catalog,
      ...(setup.sourceId === undefined ? {} : { sourceId: setup.sourceId }),
      name: client.name,
    });
    return real;
  };
  const settable: ReadonlySet<RoutingStatus> = new Set<RoutingStatus>(['OffQueue', 'Idle']);
  return {
    name: client.name,
    budget: client.budget,
    maxBatchSize: options.mode === 'inject' ? options.batchSize : 1,
    canSetRoutingStatus: (status) => options.mode === 'inject' || settable.has(status),
    writePresence: (items: ReadonlyArray<{ userId: string; presence: PresenceName }>, signal?: AbortSignal): Promise<WriteOutcome[]> =>
      target().writePresence(items, signal),
    writeRoutingStatus: (items: ReadonlyArray<{ userId: string; routingStatus: RoutingStatus }>, signal?: AbortSignal): Promise<WriteOutcome[]> =>
      target().writeRoutingStatus(items, signal),
  };
}

/** What a read says a user shows, with the source of the shown presence where GC names it. */
export interface ShownPresenceReading {
  readonly presence?: string;
  readonly sourceId?: string;
  readonly primary?: boolean;
}

/** A read user's shown presence by name (vocabulary name or custom label) and its source, as far as GC says them. */
function shownPresenceOf(user: GcUser, lookup: PresenceLookup | undefined): ShownPresenceReading {
  const definitionId = user.presence?.presenceDefinition?.id;
  const presence = (definitionId === undefined ? undefined : lookup?.nameOf(definitionId)) ?? normalizeSystemPresence(user.presence?.presenceDefinition?.systemPresence);
  return {
    ...(presence === undefined ? {} : { presence }),
    ...(typeof user.presence?.sourceId === 'string' ? { sourceId: user.presence.sourceId } : {}),
    ...(typeof user.presence?.primary === 'boolean' ? { primary: user.presence.primary } : {}),
  };
}

/**
 * Reads what users show (`GET /api/v2/users?id=…&expand=presence`), 100 users a request, spread over the clients
 * in turn: the primary-source keeper's check of users it has no evidence for.
 */
export function gcShownReader(clients: readonly GcClient[], catalog: () => PresenceLookup | undefined): (userIds: readonly string[], signal?: AbortSignal) => Promise<Map<string, ShownPresenceReading>> {
  let turn = 0;
  return async (userIds, signal) => {
    const client = clients[turn++ % clients.length] as GcClient;
    const users = await client.getUsersByIds(userIds, { expand: ['presence'], chunkSize: 100, ...(signal ? { signal } : {}) });
    const lookup = catalog();
    return new Map(users.map((user) => [user.id, shownPresenceOf(user, lookup)]));
  };
}

/**
 * Reads users' presence and routing status with `GET /api/v2/users?id=…&expand=presence&expand=routingStatus`,
 * 100 users a request (about N / 100 requests for N users), spread over the clients. `onShown` hears what each
 * read said of the users' shown presence and its source (the primary-source keeper's free evidence).
 */
export function gcStateReader(
  clients: readonly GcClient[],
  catalog: () => PresenceLookup | undefined,
  onShown?: (shown: ReadonlyMap<string, ShownPresenceReading>) => void,
): GcStateReader {
  return {
    async read(userIds, signal) {
      const out = new Map<string, { presence?: string; routingStatus?: string }>();
      const chunks: string[][] = [];
      for (let index = 0; index < userIds.length; index += 100) chunks.push(userIds.slice(index, index + 100));
      const lookup = catalog();
      await Promise.all(
        clients.map(async (client, clientIndex) => {
          for (let index = clientIndex; index < chunks.length; index += clients.length) {
            const users = await client.getUsersByIds(chunks[index] as string[], { expand: ['presence', 'routingStatus'], chunkSize: 100, ...(signal ? { signal } : {}) });
            const shown = onShown === undefined ? undefined : new Map<string, ShownPresenceReading>();
            for (const user of users) {
              const reading = shownPresenceOf(user, lookup);
              shown?.set(user.id, reading);
              const presence = reading.presence;
              const routingStatus = fromWireRoutingStatus(user.routingStatus?.status);
              out.set(user.id, {
                ...(presence === undefined ? {} : { presence }),
                ...(routingStatus === undefined ? {} : { routingStatus }),
              });
            }
            if (shown !== undefined) onShown?.(shown);
          }
        }),
      );
      return out;
    },
  };
}

/** The expansions a listing page needs to carry users' state. */
export const STATE_EXPANSIONS = ['presence', 'routingStatus'] as const;

/**
 * What listed users show: users with both expansions go to `states`, the others (GC fills expansions best
 * effort) to `unread`, to be read by id. `onShown` hears the shown presences (the primary-source keeper's evidence).
 */
export function pageStates(
  users: readonly GcUser[],
  lookup: PresenceLookup | undefined,
  onShown?: (shown: ReadonlyMap<string, ShownPresenceReading>) => void,
): { states: Map<string, ObservedGcState>; unread: string[] } {
  const states = new Map<string, ObservedGcState>();
  const unread: string[] = [];
  const shown = onShown === undefined ? undefined : new Map<string, ShownPresenceReading>();
  for (const user of users) {
    if (user.presence?.presenceDefinition === undefined || user.routingStatus?.status === undefined) {
      unread.push(user.id);
      continue;
    }
    const reading = shownPresenceOf(user, lookup);
    shown?.set(user.id, reading);
    const routingStatus = fromWireRoutingStatus(user.routingStatus.status);
    states.set(user.id, {
      ...(reading.presence === undefined ? {} : { presence: reading.presence }),
      ...(routingStatus === undefined ? {} : { routingStatus }),
    });
  }
  if (shown !== undefined && shown.size > 0) onShown?.(shown);
  return { states, unread };
}

/**
 * Identity resolution page by page with the users' state (the resolver must list with `STATE_EXPANSIONS`; in
 * `lookup` mode its one page carries no state, so every user is read by id).
 */
export function gcPagedIdentity(
  resolver: IdentityResolver,
  catalog: () => PresenceLookup | undefined,
  onShown?: (shown: ReadonlyMap<string, ShownPresenceReading>) => void,
): PagedIdentityLookup {
  return (agentIds, onPage, signal) =>
    resolver.resolve(agentIds, signal, (page) => {
      const { states, unread } = pageStates(page.users, catalog(), onShown);
      // Lookup answers name no user objects: all their users are unread.
      const listed = new Set(page.users.map((user) => user.id));
      for (const userId of page.resolved.values()) if (!listed.has(userId)) unread.push(userId);
      onPage({ resolved: page.resolved, states, unread, requestedAt: page.requestedAt });
    });
}

/** Every synced user's state from the user listing (`STATE_EXPANSIONS`), 500 a page, through the first client. */
export function gcPagedState(
  clients: readonly GcClient[],
  catalog: () => PresenceLookup | undefined,
  onShown?: (shown: ReadonlyMap<string, ShownPresenceReading>) => void,
): PagedStateReader {
  let turn = 0;
  return async (onPage, keep, signal) => {
    const client = clients[turn++ % clients.length] as GcClient;
    await listUserPages(client, { expand: STATE_EXPANSIONS, ...(signal ? { signal } : {}) }, (users, requestedAt) => {
      const { states, unread } = pageStates(users.filter((user) => keep(user.id)), catalog(), onShown);
      onPage({ states, unread, requestedAt });
    });
  };
}

/** The GC part of the metrics snapshot, from the clients' own counters and budgets. */
export function gcMetrics(clients: readonly GcClient[]): MetricsSnapshot['gc'] {
  const requests: Array<{ endpoint: string; statusClass: GcStatusClass; count: number }> = [];
  let rateLimited = 0;
  const retries = { read: zeroRetryCounts(), write: zeroRetryCounts() };
  const merged = new Map<string, Record<string, number>>();
  for (const client of clients) {
    const stats = client.stats();
    rateLimited += stats.rateLimited;
    addRetryCounts(retries.read, stats.retriesBy.read);
    addRetryCounts(retries.write, stats.retriesBy.write);
    for (const [endpoint, counts] of Object.entries(stats.byEndpoint)) {
      const into = merged.get(endpoint) ?? {};
      for (const statusClass of ['2xx', '4xx', '5xx', 'network'] as const) into[statusClass] = (into[statusClass] ?? 0) + counts[statusClass];
      merged.set(endpoint, into);
    }
  }
  for (const [endpoint, counts] of merged) {
    for (const [statusClass, count] of Object.entries(counts)) {
      if (count > 0) requests.push({ endpoint, statusClass: statusClass as GcStatusClass, count });
    }
  }
  const budgets = clients.map((client) => ({ client: client.name, available: client.budget.available(), sent: client.budget.sentInWindow(), limit: client.budget.limit }));
  return { requests, rateLimited, retries, budgets };
}

/**
 * The GC requests the writer would send for changes (impact preview; nothing is sent): only the parts that
 * differ from what GC acknowledged, in the configured write mode's shapes. Ids are placeholders where the
 * catalog is not loaded yet.
 */
export function previewWrites(
  mode: 'inject' | 'per-user',
  setup: () => GcWriteSetup | undefined,
  now: () => number = Date.now,
): (changes: ReadonlyArray<{ userId: string; from: GcUserState | undefined; to: GcUserState }>) => GcRequestPreview[] {
  return (changes) => {
    const current = setup();
    const definitionId = (name: string): string => current?.catalog.tryResolve(name) ?? `<presence definition of ${name}>`;
    const sourceId = current?.sourceId ?? '<EXAS presence source id>';
    const eventDateTime = new Date(now()).toISOString();
    const presenceChanges = changes.filter((change) => change.from?.presence !== change.to.presence);
    const routingChanges = changes.filter((change) => change.from?.routingStatus !== change.to.routingStatus);
    const out: GcRequestPreview[] = [];
    if (mode === 'inject') {
      if (presenceChanges.length > 0) {
        out.push({
          method: 'POST',
          path: '/api/v2/events/users/presence',
          body: {
            userPresenceEvents: presenceChanges.map((change) => ({
              eventId: '<generated>',
              eventDateTime,
              userId: change.userId,
              sourceId,
              presenceDefinitionId: definitionId(change.to.presence),
            })),
          },
        });
      }
      if (routingChanges.length > 0) {
        out.push({
          method: 'POST',
          path: '/api/v2/events/users/routingstatus',
          body: {
            userRoutingStatusEvents: routingChanges.map((change) => ({
              eventId: '<generated>',
              eventDateTime,
              agentId: change.userId,
              status: change.to.routingStatus,
              sourceId,
            })),
          },
        });
      }
      return out;
    }
    for (const change of presenceChanges) {
      out.push({ method: 'PATCH', path: `/api/v2/users/${change.userId}/presences/purecloud`, body: { presenceDefinition: { id: definitionId(change.to.presence) } } });
    }
    for (const change of routingChanges) {
      // GC lets a client PUT only OffQueue / Idle; the writer skips the others in this mode.
      if (change.to.routingStatus !== 'OffQueue' && change.to.routingStatus !== 'Idle') continue;
      out.push({ method: 'PUT', path: `/api/v2/users/${change.userId}/routingstatus`, body: { status: toRestRoutingStatus(change.to.routingStatus) } });
    }
    return out;
  };
}
