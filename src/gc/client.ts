/**
 * The typed Genesys Cloud client: one set of client credentials, one request budget. Every call except the
 * token request takes a slot from `budget` first; a 401 drops the token and tries once more with a new one; a
 * 429 pauses the budget for `Retry-After`; reads (GET/HEAD) retry transient failures a few times, writes
 * never do (the writer owns write retries and coalescing). Vocabulary → wire conversion happens in these
 * methods: callers pass `Idle`, never `IDLE`.
 */
import { createLogger } from '../log.ts';
import type { RoutingStatus } from '../vocabulary.ts';
import { createTokenProvider, type TokenProvider } from './auth.ts';
import { createSlidingWindowBudget } from './budget.ts';
import { retryCauseOf, zeroRetryCounts, type GcRetryCounts } from './retry-cause.ts';
import { errorFromResponse, GcAuthError, GcConflictError, GcError, GcNetworkError, GcPermissionError, GcValidationError, isRetryable, RateLimitedError } from './errors.ts';
import type { PermissionMonitor } from './permissions.ts';
import type { RequestBudget } from './ports.ts';
import { resolveEndpoints } from './regions.ts';
import type {
  GcChannel,
  GcChannelTopic,
  GcEventError,
  GcPresenceDefinition,
  GcPresenceSource,
  GcUser,
  GcUserPage,
  GcUserPrimarySource,
  GcWireUserPresence,
  RoutingStatusReading,
  UserPresenceReading,
} from './types.ts';
import { fromWireRoutingStatus, normalizeSystemPresence, toInjectRoutingStatus, toRestRoutingStatus } from './wire.ts';

export interface GcClientOptions {
  /** API base URL (e.g. an emulator's `url`); overrides `region`. */
  baseUrl?: string;
  /** OAuth base URL; defaults to `baseUrl` when that is set, else `https://login.<region>`. */
  loginUrl?: string;
  /** Region host suffix (`mypurecloud.com`, `usw2.pure.cloud`, …) or name (`us_west_2`). Default mypurecloud.com. */
  region?: string;
  clientId: string;
  /** The secret, or a getter read at every token request (a rotated secret takes effect at the next token). */
  clientSecret: string | (() => string);
  /** This client's budget; default a sliding window of `requestsPerMinute`. */
  budget?: RequestBudget;
  /** GC's per-token limit for this client (default 300). Ignored when `budget` is given. */
  requestsPerMinute?: number;
  /** Per-request timeout (default 10 000 ms). */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** How often a GET is retried on 429 / 5xx / network errors (default 2). */
  readRetries?: number;
  /** Longest wait between read retries, including `Retry-After` (default 30 s; longer waits fail the call). */
  maxRetryWaitMs?: number;
  /** A non-secret name for logs and metrics (default: `client-` + the client id's first 8 characters). */
  name?: string;
  /** Told of every 403 (never retried) and every success, per endpoint label; shared by a sidecar's clients. */
  permissions?: PermissionMonitor;
  now?: () => number;
}

/** Plain-number statistics for metrics. */
export interface GcClientStats {
  /** Requests sent (token requests excluded), retries included. */
  requests: number;
  /** Per endpoint label (`POST /api/v2/events/users/presence`): requests and answers by status class. */
  byEndpoint: Record<string, { requests: number; '2xx': number; '4xx': number; '5xx': number; network: number }>;
  byStatusClass: { '2xx': number; '4xx': number; '5xx': number; network: number };
  /** 429 answers received. */
  rateLimited: number;
  /** Requests sent again (after 401, or a retried read). */
  retries: number;
  /** The same by operation (GET/HEAD: read; others: write) and cause. */
  retriesBy: { read: GcRetryCounts; write: GcRetryCounts };
  tokenRequests: number;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | ReadonlyArray<string> | undefined>;
  body?: unknown;
  signal?: AbortSignal;
}

/** An inject presence event in EXAS's terms (eventId and eventDateTime are filled in when absent). */
export interface PresenceEventInput {
  userId: string;
  presenceDefinitionId: string;
  sourceId: string;
  eventId?: string;
  eventDateTime?: string;
  message?: string;
}

