/**
 * The GC emulator's HTTP surface (Hono): `/oauth/token`, the `/api/v2/...` operations EXAS uses (validated
 * against the spec subset), and the unauthenticated control API under `/emulator/`.
 */
import { Buffer } from 'node:buffer';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { applyFaults, checkFaults, noFaults, type ActiveFaults, type GcFaults } from './faults.ts';
import type { NotificationHub } from './notifications.ts';
import { expandTopic } from './notifications.ts';
import {
  ALL_DEFINITIONS,
  DEFINITION_BY_ID,
  definitionByName,
  notificationSystemPresence,
  SYSTEM_DEFINITIONS,
  toWireDefinition,
  vocabularyName,
} from './presence-definitions.ts';
import { routingStatusUnderRule } from './native-routing-rule.ts';
import { missingPermissions, parsePermissionsBody, permissionDenied, ROUTE_PERMISSIONS } from './permissions.ts';
import type { SlidingWindowLimiter } from './rate-limiter.ts';
import { PURECLOUD_SOURCE_ID, type EmulatedUser, type EmulatorState, type RestRoutingStatus } from './state.ts';
import { validateBody, type ValidationProblem } from './validate.ts';

/** Status counted for a request whose client closed the connection before its body arrived (nginx's 499). */
export const CLIENT_CLOSED_REQUEST = 499;

export interface EmulatorStats {
  requests: number;
  byRoute: Record<string, number>;
  byStatus: Record<string, number>;
  rateLimited: number;
  tokensIssued: number;
}

/** A user as the control API shows it: DESIGN.md vocabulary, a custom presence by its label. */
export interface EmulatorUserView {
  userId: string;
  externalId: string | undefined;
  presence: string;
  routingStatus: string;
}

export interface AppContext {
  state: EmulatorState;
  hub: NotificationHub;
  limiter: SlidingWindowLimiter;
  clients: ReadonlyMap<string, string>;
  /** Client id → the permissions its role grants (replaced at run time through the control API). */
  permissions: Map<string, ReadonlySet<string>>;
  /** Whether routes check permissions (403 when one is missing); false in lenient mode. */
  checkPermissions: boolean;
  /** Whether a routing-status inject event's `sourceId` must name a presence source; false in lenient mode. */
  checkRoutingSource: boolean;
  /** GC's native rule on injected state too: routing status Off Queue unless presence is On Queue (opt-in). */
  offQueueUnlessOnQueue: boolean;
  maxBatchSize: number;
  maxBodyBytes: number;
  maxPageSize: number;
  tokenTtlSeconds: number;
  authority: string;
  now: () => number;
  random: () => number;
  /** `ws://host:port` for connectUri; known once the server listens. */
  wsBaseUrl: () => string;
}

export interface EmulatorControl {
  faults: ActiveFaults;
  stats: EmulatorStats;
  tokens: Map<string, { clientId: string; expiresAt: number }>;
  setFaults(faults: GcFaults): void;
  userView(user: EmulatedUser): EmulatorUserView;
  /**
   * Writes a user's state as "someone else" (GC's own source; under strict primary sources the user's primary
   * source, so the change shows), emitting notifications.
   */
  writeAsSomeoneElse(user: EmulatedUser, change: { presence?: string; routingStatus?: string }): string | undefined;
  /**
   * Users whose `presence` / `routingStatus` expansions the user listing (`GET /api/v2/users` without `id`)
   * leaves out: GC fills them best effort only (its SDK says so), and a client must read such users another way.
   */
  dropExpansions: ((userId: string) => boolean) | undefined;
}

type Env = { Variables: { label: string; clientId: string } };

const REST_FROM_VOCABULARY: Record<string, RestRoutingStatus> = {
  OffQueue: 'OFF_QUEUE',
  Idle: 'IDLE',
  Interacting: 'INTERACTING',
  Communicating: 'COMMUNICATING',
  NotResponding: 'NOT_RESPONDING',
};
const VOCABULARY_FROM_REST = Object.fromEntries(Object.entries(REST_FROM_VOCABULARY).map(([name, rest]) => [rest, name])) as Record<RestRoutingStatus, string>;
/** GC lets a client PUT only these routing statuses; the ACD sets the others. */
const PUTTABLE = new Set<string>(['OFF_QUEUE', 'IDLE']);

/** One refused event in an inject batch's answer. */
interface InjectError {
  eventId: string;
  message: string;
  retryable: boolean;
}

/**
 * An array query parameter. The official SDK sends `multi` arrays comma-joined (`id=a,b`), other clients
 * repeat the key (`id=a&id=b`): accept both.
 */
function listQuery(c: Context<Env>, name: string): string[] | undefined {
  const values = c.req.queries(name);
  return values?.flatMap((value) => value.split(',')).filter((value) => value !== '');
}

