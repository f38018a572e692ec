/**
 * @module
 * The Genesys Cloud emulator: OAuth client credentials, the presence / routing status / users /
 * notifications operations EXAS uses (requests validated against `openapi-subset.json`), a sliding-window
 * rate limit per token with real 429 + Retry-After, fault injection, the notifications WebSocket, and a
 * control API under `/emulator/`. Tests start it in-process with `startGcEmulator`; `exas emulate gc` runs it
 * standalone. Product code never imports it.
 *
 * @example
 * const gc = await startGcEmulator({ usersCount: 100, budget: 300 });
 * // gc.url → http://127.0.0.1:PORT ; log in with exas-demo / exas-demo-secret
 * await gc.close();
 */
import { serve } from '../../platform/serve.ts';
import { createGcApp, type EmulatorStats, type EmulatorUserView } from './app.ts';
import type { GcFaults, ActiveFaults } from './faults.ts';
import { enforceOffQueueUnlessOnQueue } from './native-routing-rule.ts';
import { NotificationHub } from './notifications.ts';
import { EXAS_PERMISSIONS } from './permissions.ts';
import { SlidingWindowLimiter } from './rate-limiter.ts';
import { EmulatorState } from './state.ts';
import { generateUsers, type EmulatedUserSeed } from './users.ts';

export type { EmulatorStats, EmulatorUserView } from './app.ts';
export type { GcFaults, ActiveFaults } from './faults.ts';
export { generateUsers, loadUsersFile, emulatedUserId, type EmulatedUserSeed } from './users.ts';
export { ALL_DEFINITIONS, CUSTOM_DEFINITIONS, SYSTEM_DEFINITIONS, definitionByName } from './presence-definitions.ts';
export { PURECLOUD_SOURCE_ID } from './state.ts';
export { EXAS_PERMISSIONS, ROUTE_PERMISSIONS, type RequiredPermissions } from './permissions.ts';
export { validateAgainstComponent } from './validate.ts';

/** The client id / secret pair the emulator accepts by default. */
export const DEFAULT_CLIENT = { clientId: 'exas-demo', clientSecret: 'exas-demo-secret' } as const;

export interface GcEmulatorOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Users to serve; default `generateUsers(usersCount)`. */
  users?: ReadonlyArray<EmulatedUserSeed>;
  /** How many users to generate from the shared agent id scheme when `users` is not given (default 10). */
  usersCount?: number;
  /** Requests per token per 60 s (default 300, GC's default). */
  budget?: number;
  /** Users whose presence / routing status expansions the user listing leaves out (GC's best effort; see `dropExpansions`). */
  dropExpansionsFor?: (userId: string) => boolean;
  /**
   * Accepted client id → secret pairs (default only exas-demo / exas-demo-secret), each with the permissions
   * its role grants (default `EXAS_PERMISSIONS`: exactly what EXAS needs).
   */
  clients?: ReadonlyArray<{ clientId: string; clientSecret: string; permissions?: readonly string[] }>;
  /** Most events one inject request may carry (default 100, GC's documented maximum). */
  maxBatchSize?: number;
  /** Largest request body in bytes (default 512,000, GC's `request.bytes.max`; lenient 1 MiB); bigger bodies get 413. */
  maxBodyBytes?: number;
  /** Largest `pageSize` of `GET /api/v2/users` (default 500). */
  maxPageSize?: number;
  /** Token lifetime (default 86 400 s). */
  tokenTtlSeconds?: number;
  channelsPerClient?: number;
  topicsPerChannel?: number;
  /** Channel lifetime (default 24 h). */
  channelTtlMs?: number;
  /** Heartbeat interval on notification sockets (default 30 s; 0 turns heartbeats off). */
  heartbeatMs?: number;
  /** External id authority the users' external ids live under (default `engage`). */
  authority?: string;
  /**
   * Today's kinder behaviour where the real service is stricter (default false: strict). Lenient, a user shows
   * the presence of the source written last, whatever their primary source.
   */
  lenient?: boolean;
  /**
   * Show only the primary source's presence, as real GC does. Default: true unless `lenient`; given, it wins
   * over `lenient` for this one behaviour.
   */
  enforcePrimarySource?: boolean;
  /**
   * Start from an org whose users already have a presence source of this name (created at start) as primary
   * source, as after `exas doctor --fix` (the demo passes EXAS's source name). Default: PURECLOUD is every
   * user's primary source, as in a new org.
   */
  primarySourceFor?: string;
  /**
   * GC's native rule "routing status is Off Queue unless presence is On Queue", applied to injected state too
   * (default false: undocumented for injected state, see native-routing-rule.ts).
   */
  offQueueUnlessOnQueue?: boolean;
  now?: () => number;
  random?: () => number;
}