export interface RoutingStatusEventInput {
  userId: string;
  routingStatus: RoutingStatus;
  sourceId: string;
  eventId?: string;
  eventDateTime?: string;
}

export type UserSearchField = 'username' | 'email';

export interface GcClient {
  readonly name: string;
  readonly budget: RequestBudget;
  readonly apiBaseUrl: string;
  /** Low-level call: `label` is the path template used for stats, `path` the concrete path. */
  request<T>(method: string, label: string, path: string, options?: RequestOptions): Promise<T>;

  getPresenceDefinitions(options?: { signal?: AbortSignal; includeDeactivated?: boolean }): Promise<GcPresenceDefinition[]>;
  getPresenceSources(signal?: AbortSignal): Promise<GcPresenceSource[]>;
  createPresenceSource(source: { name: string; description?: string }, signal?: AbortSignal): Promise<GcPresenceSource>;
  /** Finds an active source named `name`, or creates it. */
  ensurePresenceSource(name: string, options?: { description?: string; signal?: AbortSignal }): Promise<GcPresenceSource>;
  getPrimarySource(userId: string, signal?: AbortSignal): Promise<GcUserPrimarySource>;
  setPrimarySource(userId: string, sourceId: string, signal?: AbortSignal): Promise<GcUserPrimarySource>;

  /** `POST /api/v2/events/users/presence`: returns the per-event errors (empty when all were accepted). */
  injectPresence(events: ReadonlyArray<PresenceEventInput>, signal?: AbortSignal): Promise<GcEventError[]>;
  /** `POST /api/v2/events/users/routingstatus`. */
  injectRoutingStatus(events: ReadonlyArray<RoutingStatusEventInput>, signal?: AbortSignal): Promise<GcEventError[]>;
  /** `PATCH /api/v2/users/{userId}/presences/{sourceId|purecloud}`. */
  patchUserPresence(
    userId: string,
    presenceDefinitionId: string,
    options?: { sourceId?: string; primary?: boolean; message?: string; signal?: AbortSignal },
  ): Promise<UserPresenceReading>;
  /** `PUT /api/v2/users/{userId}/routingstatus` (GC lets clients set only OffQueue / Idle in practice). */
  putUserRoutingStatus(userId: string, routingStatus: RoutingStatus, signal?: AbortSignal): Promise<RoutingStatusReading>;

  getUserPresence(userId: string, options?: { sourceId?: string; signal?: AbortSignal }): Promise<UserPresenceReading>;
  getUserRoutingStatus(userId: string, signal?: AbortSignal): Promise<RoutingStatusReading>;
  /** Presence of many users from one source, 50 ids per request (GC's limit). */
  getUsersPresenceBulk(userIds: ReadonlyArray<string>, options?: { sourceId?: string; signal?: AbortSignal }): Promise<UserPresenceReading[]>;

  getUser(userId: string, options?: { expand?: string[]; signal?: AbortSignal }): Promise<GcUser>;
  /** One page of `GET /api/v2/users`. */
  listUsers(options: { pageSize: number; pageNumber: number; expand?: string[]; signal?: AbortSignal }): Promise<GcUserPage>;
  /** `GET /api/v2/users?id=…` in chunks of `chunkSize` (default 100). */
  getUsersByIds(userIds: ReadonlyArray<string>, options?: { expand?: string[]; chunkSize?: number; signal?: AbortSignal }): Promise<GcUser[]>;
  /** `GET /api/v2/users/externalid/{authority}/{key}`; undefined when no user has it. */
  getUserByExternalId(authority: string, externalKey: string, signal?: AbortSignal): Promise<GcUser | undefined>;
  /** `POST /api/v2/users/search` for exact matches of `values` on `field` (one request per `pageSize` values). */
  searchUsersExact(field: UserSearchField, values: ReadonlyArray<string>, options?: { pageSize?: number; signal?: AbortSignal }): Promise<GcUser[]>;