/** Compares secrets in constant time (hashing first so different lengths do not leak either). */
function sameSecret(given: string, expected: string | undefined): boolean {
  if (expected === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function createGcApp(context: AppContext): { app: Hono<Env>; control: EmulatorControl } {
  const { state, hub, limiter, now } = context;
  const app = new Hono<Env>();
  const control: EmulatorControl = {
    faults: noFaults(),
    stats: { requests: 0, byRoute: {}, byStatus: {}, rateLimited: 0, tokensIssued: 0 },
    tokens: new Map(),
    dropExpansions: undefined,
    setFaults(faults) {
      if (faults.revokeTokens) {
        for (const token of control.tokens.keys()) limiter.forget(token);
        control.tokens.clear();
        hub.closeAllSockets('token_revoked');
      }
      control.faults = applyFaults(faults, now());
    },
    userView(user) {
      return {
        userId: user.id,
        externalId: user.externalId,
        presence: vocabularyName(state.shownDefinition(user)),
        routingStatus: VOCABULARY_FROM_REST[user.routingStatus],
      };
    },
    writeAsSomeoneElse(user, change) {
      let definitionId: string | undefined;
      let rest: RestRoutingStatus | undefined;
      if (change.presence !== undefined) {
        definitionId = definitionByName(change.presence)?.id ?? (DEFINITION_BY_ID.has(change.presence) ? change.presence : undefined);
        if (definitionId === undefined) return `unknown presence '${change.presence}'`;
      }
      if (change.routingStatus !== undefined) {
        rest = REST_FROM_VOCABULARY[change.routingStatus] ?? (change.routingStatus in VOCABULARY_FROM_REST ? (change.routingStatus as RestRoutingStatus) : undefined);
        if (rest === undefined) return `unknown routing status '${change.routingStatus}'`;
      }
      if (definitionId !== undefined) state.setPresence(user, state.foreignSourceId(user), definitionId);
      if (rest !== undefined) state.setRoutingStatus(user, rest);
      return undefined;
    },
  };

  const correlationId = (): string => crypto.randomUUID();

  /** GC's error body, with the correlation id in both the header and `contextId`. */
  const gcError = (c: Context<Env>, status: number, code: string, message: string, details: ValidationProblem[] = [], extra: Record<string, unknown> = {}): Response => {
    const contextId = correlationId();
    c.header('ININ-Correlation-Id', contextId);
    return c.json(
      {
        message,
        code,
        status,
        ...extra,
        contextId,
        details: details.map((detail) => ({ errorCode: code, fieldName: detail.fieldName })),
        errors: details.map((detail) => ({ message: detail.message, code, status })),
      },
      status as 400,
    );
  };

  const label = (method: string, path: string) => async (c: Context<Env>, next: () => Promise<void>) => {
    c.set('label', `${method} ${path}`);
    await next();
  };
  // Route templates, so requests answered before routing (401, 429, faults) are still counted by route.
  const templates: Array<{ method: string; path: string; pattern: RegExp }> = [];
  const templateOf = (method: string, path: string): string | undefined => {
    const wanted = method === 'HEAD' ? 'GET' : method;
    const found = templates.find((template) => template.method === wanted && template.pattern.test(path));
    return found === undefined ? undefined : `${method} ${found.path}`;
  };
  /** GC's 403 when the calling client's permissions lack what the route needs (ROUTE_PERMISSIONS). */
  const permissionGate = (method: string, path: string) => async (c: Context<Env>, next: () => Promise<void>): Promise<Response | void> => {
    const required = ROUTE_PERMISSIONS[`${method} ${path}`];
    if (!context.checkPermissions || required === undefined) return next();
    const missing = missingPermissions(required, context.permissions.get(c.get('clientId')) ?? new Set());
    if (missing.length === 0) return next();
    const denied = permissionDenied(required, missing);
    return gcError(c, 403, denied.code, denied.message, [], { messageWithParams: denied.messageWithParams, messageParams: denied.messageParams });
  };
  /** Registers a route whose stats label is its template. */
  const route = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, handler: (c: Context<Env>) => Response | Promise<Response>): void => {
    templates.push({ method, path, pattern: new RegExp(`^${path.replace(/:[A-Za-z]+/g, '[^/]+')}$`) });
    app.on(method, path, label(method, path), permissionGate(method, path), handler);
  };

  // Counting and correlation for every non-control request.
  app.use('*', async (c, next) => {
    if (c.req.path.startsWith('/emulator/')) return next();
    await next();
    const stats = control.stats;
    stats.requests += 1;
    const routeLabel = c.get('label') ?? templateOf(c.req.method, c.req.path) ?? `${c.req.method} (no route)`;
    stats.byRoute[routeLabel] = (stats.byRoute[routeLabel] ?? 0) + 1;
    const status = String(c.res.status);
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    if (c.res.status === 429) stats.rateLimited += 1;
    if (!c.res.headers.has('ININ-Correlation-Id')) c.res.headers.set('ININ-Correlation-Id', correlationId());
  });

  // Outage and latency hit the token endpoint and the API alike.
  const faultGate = async (c: Context<Env>, next: () => Promise<void>): Promise<Response | void> => {
    const faults = control.faults;
    if (faults.outageUntil > now()) return gcError(c, 503, 'service.unavailable', 'The service is temporarily unavailable (emulated outage)');
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    return next();
  };
  app.use('/oauth/*', faultGate);
  app.use('/api/*', faultGate);

  app.use(
    '/api/*',
    bodyLimit({
      maxSize: context.maxBodyBytes,
      onError: (c) => {
        // The rest of the body is never read: tell the client not to reuse this connection.
        c.header('Connection', 'close');
        return gcError(c as Context<Env>, 413, 'request.entity.too.large', `The request body exceeds ${context.maxBodyBytes} bytes`);
      },
    }),
  );

  // Bearer check, then the per-token budget, then random failures.
  app.use('/api/*', async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const token = /^Bearer\s+(.+)$/i.exec(header)?.[1];
    const grant = token === undefined ? undefined : control.tokens.get(token);
    if (token === undefined || grant === undefined || grant.expiresAt <= now()) {
      return gcError(c, 401, 'bad.credentials', 'Invalid login credentials.');
    }
    c.set('clientId', grant.clientId);
    const decision = limiter.take(token);
    if (!decision.allowed) {
      c.header('Retry-After', String(decision.retryAfterSeconds));
      return gcError(c, 429, 'too.many.requests.retry.after', `Rate limit exceeded the maximum. Retry the request in [${decision.retryAfterSeconds}] seconds`);
    }
    const faults = control.faults;
    if (faults.status429Rate > 0 && context.random() < faults.status429Rate) {
      const retryAfter = Math.max(1, Math.ceil(faults.retryAfterSeconds));
      c.header('Retry-After', String(retryAfter));
      return gcError(c, 429, 'too.many.requests.retry.after', `Rate limit exceeded the maximum. Retry the request in [${retryAfter}] seconds (emulated)`);
    }
    if (faults.errorRate > 0 && context.random() < faults.errorRate) {
      return gcError(c, 503, 'service.unavailable', 'The service is temporarily unavailable (emulated error)');
    }
    return next();
  });

  /** Reads and validates a JSON body; a Response means the request was refused. */
  const readBody = async (c: Context<Env>, operation: string): Promise<unknown | Response> => {
    const type = c.req.header('content-type') ?? '';
    if (!type.toLowerCase().includes('application/json')) {
      return gcError(c, 415, 'unsupported.media.type', `Content-Type must be application/json (got '${type}')`);
    }
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      // A client that went away mid-body (a refused proxy, a timeout) sent no bad request: nobody reads this
      // answer, and counting it as 400 made the soak report "bad requests" EXAS never sent.
      if (c.req.raw.signal.aborted) return new Response(null, { status: CLIENT_CLOSED_REQUEST });
      return gcError(c, 400, 'bad.request', 'The request body is not valid JSON');
    }
    const problems = validateBody(operation, body, { maxBatchSize: context.maxBatchSize });
    if (problems.length > 0) {
      return gcError(c, 400, 'bad.request', `The request could not be understood by the server due to malformed syntax: ${problems.map((p) => p.message).join('; ')}`, problems);
    }
    return body;
  };

  const userOr404 = (c: Context<Env>, userId: string): EmulatedUser | Response => {
    const user = state.byId.get(userId);
    return user ?? gcError(c, 404, 'not.found', `User ${userId} not found`);
  };

  const wirePresence = (user: EmulatedUser, sourceId?: string): Record<string, unknown> | undefined => {
    const shown = sourceId === undefined ? state.shownPresence(user) : state.presenceOf(user, sourceId);
    if (shown === undefined) return undefined;
    const definition = DEFINITION_BY_ID.get(shown.definitionId);
    return {
      id: shown.sourceId,
      source: state.sources.get(shown.sourceId)?.name ?? shown.sourceId,
      sourceId: shown.sourceId,
      primary: shown.sourceId === user.primarySourceId,
      presenceDefinition: { id: shown.definitionId, systemPresence: definition?.systemPresence },
      ...(shown.message === undefined ? {} : { message: shown.message }),
      modifiedDate: shown.modifiedDate,
      selfUri: `/api/v2/users/${user.id}/presences/${shown.sourceId}`,
    };
  };
  const wireRouting = (user: EmulatedUser): Record<string, unknown> => ({ userId: user.id, status: user.routingStatus, startTime: user.routingStartTime });
  const wireUser = (user: EmulatedUser, expand: ReadonlyArray<string>): Record<string, unknown> => ({
    id: user.id,
    name: user.name,
    division: { id: 'd1v15100-0000-4000-8000-000000000001', name: 'Home', selfUri: '/api/v2/authorization/divisions/d1v15100-0000-4000-8000-000000000001' },
    email: user.email,
    username: user.username,
    state: 'active',
    version: 1,
    ...(expand.includes('employerInfo') && user.employeeId !== undefined ? { employerInfo: { employeeId: user.employeeId } } : {}),
    ...(expand.includes('presence') ? { presence: wirePresence(user) } : {}),
    ...(expand.includes('routingStatus') ? { routingStatus: wireRouting(user) } : {}),
    selfUri: `/api/v2/users/${user.id}`,
  });
  /** The routing status GC keeps for a write of `wanted`: Off Queue unless On Queue, when that rule is on. */
  const routingAllowed = (user: EmulatedUser, wanted: RestRoutingStatus): RestRoutingStatus =>
    context.offQueueUnlessOnQueue ? routingStatusUnderRule(state, user, wanted) : wanted;
  const resolveSource = (sourceId: string): string | undefined =>
    sourceId === 'purecloud' ? PURECLOUD_SOURCE_ID : state.sources.has(sourceId) ? sourceId : undefined;

  // ---- OAuth ----
  app.post('/oauth/token', label('POST', '/oauth/token'), async (c) => {
    const match = /^Basic\s+(.+)$/i.exec(c.req.header('authorization') ?? '');
    const decoded = match ? Buffer.from(match[1] as string, 'base64').toString('utf8') : '';
    const split = decoded.indexOf(':');
    const clientId = split < 0 ? '' : decoded.slice(0, split);
    const secret = split < 0 ? '' : decoded.slice(split + 1);
    const form = new URLSearchParams(await c.req.text());
    if (form.get('grant_type') !== 'client_credentials') {
      return c.json({ error: 'unsupported_grant_type', description: 'only grant_type=client_credentials is supported' }, 400);
    }
    if (clientId === '' || !sameSecret(secret, context.clients.get(clientId))) {
      return c.json({ error: 'invalid_client', description: 'client authentication failed' }, 401);
    }
    const token = crypto.randomUUID().replaceAll('-', '') + crypto.randomUUID().replaceAll('-', '');
    control.tokens.set(token, { clientId, expiresAt: now() + context.tokenTtlSeconds * 1000 });
    control.stats.tokensIssued += 1;
    return c.json({ access_token: token, token_type: 'bearer', expires_in: context.tokenTtlSeconds });
  });

  // ---- presence definitions and sources ----
  route('GET', '/api/v2/presence/definitions', (c) => {
    const entities = ALL_DEFINITIONS.map(toWireDefinition);
    return c.json({ total: entities.length, entities, selfUri: '/api/v2/presence/definitions' });
  });
  route('GET', '/api/v2/presence/definitions/:definitionId', (c) => {
    const definition = DEFINITION_BY_ID.get(c.req.param('definitionId') as string);
    return definition ? c.json(toWireDefinition(definition)) : gcError(c, 404, 'not.found', 'Presence definition not found');
  });
  route('GET', '/api/v2/systempresences', (c) =>
    c.json(SYSTEM_DEFINITIONS.map((definition) => ({ id: notificationSystemPresence(definition), name: definition.label, selfUri: `/api/v2/systempresences/${notificationSystemPresence(definition)}` }))),
  );
  route('GET', '/api/v2/presence/sources', (c) => {
    const entities = [...state.sources.values()]
      .filter((source) => source.id !== PURECLOUD_SOURCE_ID)
      .map((source) => ({ id: source.id, name: source.name, ...(source.description ? { description: source.description } : {}), type: source.type, deactivated: false, selfUri: `/api/v2/presence/sources/${source.id}` }));
    return c.json({ total: entities.length, entities, selfUri: '/api/v2/presence/sources' });
  });
  route('POST', '/api/v2/presence/sources', async (c) => {
    const body = await readBody(c, 'POST /api/v2/presence/sources');
    if (body instanceof Response) return body;
    const input = body as { name: string; description?: string; type?: 'System' | 'User' };
    if ([...state.sources.values()].some((source) => source.name === input.name)) {
      return gcError(c, 409, 'conflict', `A presence source named '${input.name}' already exists`);
    }
    const source = { id: crypto.randomUUID(), name: input.name, description: input.description, type: input.type ?? 'User' };
    state.sources.set(source.id, source);
    return c.json({ ...source, deactivated: false, selfUri: `/api/v2/presence/sources/${source.id}` });
  });
  route('GET', '/api/v2/presence/users/:userId/primarysource', (c) => {
    const user = userOr404(c, c.req.param('userId') as string);
    if (user instanceof Response) return user;
    const source = state.sources.get(user.primarySourceId);
    return c.json({ id: user.id, name: source?.name, sourceId: user.primarySourceId, registered: user.primarySourceId !== PURECLOUD_SOURCE_ID, selfUri: `/api/v2/presence/users/${user.id}/primarysource` });
  });
  route('PUT', '/api/v2/presence/users/:userId/primarysource', async (c) => {
    const user = userOr404(c, c.req.param('userId') as string);
    if (user instanceof Response) return user;
    const body = await readBody(c, 'PUT /api/v2/presence/users/{userId}/primarysource');
    if (body instanceof Response) return body;
    const requested = (body as { sourceId?: unknown } | null)?.sourceId;
    const sourceId = typeof requested === 'string' ? resolveSource(requested) : undefined;
    if (sourceId === undefined) return gcError(c, 400, 'bad.request', `sourceId must name a presence source (got ${JSON.stringify(requested)})`);
    state.setPrimarySource(user, sourceId);
    const source = state.sources.get(sourceId);
    return c.json({ id: user.id, name: source?.name, sourceId, registered: sourceId !== PURECLOUD_SOURCE_ID, selfUri: `/api/v2/presence/users/${user.id}/primarysource` });
  });

  // ---- inject ----
  /**
   * GC's inject batch answer: a repeated eventId is refused; `check` refuses an event with a message or returns
   * the change to make; an emulated transient failure (eventErrorRate) hits only events that passed `check`.
   */
  const injectBatch = <Event extends { eventId: string }>(events: readonly Event[], check: (event: Event) => string | (() => void)): InjectError[] => {
    const errors: InjectError[] = [];
    const seen = new Set<string>();
    for (const event of events) {
      const fail = (message: string, retryable = false): void => void errors.push({ eventId: event.eventId, message, retryable });
      if (seen.has(event.eventId)) {
        fail('Duplicate eventId in batch');
        continue;
      }
      seen.add(event.eventId);
      const checked = check(event);
      if (typeof checked === 'string') fail(checked);
      else if (control.faults.eventErrorRate > 0 && context.random() < control.faults.eventErrorRate) fail('Transient failure processing event (emulated)', true);
      else checked();
    }
    return errors;
  };
  route('POST', '/api/v2/events/users/presence', async (c) => {
    const body = await readBody(c, 'POST /api/v2/events/users/presence');
    if (body instanceof Response) return body;
    const events = (body as { userPresenceEvents: Array<{ eventId: string; eventDateTime: string; userId: string; sourceId: string; presenceDefinitionId?: string; message?: string }> }).userPresenceEvents;
    const errors = injectBatch(events, (event) => {
      const user = state.byId.get(event.userId);
      if (user === undefined) return `User ${event.userId} not found`;
      if (!state.sources.has(event.sourceId)) return `Presence source ${event.sourceId} not found`;
      if (event.presenceDefinitionId !== undefined && !DEFINITION_BY_ID.has(event.presenceDefinitionId)) return `Presence definition ${event.presenceDefinitionId} not found`;
      return () => {
        const definitionId = event.presenceDefinitionId ?? user.presences.get(event.sourceId)?.definitionId ?? state.shownPresence(user).definitionId;
        state.setPresence(user, event.sourceId, definitionId, event.message === undefined ? {} : { message: event.message });
      };
    });
    return c.json({ errors });
  });
  route('POST', '/api/v2/events/users/routingstatus', async (c) => {
    const body = await readBody(c, 'POST /api/v2/events/users/routingstatus');
    if (body instanceof Response) return body;
    const events = (body as { userRoutingStatusEvents: Array<{ eventId: string; agentId: string; status: string; sourceId: string }> }).userRoutingStatusEvents;
    const errors = injectBatch(events, (event) => {
      const user = state.byId.get(event.agentId);
      if (user === undefined) return `User ${event.agentId} not found`;
      if (context.checkRoutingSource && !state.sources.has(event.sourceId)) return `Presence source ${event.sourceId} not found`;
      return () => state.setRoutingStatus(user, routingAllowed(user, REST_FROM_VOCABULARY[event.status] as RestRoutingStatus));
    });
    return c.json({ errors });
  });

  // ---- per-user presence and routing status ----
  route('GET', '/api/v2/users/presences/:sourceId/bulk', (c) => {
    const sourceId = resolveSource(c.req.param('sourceId') as string);
    if (sourceId === undefined) return gcError(c, 404, 'not.found', 'Presence source not found');
    const ids = listQuery(c, 'id') ?? [];
    if (ids.length > 50) return gcError(c, 400, 'bad.request', `At most 50 ids per request (got ${ids.length})`);
    const out: Array<Record<string, unknown>> = [];
    for (const id of ids) {
      const user = state.byId.get(id);
      const presence = user === undefined ? undefined : wirePresence(user, sourceId);
      if (user !== undefined && presence !== undefined) out.push({ ...presence, userId: user.id });
    }
    return c.json(out);
  });
  route('PUT', '/api/v2/users/presences/bulk', async (c) => {
    const body = await readBody(c, 'PUT /api/v2/users/presences/bulk');
    if (body instanceof Response) return body;
    const items = body as Array<{ id?: string; sourceId?: string; primary?: boolean; presenceDefinition?: { id?: string }; message?: string }>;
    const out: Array<Record<string, unknown>> = [];
    for (const item of items) {
      const user = item.id === undefined ? undefined : state.byId.get(item.id);
      const sourceId = resolveSource(item.sourceId ?? 'purecloud');
      const definitionId = item.presenceDefinition?.id;
      if (user === undefined || sourceId === undefined || definitionId === undefined || !DEFINITION_BY_ID.has(definitionId)) {
        return gcError(c, 400, 'bad.request', `Invalid presence for user ${String(item.id)}`);
      }
      if (item.primary === true) state.setPrimarySource(user, sourceId);
      state.setPresence(user, sourceId, definitionId, item.message === undefined ? {} : { message: item.message });
      out.push({ ...wirePresence(user, sourceId), id: user.id });
    }
    return c.json(out);
  });
  const getPresence = (c: Context<Env>, sourceParam: string): Response => {
    const user = userOr404(c, c.req.param('userId') as string);
    if (user instanceof Response) return user;
    const sourceId = resolveSource(sourceParam);
    if (sourceId === undefined) return gcError(c, 404, 'not.found', 'Presence source not found');
    const presence = wirePresence(user, sourceId);
    return presence ? c.json(presence) : gcError(c, 404, 'not.found', 'No presence from this source');
  };
  const patchPresence = async (c: Context<Env>, sourceParam: string, operation: string): Promise<Response> => {
    const user = userOr404(c, c.req.param('userId') as string);
    if (user instanceof Response) return user;
    const body = await readBody(c, operation);
    if (body instanceof Response) return body;
    const sourceId = resolveSource(sourceParam);
    if (sourceId === undefined) return gcError(c, 404, 'not.found', 'Presence source not found');
    const input = body as { presenceDefinition?: { id?: string }; primary?: boolean; message?: string };
    const definitionId = input.presenceDefinition?.id;
    if (definitionId === undefined || !DEFINITION_BY_ID.has(definitionId)) {
      return gcError(c, 400, 'bad.request', `presenceDefinition.id must name a presence definition (got ${JSON.stringify(definitionId)})`, [
        { fieldName: 'presenceDefinition.id', message: 'unknown presence definition' },
      ]);
    }
    if (input.primary === true) state.setPrimarySource(user, sourceId);
    state.setPresence(user, sourceId, definitionId, input.message === undefined ? {} : { message: input.message });
    return c.json(wirePresence(user, sourceId));
  };
  route('GET', '/api/v2/users/:userId/presences/purecloud', (c) => getPresence(c, 'purecloud'));
  route('PATCH', '/api/v2/users/:userId/presences/purecloud', (c) => patchPresence(c, 'purecloud', 'PATCH /api/v2/users/{userId}/presences/purecloud'));
  route('GET', '/api/v2/users/:userId/presences/:sourceId', (c) => getPresence(c, c.req.param('sourceId') as string));
  route('PATCH', '/api/v2/users/:userId/presences/:sourceId', (c) => patchPresence(c, c.req.param('sourceId') as string, 'PATCH /api/v2/users/{userId}/presences/{sourceId}'));
  route('GET', '/api/v2/users/:userId/routingstatus', (c) => {
    const user = state.byId.get(c.req.param('userId') as string);
    // "A value of OFF_QUEUE will be returned if the specified user does not exist."
    return c.json(user ? wireRouting(user) : { userId: c.req.param('userId'), status: 'OFF_QUEUE' });
  });
  route('PUT', '/api/v2/users/:userId/routingstatus', async (c) => {
    const user = userOr404(c, c.req.param('userId') as string);
    if (user instanceof Response) return user;
    const body = await readBody(c, 'PUT /api/v2/users/{userId}/routingstatus');
    if (body instanceof Response) return body;
    const status = (body as { status?: string }).status;
    if (status === undefined || !PUTTABLE.has(status)) {
      return gcError(c, 400, 'bad.request', `A client may set routing status only to OFF_QUEUE or IDLE (got ${JSON.stringify(status)})`, [
        { fieldName: 'status', message: 'not settable by a client' },
      ]);
    }
    state.setRoutingStatus(user, routingAllowed(user, status as RestRoutingStatus));
    return c.json(wireRouting(user));
  });

  // ---- users ----
  route('GET', '/api/v2/users/externalid/:authorityName/:externalKey', (c) => {
    const user = c.req.param('authorityName') === context.authority ? state.byExternalId.get(c.req.param('externalKey') as string) : undefined;
    return user ? c.json(wireUser(user, listQuery(c, 'expand') ?? [])) : gcError(c, 404, 'not.found', 'No user with this external id');
  });
  route('GET', '/api/v2/users', (c) => {
    const pageSize = Number(c.req.query('pageSize') ?? 25);
    const pageNumber = Number(c.req.query('pageNumber') ?? 1);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > context.maxPageSize) {
      return gcError(c, 400, 'bad.request', `pageSize must be between 1 and ${context.maxPageSize}`);
    }
    if (!Number.isInteger(pageNumber) || pageNumber < 1) return gcError(c, 400, 'bad.request', 'pageNumber must be ≥ 1');
    const expand = listQuery(c, 'expand') ?? [];
    const ids = listQuery(c, 'id');
    const pool = ids === undefined ? state.users : ids.map((id) => state.byId.get(id)).filter((user): user is EmulatedUser => user !== undefined);
    const start = (pageNumber - 1) * pageSize;
    const drop = ids === undefined ? control.dropExpansions : undefined;
    const stateless = expand.filter((name) => name !== 'presence' && name !== 'routingStatus');
    const entities = pool.slice(start, start + pageSize).map((user) => wireUser(user, drop?.(user.id) === true ? stateless : expand));
    const pageCount = Math.max(1, Math.ceil(pool.length / pageSize));
    const base = `/api/v2/users?pageSize=${pageSize}`;
    return c.json({
      entities,
      pageSize,
      pageNumber,
      total: pool.length,
      firstUri: `${base}&pageNumber=1`,
      lastUri: `${base}&pageNumber=${pageCount}`,
      selfUri: `${base}&pageNumber=${pageNumber}`,
      ...(pageNumber < pageCount ? { nextUri: `${base}&pageNumber=${pageNumber + 1}` } : {}),
      ...(pageNumber > 1 ? { previousUri: `${base}&pageNumber=${pageNumber - 1}` } : {}),
      pageCount,
    });
  });
  route('POST', '/api/v2/users/search', async (c) => {
    const body = await readBody(c, 'POST /api/v2/users/search');
    if (body instanceof Response) return body;
    const request = body as { pageSize?: number; pageNumber?: number; expand?: string[]; query?: Array<{ type: string; fields?: string[]; value?: string; values?: string[] }> };
    const pageSize = request.pageSize ?? 25;
    const pageNumber = request.pageNumber ?? 1;
    if (pageSize < 1 || pageSize > 100) return gcError(c, 400, 'bad.request', 'pageSize must be between 1 and 100');
    let matches: EmulatedUser[] = state.users;
    for (const criterion of request.query ?? []) {
      if (criterion.type !== 'EXACT') return gcError(c, 400, 'bad.request', `The emulator supports only EXACT search criteria (got ${criterion.type})`);
      const values = new Set([...(criterion.values ?? []), ...(criterion.value === undefined ? [] : [criterion.value])].map((value) => value.toLowerCase()));
      const fields = criterion.fields ?? [];
      matches = matches.filter((user) =>
        fields.some((field) => {
          const value = field === 'email' ? user.email : field === 'username' ? user.username : field === 'id' ? user.id : field === 'name' ? user.name : undefined;
          return value !== undefined && values.has(value.toLowerCase());
        }),
      );
    }
    const start = (pageNumber - 1) * pageSize;
    return c.json({
      total: matches.length,
      pageCount: Math.ceil(matches.length / pageSize),
      pageSize,
      pageNumber,
      types: ['users'],
      results: matches.slice(start, start + pageSize).map((user) => wireUser(user, request.expand ?? [])),
    });
  });
  route('GET', '/api/v2/users/:userId', (c) => {
    const user = userOr404(c, c.req.param('userId') as string);
    return user instanceof Response ? user : c.json(wireUser(user, listQuery(c, 'expand') ?? []));
  });

  // ---- notifications ----
  route('POST', '/api/v2/notifications/channels', (c) => {
    // The socket goes where the client reached the API (its Host header): through a proxy in front of the
    // emulator (the chaos suite's refusable one), the notification socket passes that proxy too.
    const host = c.req.header('host');
    const base = host !== undefined && /^[A-Za-z0-9.:[\]-]+$/.test(host) ? `ws://${host}` : context.wsBaseUrl();
    const channel = hub.createChannel(c.get('clientId'), base);
    return c.json({ connectUri: channel.connectUri, id: channel.id, expires: new Date(channel.expiresAt).toISOString() });
  });
  // HEAD is answered by Hono from the GET route (same status, no body).
  route('GET', '/api/v2/notifications/channels/:channelId', (c) => {
    const channel = hub.channel(c.req.param('channelId') as string);
    return channel ? c.body(null, 200) : gcError(c, 404, 'not.found', 'Channel not found');
  });
  route('GET', '/api/v2/notifications/channels/:channelId/subscriptions', (c) => {
    const channel = hub.channel(c.req.param('channelId') as string);
    if (channel === undefined) return gcError(c, 404, 'not.found', 'Channel not found');
    return c.json({ entities: [...channel.topics].map((id) => ({ id, state: 'Permitted' })) });
  });
  const subscribe = async (c: Context<Env>, replace: boolean): Promise<Response> => {
    const channel = hub.channel(c.req.param('channelId') as string);
    if (channel === undefined) return gcError(c, 404, 'not.found', 'Channel not found');
    const body = await readBody(c, `${replace ? 'PUT' : 'POST'} /api/v2/notifications/channels/{channelId}/subscriptions`);
    if (body instanceof Response) return body;
    const ignoreErrors = c.req.query('ignoreErrors') === 'true';
    const accepted: string[] = [];
    const rejected: Array<{ id: string; state: 'Rejected'; rejectionReason: string }> = [];
    for (const { id } of body as Array<{ id?: string }>) {
      const expanded = typeof id === 'string' ? expandTopic(id) : undefined;
      const userKnown = expanded !== undefined && expanded.every((topic) => state.byId.has(topic.split('.')[2] as string));
      if (expanded === undefined || !userKnown) {
        if (!ignoreErrors) return gcError(c, 400, 'bad.request', `Topic ${JSON.stringify(id)} is not valid or names an unknown user`);
        rejected.push({ id: String(id), state: 'Rejected', rejectionReason: 'invalid topic' });
        continue;
      }
      accepted.push(...expanded);
    }
    const result = hub.subscribe(channel, accepted, replace);
    if (!result.ok) return gcError(c, 400, 'notification.too.many.topics', result.message);
    return c.json({ entities: [...[...channel.topics].map((topic) => ({ id: topic, state: 'Permitted' as const })), ...rejected] });
  };
  route('POST', '/api/v2/notifications/channels/:channelId/subscriptions', (c) => subscribe(c, false));
  route('PUT', '/api/v2/notifications/channels/:channelId/subscriptions', (c) => subscribe(c, true));

  app.all('/api/*', (c) => gcError(c, 404, 'not.found', `No emulated operation for ${c.req.method} ${c.req.path}`));

  // ---- control API (no auth) ----
  app.get('/emulator/users', (c) => c.json(state.users.map((user) => control.userView(user))));
  app.get('/emulator/users/:userId', (c) => {
    const user = state.byId.get(c.req.param('userId'));
    return user ? c.json(control.userView(user)) : c.json({ error: 'unknown user' }, 404);
  });
  app.put('/emulator/users/:userId', async (c) => {
    const user = state.byId.get(c.req.param('userId'));
    if (user === undefined) return c.json({ error: 'unknown user' }, 404);
    let body: { presence?: string; routingStatus?: string };
    try {
      body = (await c.req.json()) as typeof body;
    } catch {
      return c.json({ error: 'expected JSON {presence?, routingStatus?}' }, 400);
    }
    const problem = control.writeAsSomeoneElse(user, body);
    return problem ? c.json({ error: problem }, 400) : c.json(control.userView(user));
  });
  // A client's permissions (what its role grants), read and replaced at run time.
  const permissionsView = (clientId: string) => ({ clientId, permissions: [...(context.permissions.get(clientId) ?? [])].sort(), enforced: context.checkPermissions });
  app.get('/emulator/clients/:clientId/permissions', (c) =>
    context.clients.has(c.req.param('clientId')) ? c.json(permissionsView(c.req.param('clientId'))) : c.json({ error: 'unknown client' }, 404),
  );
  app.put('/emulator/clients/:clientId/permissions', async (c) => {
    const clientId = c.req.param('clientId');
    if (!context.clients.has(clientId)) return c.json({ error: 'unknown client' }, 404);
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json({ error: 'expected JSON {"permissions": [...]}' }, 400);
    }
    const permissions = parsePermissionsBody(body);
    if (typeof permissions === 'string') return c.json({ error: permissions }, 400);
    context.permissions.set(clientId, new Set(permissions));
    return c.json(permissionsView(clientId));
  });
  app.get('/emulator/faults', (c) => c.json(control.faults));
  app.post('/emulator/faults', async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json({ error: 'expected a JSON object' }, 400);
    }
    const problem = checkFaults(body);
    if (problem) return c.json({ error: problem }, 400);
    control.setFaults(body as GcFaults);
    return c.json(control.faults);
  });
  app.get('/emulator/stats', (c) => c.json(control.stats));
  app.delete('/emulator/stats', (c) => {
    control.stats = { requests: 0, byRoute: {}, byStatus: {}, rateLimited: 0, tokensIssued: 0 };
    return c.json(control.stats);
  });

  return { app, control };
}