export interface GcEmulator {
  readonly url: string;
  readonly port: number;
  /** `ws://…` base of notification sockets. */
  readonly wsUrl: string;
  close(): Promise<void>;
  /** Every user in DESIGN.md vocabulary (same as `GET /emulator/users`). */
  users(): EmulatorUserView[];
  user(userId: string): EmulatorUserView | undefined;
  userIds(): string[];
  /**
   * When (emulator clock, epoch ms) what the user shows last changed, per field: the moment GC applied the
   * write (or made the change itself), not the event time a writer sent. Undefined for an unknown user.
   */
  changedAt(userId: string): { presence: number; routingStatus: number } | undefined;
  /** The user id of an external id (the Engage agent id for generated users). */
  userIdOf(externalId: string): string | undefined;
  /** Writes a user's state as "someone else" (GC's own source), emitting notifications. Throws on unknown names. */
  setUserState(userId: string, change: { presence?: string; routingStatus?: string }): void;
  /** The id of the user's primary presence source. */
  primarySourceOf(userId: string): string | undefined;
  /** Sets the user's primary presence source as someone else would (an admin, another integration). Throws on unknown ids. */
  setPrimarySource(userId: string, sourceId: string): void;
  /** Presence source ids by name. */
  sources(): Array<{ id: string; name: string }>;
  setFaults(faults: GcFaults): void;
  faults(): ActiveFaults;
  /** Users whose presence / routing status expansions the user listing leaves out (GC's best effort); undefined: none. */
  dropExpansions(which: ((userId: string) => boolean) | undefined): void;
  /** Replaces what a client's role grants (same as `PUT /emulator/clients/{clientId}/permissions`). Throws for an unknown client. */
  setClientPermissions(clientId: string, permissions: readonly string[]): void;
  /** What a client's role grants, sorted; undefined for an unknown client. */
  clientPermissions(clientId: string): string[] | undefined;
  stats(): EmulatorStats;
  resetStats(): void;
  setBudget(requestsPerMinute: number): void;
  /** Open channels and connected sockets. */
  channels(): { channels: number; sockets: number; topics: number };
  /** Sends a heartbeat on every socket now. */
  sendHeartbeats(): void;
  /**
   * Calls `listener` synchronously after every change of what a user shows (presence or routing status), from
   * any writer, in the order GC applied them: the chaos suite's per-user write history. Returns an unsubscribe.
   */
  onUserChange(listener: (userId: string, part: 'presence' | 'routingStatus', view: EmulatorUserView) => void): () => void;
}