  createChannel(signal?: AbortSignal): Promise<GcChannel>;
  channelExists(channelId: string, signal?: AbortSignal): Promise<boolean>;
  /** `POST` (add) or `PUT` (replace) `/api/v2/notifications/channels/{channelId}/subscriptions`. */
  subscribe(channelId: string, topics: ReadonlyArray<string>, options?: { replace?: boolean; signal?: AbortSignal }): Promise<GcChannelTopic[]>;
  getSubscriptions(channelId: string, signal?: AbortSignal): Promise<GcChannelTopic[]>;

  stats(): GcClientStats;
}

const log = createLogger('gc.client');

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function buildQuery(query: RequestOptions['query']): string {
  if (query === undefined) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    // GC takes array parameters as repeated keys (`id=a&id=b`), the SDK's collection format `multi`.
    if (Array.isArray(value)) for (const item of value) params.append(key, String(item));
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function toPresenceReading(userId: string, presence: GcWireUserPresence | undefined): UserPresenceReading {
  return {
    userId: presence?.userId ?? userId,
    presenceDefinitionId: presence?.presenceDefinition?.id,
    systemPresence: normalizeSystemPresence(presence?.presenceDefinition?.systemPresence) ?? presence?.presenceDefinition?.systemPresence,
    sourceId: presence?.sourceId ?? presence?.source,
    primary: presence?.primary,
    modifiedDate: presence?.modifiedDate,
  };
}

function toRoutingReading(userId: string, value: { userId?: string; status?: string; startTime?: string } | undefined): RoutingStatusReading {
  return {
    userId: value?.userId ?? userId,
    // GET answers OFF_QUEUE for a user it does not know; an absent status reads the same way.
    routingStatus: fromWireRoutingStatus(value?.status) ?? 'OffQueue',
    startTime: value?.startTime,
  };
}

function chunk<T>(items: ReadonlyArray<T>, size: number): T[][] {
  const out: T[][] = [];
  for (let index = 0; index < items.length; index += size) out.push(items.slice(index, index + size));
  return out;
}

/**
 * Encodes one path segment (an id). A segment of `.` or `..` is refused: URL parsing resolves it (encoded as
 * `%2e` too) and the request would go to another endpoint, e.g. an agent whose external id is `..`.
 */
function enc(segment: string): string {
  if (segment === '.' || segment === '..') {
    throw new GcValidationError(`'${segment}' is not a usable path segment (id)`, { status: 400, code: 'exas.bad.path.segment' });
  }
  return encodeURIComponent(segment);
}

/**
 * Creates a GC client.
 *
 * @example
 * const client = createGcClient({ region: 'usw2.pure.cloud', clientId, clientSecret });
 * const definitions = await client.getPresenceDefinitions();
 */
export function createGcClient(options: GcClientOptions): GcClient {
  if (!options.clientId) throw new Error('clientId: required');
  if (!options.clientSecret) throw new Error('clientSecret: required');
  const endpoints = resolveEndpoints(options);
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? Date.now;
  const readRetries = options.readRetries ?? 2;
  const maxRetryWaitMs = options.maxRetryWaitMs ?? 30_000;
  const budget =
    options.budget ??
    createSlidingWindowBudget({ requestsPerMinute: options.requestsPerMinute ?? 300, now });
  const name = options.name ?? `client-${options.clientId.slice(0, 8)}`;
  const tokens: TokenProvider = createTokenProvider({
    loginBaseUrl: endpoints.loginBaseUrl,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    fetch: doFetch,
    timeoutMs,
    now,
  });

  const counters = {
    requests: 0,
    rateLimited: 0,
    retries: 0,
    retriesBy: { read: zeroRetryCounts(), write: zeroRetryCounts() },
    byEndpoint: {} as GcClientStats['byEndpoint'],
    byStatusClass: { '2xx': 0, '4xx': 0, '5xx': 0, network: 0 },
  };
  const count = (label: string, outcome: '2xx' | '4xx' | '5xx' | 'network'): void => {
    const entry = (counters.byEndpoint[label] ??= { requests: 0, '2xx': 0, '4xx': 0, '5xx': 0, network: 0 });
    entry.requests += 1;
    entry[outcome] += 1;
    counters.byStatusClass[outcome] += 1;
    counters.requests += 1;
  };

  /** One HTTP exchange: budget slot (taken by the caller), bearer, timeout, typed error. */
  const sendOnce = async (method: string, label: string, url: string, token: string, options: RequestOptions, slot: Promise<void>): Promise<Response> => {
    await slot;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    try {
      const response = await doFetch(url, { method, headers, body, signal });
      count(label, response.status >= 500 ? '5xx' : response.status >= 400 ? '4xx' : '2xx');
      return response;
    } catch (error) {
      count(label, 'network');
      if (options.signal?.aborted) throw options.signal.reason;
      const timedOut = timeout.aborted;
      throw new GcNetworkError(`${label}: ${timedOut ? `timed out after ${timeoutMs} ms` : 'network error'}`, {
        endpoint: label,
        timedOut,
        cause: error,
      });
    }
  };

  const request = async <T>(method: string, label: string, path: string, requestOptions: RequestOptions = {}): Promise<T> => {
    const url = `${endpoints.apiBaseUrl}${path}${buildQuery(requestOptions.query)}`;
    const operation = method === 'GET' || method === 'HEAD' ? 'read' : 'write';
    const retriesAllowed = operation === 'read' ? readRetries : 0;
    const retried = (error: unknown): void => {
      counters.retries += 1;
      counters.retriesBy[operation][retryCauseOf(error)] += 1;
    };
    let refreshedOnce = false;
    let attempt = 0;
    for (;;) {
      // The budget slot is taken before anything is awaited, so it is spent the moment the call starts: the
      // writer checks the budget right after starting a request, and a slot taken a few awaits later looked free
      // to it, so it built a second batch that then waited a whole slot in the budget while newer changes
      // missed it (one client at 100 changes/s: 42 % of changes waited one presence batch more, p50 +150 ms).
      const slot = budget.take(requestOptions.signal);
      slot.catch(() => undefined); // awaited in sendOnce; a failed token fetch below leaves it unawaited
      const token = await tokens.token(requestOptions.signal);
      try {
        const response = await sendOnce(method, label, url, token, requestOptions, slot);
        const text = method === 'HEAD' ? '' : await response.text();
        if (response.ok) {
          options.permissions?.allowed(label);
          if (text === '') return undefined as T;
          try {
            return JSON.parse(text) as T;
          } catch (cause) {
            throw new GcValidationError(`${label}: response is not JSON`, { status: response.status, endpoint: label, cause });
          }
        }
        const error = errorFromResponse(response.status, response.headers, text, label, now());
        // A missing permission stays missing until someone grants it: a 403 is never retried (isRetryable says so).
        if (error instanceof GcPermissionError) options.permissions?.denied(label, error);
        if (error instanceof RateLimitedError) {
          counters.rateLimited += 1;
          budget.pauseFor(error.retryAfterSeconds);
        }
        throw error;
      } catch (error) {
        if (error instanceof GcAuthError && !refreshedOnce) {
          // A 401 may mean the token was revoked or expired early: fetch a new one and try once more.
          refreshedOnce = true;
          tokens.invalidate(token);
          retried(error);
          log.info('token refused; fetching a new one', { client: name, endpoint: label, correlationId: error.correlationId });
          continue;
        }
        if (attempt < retriesAllowed && isRetryable(error)) {
          attempt += 1;
          const waitMs =
            error instanceof RateLimitedError
              ? error.retryAfterSeconds * 1000
              : Math.min(maxRetryWaitMs, 250 * 2 ** attempt * (0.5 + Math.random()));
          if (waitMs <= maxRetryWaitMs) {
            retried(error);
            // The budget already waits out a 429 pause; the sleep covers 5xx / network backoff.
            if (!(error instanceof RateLimitedError)) await sleep(waitMs, requestOptions.signal);
            continue;
          }
        }
        if (error instanceof GcError) {
          log.debug('request failed', { client: name, endpoint: label, status: error.status, code: error.code, correlationId: error.correlationId });
        }
        throw error;
      }
    }
  };

  const client: GcClient = {
    name,
    budget,
    apiBaseUrl: endpoints.apiBaseUrl,
    request,

    async getPresenceDefinitions(opts = {}) {
      const listing = await request<{ entities?: GcPresenceDefinition[] }>('GET', 'GET /api/v2/presence/definitions', '/api/v2/presence/definitions', {
        query: { deactivated: opts.includeDeactivated ? undefined : 'false', localeCode: 'ALL' },
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      return listing?.entities ?? [];
    },
    async getPresenceSources(signal) {
      const listing = await request<{ entities?: GcPresenceSource[] }>('GET', 'GET /api/v2/presence/sources', '/api/v2/presence/sources', {
        query: { deactivated: 'false' },
        ...(signal ? { signal } : {}),
      });
      return listing?.entities ?? [];
    },
    createPresenceSource(source, signal) {
      return request<GcPresenceSource>('POST', 'POST /api/v2/presence/sources', '/api/v2/presence/sources', {
        body: { name: source.name, ...(source.description === undefined ? {} : { description: source.description }), type: 'User' },
        ...(signal ? { signal } : {}),
      });
    },
    async ensurePresenceSource(sourceName, opts = {}) {
      const sources = await client.getPresenceSources(opts.signal);
      const found = sources.find((source) => source.name === sourceName && source.deactivated !== true);
      if (found) return found;
      log.info('creating presence source', { source: sourceName });
      try {
        return await client.createPresenceSource({ name: sourceName, ...(opts.description ? { description: opts.description } : {}) }, opts.signal);
      } catch (error) {
        // Another sidecar (or a restart racing this one) created it between the list and the create.
        if (!(error instanceof GcConflictError)) throw error;
        const again = (await client.getPresenceSources(opts.signal)).find((source) => source.name === sourceName && source.deactivated !== true);
        if (again === undefined) throw error;
        return again;
      }
    },
    async getPrimarySource(userId, signal) {
      return request<GcUserPrimarySource>('GET', 'GET /api/v2/presence/users/{userId}/primarysource', `/api/v2/presence/users/${enc(userId)}/primarysource`, signal ? { signal } : {});
    },
    async setPrimarySource(userId, sourceId, signal) {
      return request<GcUserPrimarySource>('PUT', 'PUT /api/v2/presence/users/{userId}/primarysource', `/api/v2/presence/users/${enc(userId)}/primarysource`, {
        body: { sourceId },
        ...(signal ? { signal } : {}),
      });
    },

    async injectPresence(events, signal) {
      if (events.length === 0) return [];
      const at = new Date(now()).toISOString();
      const body = {
        userPresenceEvents: events.map((event) => ({
          eventId: event.eventId ?? crypto.randomUUID(),
          eventDateTime: event.eventDateTime ?? at,
          userId: event.userId,
          sourceId: event.sourceId,
          presenceDefinitionId: event.presenceDefinitionId,
          ...(event.message === undefined ? {} : { message: event.message }),
        })),
      };
      const response = await request<{ errors?: GcEventError[] }>('POST', 'POST /api/v2/events/users/presence', '/api/v2/events/users/presence', {
        body,
        ...(signal ? { signal } : {}),
      });
      return response?.errors ?? [];
    },
    async injectRoutingStatus(events, signal) {
      if (events.length === 0) return [];
      const at = new Date(now()).toISOString();
      const body = {
        userRoutingStatusEvents: events.map((event) => ({
          eventId: event.eventId ?? crypto.randomUUID(),
          eventDateTime: event.eventDateTime ?? at,
          agentId: event.userId,
          status: toInjectRoutingStatus(event.routingStatus),
          sourceId: event.sourceId,
        })),
      };
      const response = await request<{ errors?: GcEventError[] }>('POST', 'POST /api/v2/events/users/routingstatus', '/api/v2/events/users/routingstatus', {
        body,
        ...(signal ? { signal } : {}),
      });
      return response?.errors ?? [];
    },
    async patchUserPresence(userId, presenceDefinitionId, opts = {}) {
      const source = opts.sourceId ?? 'purecloud';
      const label = source === 'purecloud' ? 'PATCH /api/v2/users/{userId}/presences/purecloud' : 'PATCH /api/v2/users/{userId}/presences/{sourceId}';
      const body: Record<string, unknown> = { presenceDefinition: { id: presenceDefinitionId } };
      if (opts.primary !== undefined) body['primary'] = opts.primary;
      if (opts.message !== undefined) body['message'] = opts.message;
      const presence = await request<GcWireUserPresence>('PATCH', label, `/api/v2/users/${enc(userId)}/presences/${enc(source)}`, {
        body,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      return toPresenceReading(userId, presence);
    },
    async putUserRoutingStatus(userId, routingStatus, signal) {
      const result = await request<{ userId?: string; status?: string; startTime?: string }>(
        'PUT',
        'PUT /api/v2/users/{userId}/routingstatus',
        `/api/v2/users/${enc(userId)}/routingstatus`,
        { body: { userId, status: toRestRoutingStatus(routingStatus) }, ...(signal ? { signal } : {}) },
      );
      return toRoutingReading(userId, result);
    },

    async getUserPresence(userId, opts = {}) {
      const source = opts.sourceId ?? 'purecloud';
      const label = source === 'purecloud' ? 'GET /api/v2/users/{userId}/presences/purecloud' : 'GET /api/v2/users/{userId}/presences/{sourceId}';
      const presence = await request<GcWireUserPresence>('GET', label, `/api/v2/users/${enc(userId)}/presences/${enc(source)}`, opts.signal ? { signal: opts.signal } : {});
      return toPresenceReading(userId, presence);
    },
    async getUserRoutingStatus(userId, signal) {
      const result = await request<{ userId?: string; status?: string; startTime?: string }>(
        'GET',
        'GET /api/v2/users/{userId}/routingstatus',
        `/api/v2/users/${enc(userId)}/routingstatus`,
        signal ? { signal } : {},
      );
      return toRoutingReading(userId, result);
    },
    async getUsersPresenceBulk(userIds, opts = {}) {
      const source = opts.sourceId ?? 'purecloud';
      const label = source === 'purecloud' ? 'GET /api/v2/users/presences/purecloud/bulk' : 'GET /api/v2/users/presences/{sourceId}/bulk';
      const out: UserPresenceReading[] = [];
      // "Limit 50." per request (SDK text for the id parameter).
      for (const ids of chunk(userIds, 50)) {
        const presences = await request<GcWireUserPresence[]>('GET', label, `/api/v2/users/presences/${enc(source)}/bulk`, {
          query: { id: ids },
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
        for (const presence of presences ?? []) out.push(toPresenceReading(presence.userId ?? '', presence));
      }
      return out;
    },

    async getUser(userId, opts = {}) {
      return request<GcUser>('GET', 'GET /api/v2/users/{userId}', `/api/v2/users/${enc(userId)}`, {
        query: { expand: opts.expand },
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    },
    async listUsers(opts) {
      const page = await request<{ entities?: GcUser[]; pageSize?: number; pageNumber?: number; total?: number; pageCount?: number }>(
        'GET',
        'GET /api/v2/users',
        '/api/v2/users',
        {
          query: { pageSize: opts.pageSize, pageNumber: opts.pageNumber, expand: opts.expand, state: 'active' },
          ...(opts.signal ? { signal: opts.signal } : {}),
        },
      );
      return {
        entities: page?.entities ?? [],
        pageSize: page?.pageSize ?? opts.pageSize,
        pageNumber: page?.pageNumber ?? opts.pageNumber,
        total: page?.total,
        pageCount: page?.pageCount,
      };
    },
    async getUsersByIds(userIds, opts = {}) {
      const size = opts.chunkSize ?? 100;
      const out: GcUser[] = [];
      for (const ids of chunk(userIds, size)) {
        const page = await request<{ entities?: GcUser[] }>('GET', 'GET /api/v2/users', '/api/v2/users', {
          // The default page size is 25: ask for as many as there are ids.
          query: { id: ids, pageSize: ids.length, expand: opts.expand },
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
        out.push(...(page?.entities ?? []));
      }
      return out;
    },
    async getUserByExternalId(authority, externalKey, signal) {
      try {
        return await request<GcUser>(
          'GET',
          'GET /api/v2/users/externalid/{authorityName}/{externalKey}',
          `/api/v2/users/externalid/${enc(authority)}/${enc(externalKey)}`,
          signal ? { signal } : {},
        );
      } catch (error) {
        if (error instanceof GcError && error.status === 404) return undefined;
        throw error;
      }
    },
    async searchUsersExact(field, values, opts = {}) {
      const pageSize = opts.pageSize ?? 100;
      const out: GcUser[] = [];
      for (const group of chunk(values, pageSize)) {
        const response = await request<{ results?: GcUser[] }>('POST', 'POST /api/v2/users/search', '/api/v2/users/search', {
          body: { pageSize, pageNumber: 1, query: [{ type: 'EXACT', fields: [field], values: group }] },
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
        out.push(...(response?.results ?? []));
      }
      return out;
    },

    async createChannel(signal) {
      const channel = await request<{ id?: string; connectUri?: string; expires?: string }>(
        'POST',
        'POST /api/v2/notifications/channels',
        '/api/v2/notifications/channels',
        signal ? { signal } : {},
      );
      if (!channel?.id || !channel.connectUri) {
        throw new GcValidationError('POST /api/v2/notifications/channels: answer has no id / connectUri', { status: 200 });
      }
      return { id: channel.id, connectUri: channel.connectUri, expires: channel.expires };
    },
    async channelExists(channelId, signal) {
      try {
        await request<void>('HEAD', 'HEAD /api/v2/notifications/channels/{channelId}', `/api/v2/notifications/channels/${enc(channelId)}`, signal ? { signal } : {});
        return true;
      } catch (error) {
        if (error instanceof GcError && error.status === 404) return false;
        throw error;
      }
    },
    async subscribe(channelId, topics, opts = {}) {
      const method = opts.replace ? 'PUT' : 'POST';
      const listing = await request<{ entities?: GcChannelTopic[] }>(
        method,
        `${method} /api/v2/notifications/channels/{channelId}/subscriptions`,
        `/api/v2/notifications/channels/${enc(channelId)}/subscriptions`,
        { body: topics.map((id) => ({ id })), ...(opts.signal ? { signal: opts.signal } : {}) },
      );
      return listing?.entities ?? [];
    },
    async getSubscriptions(channelId, signal) {
      const listing = await request<{ entities?: GcChannelTopic[] }>(
        'GET',
        'GET /api/v2/notifications/channels/{channelId}/subscriptions',
        `/api/v2/notifications/channels/${enc(channelId)}/subscriptions`,
        signal ? { signal } : {},
      );
      return listing?.entities ?? [];
    },

    stats() {
      const byEndpoint: GcClientStats['byEndpoint'] = {};
      for (const [label, entry] of Object.entries(counters.byEndpoint)) byEndpoint[label] = { ...entry };
      return {
        requests: counters.requests,
        byEndpoint,
        byStatusClass: { ...counters.byStatusClass },
        rateLimited: counters.rateLimited,
        retries: counters.retries,
        retriesBy: { read: { ...counters.retriesBy.read }, write: { ...counters.retriesBy.write } },
        tokenRequests: tokens.requests,
      };
    },
  };
  return client;
}

/** One client per credential pair, each with its own budget (a pool for sharding users across clients). */
export function createGcClientPool(
  credentials: ReadonlyArray<{ clientId: string; clientSecret: string; requestsPerMinute?: number }>,
  shared: Omit<GcClientOptions, 'clientId' | 'clientSecret' | 'budget' | 'name'>,
): GcClient[] {
  if (credentials.length === 0) throw new Error('credentials: at least one client id / secret pair is required');
  return credentials.map((credential, index) =>
    createGcClient({
      ...shared,
      clientId: credential.clientId,
      clientSecret: credential.clientSecret,
      ...(credential.requestsPerMinute === undefined ? {} : { requestsPerMinute: credential.requestsPerMinute }),
      name: `client-${index}`,
    }),
  );
}
