/**
 * The sidecar's adapters built from an `ExasConfig`: the GC clients (each with its own budget), the Stat Server
 * source (Statistics API or bridge) and the identity lookup. Pure builders, apart from the sidecar's wiring, so
 * `createSidecar` reads as the composition it is. Secrets are read through `secrets()` at use, so a SIGHUP with
 * rotated secrets reaches the clients without a restart.
 */
import type { ExasConfig } from '../config/index.ts';
import { createGcClient, createIdentityResolver, createSlidingWindowBudget, PACED_BURST_SHARE, type GcClient, type IdentityResolver, type PermissionMonitor } from '../gc/index.ts';
import { createBridgeSource, createStatisticsApiSource, type StatSource } from '../statserver/index.ts';
import type { IdentityLookup } from '../sync/connector/index.ts';
import { STATE_EXPANSIONS } from '../sync/gc-adapters.ts';

/** One GC client per configured OAuth client, each pacing itself on its own budget. */
export function gcClientsFromConfig(config: ExasConfig, secrets: () => ExasConfig, permissions: PermissionMonitor, gcFetch: typeof fetch | undefined): GcClient[] {
  return config.gc.clients.map((credentials, index) =>
    createGcClient({
      ...(config.gc.baseUrl === null ? { region: config.gc.region } : { baseUrl: config.gc.baseUrl }),
      ...(config.gc.loginUrl === null ? {} : { loginUrl: config.gc.loginUrl }),
      clientId: credentials.clientId,
      clientSecret: () => (secrets().gc.clients[index] ?? credentials).clientSecret.reveal(),
      // 3 % of the budget may leave at once; the rest is paced at the rate left after that burst, so neither a
      // storm nor a steady stream ever finds the window full (see PACED_BURST_SHARE).
      budget: createSlidingWindowBudget({ requestsPerMinute: config.gc.requestsPerMinute, headroom: config.gc.headroom, burstShare: PACED_BURST_SHARE }),
      timeoutMs: config.gc.timeoutMs,
      name: `client-${index}`,
      permissions,
      ...(gcFetch === undefined ? {} : { fetch: gcFetch }),
    }),
  );
}

/** The Stat Server source the config names: the bridge, or the Statistics API (which needs an API key). */
export function statSourceFromConfig(config: ExasConfig, secrets: () => ExasConfig): StatSource {
  const stat = config.statServer;
  if (stat.source === 'bridge') {
    return createBridgeSource({
      ...(stat.bridgeListen === null ? { urls: stat.endpoints.map((endpoint) => endpoint.baseUrl) } : { host: stat.bridgeListen.host, port: stat.bridgeListen.port }),
      reconnect: { initialMs: stat.reconnect.initialDelayMs, maxMs: stat.reconnect.maxDelayMs },
      ...(stat.bearerToken === null ? {} : { token: stat.bearerToken.reveal() }),
      reasonKey: stat.reasonKey,
      settleMs: stat.settleMs,
    });
  }
  if (config.statServer.apiKey === null) {
    throw new Error('statServer.apiKey: the Statistics API needs an API key (EXAS_STAT_API_KEY, EXAS_STAT_API_KEY_FILE, or statServer.apiKeyEnv / apiKeyFile)');
  }
  return createStatisticsApiSource({
    endpoints: config.statServer.endpoints.map((endpoint) => ({ baseUrl: endpoint.baseUrl })),
    apiKey: config.statServer.apiKey?.reveal() ?? '',
    ...(config.statServer.bearerToken === null ? {} : { bearerToken: async () => (secrets().statServer.bearerToken ?? config.statServer.bearerToken)?.reveal() ?? '' }),
    reasonKey: config.statServer.reasonKey,
    settleMs: config.statServer.settleMs,
    batchSize: config.statServer.batchSize,
    refusedRetryMs: config.statServer.refusedRetrySeconds * 1000,
    reconnect: { initialMs: config.statServer.reconnect.initialDelayMs, maxMs: config.statServer.reconnect.maxDelayMs },
  });
}

/**
 * The identity resolver on the first GC client (identity key, authority, mode and cache from the config). Its
 * listing pages also carry GC state (`expand`) for the start-up resync at the request floor (src/sync/cold-resync.ts).
 */
export function identityResolverFromConfig(firstClient: GcClient | undefined, config: ExasConfig): IdentityResolver {
  if (firstClient === undefined) throw new Error('identity: no GC client configured');
  return createIdentityResolver(firstClient, {
    key: config.identity.key,
    authority: config.identity.authority,
    ...(config.identity.mode === 'auto' ? {} : { mode: config.identity.mode }),
    cachePath: config.identity.cachePath,
    expand: STATE_EXPANSIONS,
  });
}

/** Agent ids → GC user ids through the resolver. */
export function identityFromResolver(resolver: IdentityResolver): IdentityLookup {
  return (agentIds: readonly string[], signal?: AbortSignal) => resolver.resolve(agentIds, signal);
}