/** Starts the GC emulator on `host:port` (default 127.0.0.1, a free port). */
export async function startGcEmulator(options: GcEmulatorOptions = {}): Promise<GcEmulator> {
  const now = options.now ?? Date.now;
  const seeds = options.users ?? generateUsers(options.usersCount ?? 10);
  const state = new EmulatorState(seeds, {
    enforcePrimarySource: options.enforcePrimarySource ?? options.lenient !== true,
    ...(options.primarySourceFor === undefined ? {} : { primarySourceFor: options.primarySourceFor }),
    now,
  });
  const hub = new NotificationHub(
    state,
    {
      channelsPerClient: options.channelsPerClient ?? 20,
      topicsPerChannel: options.topicsPerChannel ?? 1000,
      channelTtlMs: options.channelTtlMs ?? 24 * 3600_000,
      heartbeatMs: options.heartbeatMs ?? 30_000,
    },
    now,
  );
  const limiter = new SlidingWindowLimiter(options.budget ?? 300, now);
  const strict = options.lenient !== true;
  const clientList: NonNullable<GcEmulatorOptions['clients']> = options.clients ?? [DEFAULT_CLIENT];
  const clients = new Map(clientList.map((client) => [client.clientId, client.clientSecret]));
  const permissions = new Map<string, ReadonlySet<string>>(
    clientList.map((client) => [client.clientId, new Set(client.permissions ?? EXAS_PERMISSIONS)]),
  );
  if (options.offQueueUnlessOnQueue === true) enforceOffQueueUnlessOnQueue(state);
  let wsBaseUrl = '';
  const { app, control } = createGcApp({
    state,
    hub,
    limiter,
    clients,
    permissions,
    checkPermissions: strict,
    checkRoutingSource: strict,
    offQueueUnlessOnQueue: options.offQueueUnlessOnQueue === true,
    maxBatchSize: options.maxBatchSize ?? 100,
    maxBodyBytes: options.maxBodyBytes ?? (strict ? 512_000 : 1024 * 1024),
    maxPageSize: options.maxPageSize ?? 500,
    tokenTtlSeconds: options.tokenTtlSeconds ?? 86_400,
    authority: options.authority ?? 'engage',
    now,
    random: options.random ?? Math.random,
    wsBaseUrl: () => wsBaseUrl,
  });
  if (options.dropExpansionsFor !== undefined) control.dropExpansions = options.dropExpansionsFor;
  const server = await serve(app.fetch, {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    onUpgrade: (request, socket, head) => hub.handleUpgrade(request, socket, head),
  });
  wsBaseUrl = server.url.replace(/^http/, 'ws');
  const userOrThrow = (userId: string) => {
    const user = state.byId.get(userId);
    if (user === undefined) throw new Error(`unknown user ${userId}`);
    return user;
  };
  return {
    url: server.url,
    port: server.port,
    wsUrl: wsBaseUrl,
    async close() {
      hub.close();
      await server.close();
    },
    users: () => state.users.map((user) => control.userView(user)),
    user: (userId) => {
      const user = state.byId.get(userId);
      return user ? control.userView(user) : undefined;
    },
    userIds: () => state.users.map((user) => user.id),
    changedAt: (userId) => {
      const user = state.byId.get(userId);
      return user === undefined ? undefined : { presence: user.presenceChangedAt, routingStatus: user.routingStatusChangedAt };
    },
    userIdOf: (externalId) => state.byExternalId.get(externalId)?.id,
    setUserState(userId, change) {
      const problem = control.writeAsSomeoneElse(userOrThrow(userId), change);
      if (problem) throw new Error(problem);
    },
    primarySourceOf: (userId) => state.byId.get(userId)?.primarySourceId,
    setPrimarySource(userId, sourceId) {
      if (!state.sources.has(sourceId)) throw new Error(`unknown presence source ${sourceId}`);
      state.setPrimarySource(userOrThrow(userId), sourceId);
    },
    sources: () => [...state.sources.values()].map((source) => ({ id: source.id, name: source.name })),
    setFaults: (faults) => control.setFaults(faults),
    dropExpansions: (which) => void (control.dropExpansions = which),
    faults: () => ({ ...control.faults }),
    setClientPermissions(clientId, granted) {
      if (!clients.has(clientId)) throw new Error(`unknown client ${clientId}`);
      permissions.set(clientId, new Set(granted));
    },
    clientPermissions: (clientId) => (clients.has(clientId) ? [...(permissions.get(clientId) ?? [])].sort() : undefined),
    stats: () => structuredClone(control.stats),
    resetStats() {
      control.stats = { requests: 0, byRoute: {}, byStatus: {}, rateLimited: 0, tokensIssued: 0 };
    },
    setBudget: (requestsPerMinute) => limiter.setBudget(requestsPerMinute),
    channels() {
      let topics = 0;
      for (const channel of hub.channels.values()) topics += channel.topics.size;
      return { channels: hub.channels.size, sockets: hub.connectedSockets(), topics };
    },
    sendHeartbeats: () => hub.sendHeartbeats(),
    onUserChange: (listener) => state.onChange((change) => listener(change.user.id, change.kind, control.userView(change.user))),
  };
}
