/**
 * The whole sidecar, built from an `ExasConfig`: Stat Server source, rules (with hot reload), GC clients with
 * their budgets, catalog, identity, write targets, writer, store, connector, drift watcher and the operator HTTP
 * server. Every part can be injected instead (tests pass a fake StatSource, fake write targets, a clock).
 *
 * Lifecycle: `start()` never fails because GC or Stat Server is down (work is retried in the background and
 * `/readyz` says not ready). `stop(graceMs)` stops intake, flushes what the budget allows within the grace
 * period, saves the store and closes everything.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { ExasConfig } from '../config/index.ts';
import {
  createPermissionMonitor,
  createPresenceCatalog,
  GcNetworkError,
  GcServerError,
  type GcClient,
  type GcWriteTarget,
  type PresenceCatalog,
} from '../gc/index.ts';
import { createOperatorJobPool, startOperatorServer, type OperatorDeps, type OperatorJobPool, type OperatorServer, type OperatorServerOptions } from '../http/index.ts';
import { createLogger, type Logger } from '../log.ts';
import { createExasMetrics, type ExasMetrics, type MetricsSnapshot } from '../metrics/index.ts';
import { type LoadResult, type VetResult } from '../rules/index.ts';
import type { StatSource } from '../statserver/index.ts';
import { createConnector, type Connector, type ConnectorTimers, type GcStateReader, type IdentityLookup, type StatePersistence } from '../sync/connector/index.ts';
import { withOperatorSurface, type OperatedConnector } from '../operator/index.ts';
import { gcClientsFromConfig, identityFromResolver, identityResolverFromConfig, statSourceFromConfig } from './from-config.ts';
import { deferredWriteTarget, gcMetrics, gcPagedIdentity, gcPagedState, gcShownReader, gcStateReader, previewWrites, type GcWriteSetup } from '../sync/gc-adapters.ts';
import type { PagedIdentityLookup } from '../sync/cold-resync.ts';
import { createPrimarySourceKeeper, type PrimarySourceKeeper } from '../sync/primary-source.ts';
import { startDriftWatcher, type DriftWatcher, type NotificationChannels } from '../sync/drift-watcher.ts';
import { createRulesHolder, type RulesHolder } from '../sync/rules-holder.ts';
import { fileScope, listScope, type ScopeProvider } from '../sync/scope.ts';
import { createFileStore, type AcknowledgedEntries, type AcknowledgedStore } from '../sync/store.ts';
import { createWriter, type Writer } from '../sync/writer/index.ts';
import { startPermissionRecheck } from '../sync/permission-recheck.ts';
import { retryDelayMs } from '../sync/backoff.ts';
import { leadershipFromConfig, type Leadership } from '../ha/index.ts';
import { VERSION } from '../version.ts';
import { sharedAbortController } from '../platform/abort.ts';
import { withDeadline } from '../platform/deadline.ts';

/** Parts a test (or an embedding program) may supply instead of the real adapters. */
export interface SidecarParts {
  readonly source?: StatSource;
  readonly targets?: readonly GcWriteTarget[];
  readonly identity?: IdentityLookup;
  readonly gcState?: GcStateReader;
  readonly scope?: ScopeProvider;
  readonly store?: StatePersistence & Partial<Pick<AcknowledgedStore, 'close'>>;
  readonly loadRules?: (file: string) => Promise<LoadResult>;
  /** Notification channels for drift (default: GC's, through the GC clients). Null disables the watcher. */
  readonly channels?: NotificationChannels | null;
  readonly now?: () => number;
  readonly timers?: ConnectorTimers;
  /** Start the operator HTTP server (default true). */
  readonly http?: boolean;
  /** Worker threads for rules vetting and dry runs (default: a pool of `http.maxConcurrentDryRuns` + 1 workers). */
  readonly jobs?: OperatorJobPool;
  readonly logger?: Logger;
  /** High availability: the lease (default: from config `ha`; null: a single instance that always writes). */
  readonly leadership?: Leadership | null;
}

export interface Sidecar {
  /** The connector with the operator surface on it (src/operator). */
  readonly connector: OperatedConnector;
  readonly writer: Writer;
  readonly rules: RulesHolder;
  readonly metrics: ExasMetrics;
  /** The lease (null without `ha`). */
  readonly leadership: Leadership | null;
  /** The operator server once started (null with `http: false`). */
  readonly http: OperatorServer | null;
  /** The `gc.primarySource` keeper (undefined when off, in per-user mode, or with injected write targets). */
  readonly primarySource: PrimarySourceKeeper | undefined;
  /** Loads the rules, starts the writer, the connector, the drift watcher and the HTTP server. */
  start(): Promise<void>;
  /**
   * Stops intake, flushes within `graceMs` (default: config `lifecycle.shutdownGraceSeconds`), saves the store
   * and closes everything. Returns how many user writes were still owed at the end.
   */
  stop(graceMs?: number): Promise<{ sent: number; remaining: number }>;
  /**
   * Takes rotated secrets from a re-read config (SIGHUP): GC client secrets are used from the next token request
   * (a 401 fetches one at once), the Statistics API bearer token from the next request or 401. Other settings
   * need a restart.
   */
  updateCredentials(next: ExasConfig): void;
}

/** How long the start-up read of GC state waits for the drift watch (notification channels) to be in place. */
const WATCH_BEFORE_READ_MS = 15_000;

/**
 * Builds the sidecar.
 *
 * @example
 * const { config } = loadConfigFile('exas.yaml');
 * const sidecar = createSidecar(config!);
 * await sidecar.start();
 * process.once('SIGTERM', () => void sidecar.stop().then(() => process.exit(0)));
 */
export function createSidecar(config: ExasConfig, parts: SidecarParts = {}): Sidecar {
  const log = parts.logger ?? createLogger('sidecar');
  const now = parts.now ?? Date.now;
  const abort = sharedAbortController();
  const background = new Set<Promise<unknown>>();
  let stopping = false;

  // Secrets are read through this, so a SIGHUP with rotated secrets reaches the clients without a restart.
  let secrets = config;

  // ---- High availability: the lease, and the write gate it opens only while this instance provably holds it.
  const leadership: Leadership | null =
    parts.leadership !== undefined ? parts.leadership : config.ha === null ? null : leadershipFromConfig(config.ha, { logger: log.child('ha') });
  // Each instance names itself to GC, so GC's request log (and the chaos oracle) can tell the writers apart.
  const gcFetch: typeof fetch | undefined =
    leadership === null ? undefined : (input, init) => fetch(input, { ...init, headers: withUserAgent(init?.headers, `exas/${VERSION} (${leadership.identity})`) });

  // ---- GC: clients with their own budgets; catalog and presence source set up in the background.
  // A 403 names the permissions the OAuth client lacks: remembered per endpoint for /readyz and /metrics.
  const permissions = createPermissionMonitor({ now });
  const clients: GcClient[] = parts.targets === undefined ? gcClientsFromConfig(config, () => secrets, permissions, gcFetch) : [];
  const firstClient = clients[0];
  const catalog: PresenceCatalog | undefined = firstClient === undefined ? undefined : createPresenceCatalog(firstClient);
  let writeSetup: GcWriteSetup | undefined;
  // True while GC set-up fails because GC does not answer (5xx, timeout, network), not because of the token.
  let setUpUnreachable = false;
  const targets: readonly GcWriteTarget[] =
    parts.targets ??
    clients.map((client) => deferredWriteTarget(client, { mode: config.writer.mode, batchSize: config.writer.batchSize, setup: () => writeSetup }));

  // ---- Stat Server.
  const source: StatSource = parts.source ?? statSourceFromConfig(config, () => secrets);

  // ---- Rules, scope, identity, store. Rules files are vetted (parsed, linted, compiled, tested) on a worker
  // thread, like dry runs: a large file cannot hold up Stat Server handling or GC writes.
  const jobs: OperatorJobPool = parts.jobs ?? createOperatorJobPool(config.http.maxConcurrentDryRuns);
  const vet = async (text: string, file: string, runTests: boolean): Promise<VetResult> => (await jobs.run({ kind: 'vet', text, file, runTests })) as VetResult;
  const rules = createRulesHolder({
    file: config.rules.file,
    ...(parts.loadRules === undefined ? { vet } : { load: parts.loadRules }),
    runTests: config.rules.testOnReload,
    maxFileBytes: config.rules.maxFileBytes,
    now,
  });
  const scope: ScopeProvider =
    parts.scope ??
    (config.scope.source === 'list'
      ? listScope(config.scope.agents)
      : config.scope.source === 'file'
        ? fileScope(config.scope.file)
        : gcUserScope(clients, config));
  // The resolver's listing pages also carry GC state for the start-up resync (src/sync/cold-resync.ts).
  const resolver = parts.identity === undefined ? identityResolverFromConfig(firstClient, config) : undefined;
  const identity: IdentityLookup = resolver === undefined ? (parts.identity ?? unreachableIdentity) : identityFromResolver(resolver);
  const store = parts.store ?? createFileStore(config.store.path, { debounceMs: config.store.saveIntervalSeconds * 1000 });
  const loadedCatalog = (): PresenceCatalog | undefined => (catalog?.loadedAt ? catalog : undefined);

  /** Aborted when this instance stops leading: GC changes under way must not go on (high availability). */
  let leaderTerm = new AbortController();

  // ---- Primary presence source (inject mode): found from reads EXAS makes anyway, remembered in the store.
  let writerRef: Writer | undefined;
  const primarySource: PrimarySourceKeeper | undefined =
    config.writer.mode === 'inject' && config.gc.primarySource !== 'off' && clients.length > 0
      ? createPrimarySourceKeeper({
          mode: config.gc.primarySource,
          workers: clients.length,
          setPrimary: async (userId, sourceId, worker, signal) => {
            // A change under way stops when this instance stops leading (high availability).
            const term = leadership === null ? signal : AbortSignal.any([signal, leaderTerm.signal]);
            await (clients[worker % clients.length] as GcClient).setPrimarySource(userId, sourceId, term);
          },
          // A standby changes nothing in GC: its users wait until it holds the lease.
          canWrite: () => leadership === null || leadership.isOpen(),
          readShown: gcShownReader(clients, loadedCatalog),
          acknowledgedPresence: (userId) => writerRef?.get(userId)?.acknowledged?.presence,
          onConfirmedChange: () => saveWithConfirmations(),
        })
      : undefined;
  // The store saves the connector's ledger and, beside it, the users confirmed primary.
  let ledger: (() => AcknowledgedEntries) | undefined;
  const withConfirmations = (entries: AcknowledgedEntries): AcknowledgedEntries =>
    primarySource === undefined ? entries : { forEach: (visit) => entries.forEach(visit), primarySource: primarySource.snapshot() };
  const saveWithConfirmations = (): void => {
    // Before the connector's first save there is no ledger to save them with; its first save takes them along.
    const current = ledger;
    if (current !== undefined) store.scheduleSave(() => withConfirmations(current()));
  };
  const persistence: StatePersistence = {
    async load() {
      const loaded = await store.load();
      primarySource?.loadSaved(loaded.primarySource);
      return loaded;
    },
    scheduleSave(snapshot) {
      ledger = snapshot;
      store.scheduleSave(() => withConfirmations(snapshot()));
    },
    flush: () => store.flush(),
  };
  const onShown = primarySource === undefined ? undefined : (shown: Parameters<PrimarySourceKeeper['observeShown']>[0]): void => primarySource.observeShown(shown);
  const gcState = parts.gcState ?? (clients.length > 0 ? gcStateReader(clients, loadedCatalog, onShown) : undefined);
  // Resync at the request floor: state from listing pages, only when the sidecar builds the readers itself (not
  // with test doubles for identity or GC state).
  const pagedIdentity: PagedIdentityLookup | undefined = resolver === undefined || parts.gcState !== undefined ? undefined : gcPagedIdentity(resolver, loadedCatalog, onShown);
  const pagedState = parts.gcState === undefined && clients.length > 0 ? gcPagedState(clients, loadedCatalog, onShown) : undefined;

  // ---- Writer and connector (the writer's callbacks reach the connector once both exist).
  let connectorRef: Connector | undefined;
  /**
   * With the streaming start (cold-resync.ts), acknowledged users are told to the primary-source keeper only once
   * its gap check has read every user after the writes: that read is the keeper's evidence (EXAS's source shown),
   * where its own check of each acknowledged user would cost N / 100 reads during the resync.
   */
  let keeperAcksHeld: Set<string> | undefined = pagedIdentity !== undefined && primarySource !== undefined ? new Set() : undefined;
  const noteKeeperAck = (userId: string): void => (keeperAcksHeld === undefined ? primarySource?.noteAcknowledged(userId) : void keeperAcksHeld.add(userId));
  const releaseKeeperAcks = (): void => {
    const held = keeperAcksHeld;
    keeperAcksHeld = undefined;
    for (const userId of held ?? []) primarySource?.noteAcknowledged(userId);
  };
  const writer = createWriter({
    targets,
    batchSize: config.writer.batchSize,
    now,
    onAcknowledged: (userId, state, version) => {
      connectorRef?.handleAcknowledged(userId, state, version);
      noteKeeperAck(userId);
    },
    onFieldAcknowledged: (userId, field) => {
      connectorRef?.handleFieldAcknowledged(userId, field);
      if (field === 'presence') noteKeeperAck(userId);
    },
    onFailed: (userId, error, retryable, wholeRequest) => connectorRef?.handleFailed(userId, error, retryable, wholeRequest),
    ...(leadership === null ? {} : { gate: leadership }),
  });
  writerRef = writer;
  const metrics = createExasMetrics();
  const connector = withOperatorSurface(
    createConnector({
    source,
    writer,
    rules,
    identity,
    scope,
    store: persistence,
    ...(gcState === undefined ? {} : { gcState }),
    ...(pagedIdentity === undefined ? {} : { pagedIdentity }),
    ...(pagedState === undefined ? {} : { pagedState }),
    onStartChecked: releaseKeeperAcks,
    watchBeforeRead: () =>
      withDeadline(driftWatchApplied(), WATCH_BEFORE_READ_MS, () => new Error(`notification channels not set up within ${WATCH_BEFORE_READ_MS / 1000} s`)),
    keepFallback: config.writer.keepFallback,
    drift: {
      policy: config.drift.policy,
      maxReasserts: config.drift.maxReasserts,
      windowMs: config.drift.windowSeconds * 1000,
      echoWindowMs: config.drift.echoWindowSeconds * 1000,
    },
    retry: { initialDelayMs: config.lifecycle.retryInitialDelayMs, maxDelayMs: config.lifecycle.retryMaxDelayMs },
    scopeRefreshMs: config.scope.refreshIntervalSeconds * 1000,
    identityRefreshMs: config.identity.refreshIntervalSeconds * 1000,
    ...(parts.targets === undefined
      ? {
          gcReady: () => writeSetup !== undefined,
          gcReachable: () => !setUpUnreachable,
          gcStats: () => ({
            ...gcMetrics(clients),
            permissions: permissions.stats(),
            ...(primarySource === undefined ? {} : { primarySource: (({ fixed, notPrimary, confirmed }) => ({ fixed, notPrimary, confirmed }))(primarySource.stats()) }),
          }),
        }
      : {}),
    ...(primarySource !== undefined && config.gc.primarySource === 'check'
      ? { extraReadiness: () => ({ primarySourceReady: primarySource.notPrimaryCount() === 0, usersNotPrimary: primarySource.notPrimaryCount() }) }
      : {}),
    ...(parts.targets === undefined ? { gcMissingPermissions: () => permissions.missing() } : {}),
    metrics,
    now,
    ...(parts.timers === undefined ? {} : { timers: parts.timers }),
    ...(leadership === null ? {} : { lease: () => leadership.view() }),
  }),
    // The operator read model (src/operator), built on the connector: sync itself knows nothing of it.
    { writer, rules, source, previewRequests: previewWrites(config.writer.mode, () => writeSetup, now), now },
  );
  connectorRef = connector;
  const storeStats = (store as Partial<Pick<AcknowledgedStore, 'stats'>>).stats?.bind(store);
  const metricsSource = (): MetricsSnapshot => {
    const snapshot = connector.metricsSnapshot();
    if (storeStats === undefined) return snapshot;
    const { saves, saveFailures, consecutiveFailures, lastSaveAt } = storeStats();
    return { ...snapshot, store: { saves, saveFailures, consecutiveFailures, lastSaveAt } };
  };
  metrics.setSource(metricsSource);
  metrics.setReadiness(() => connector.readiness());

  let http: OperatorServer | null = null;
  let watcher: FSWatcher | undefined;
  let permissionRecheck: { stop(): void } | undefined;
  let driftWatcher: DriftWatcher | undefined;
  // Settled once `start` has started the drift watcher (or decided not to): the start-up read waits for it.
  let driftWatchDecided: () => void = () => undefined;
  const driftWatchStarted = new Promise<void>((resolve) => (driftWatchDecided = resolve));
  const driftWatchApplied = async (): Promise<void> => {
    await driftWatchStarted;
    await driftWatcher?.refresh();
  };

  /** GC set-up that must succeed before writes: token (implicitly), catalog, EXAS's presence source. */
  const setUpGc = async (): Promise<void> => {
    if (firstClient === undefined || catalog === undefined) return;
    for (let attempt = 1; !stopping; attempt += 1) {
      try {
        await catalog.load(abort.signal);
        const sourceId = config.writer.mode === 'inject' ? (await firstClient.ensurePresenceSource(config.gc.presenceSourceName, { signal: abort.signal })).id : undefined;
        writeSetup = { catalog, sourceId };
        if (sourceId !== undefined) primarySource?.sourceReady(sourceId);
        setUpUnreachable = false;
        catalog.start();
        checkRulePresences();
        log.info('GC ready: presence catalog loaded', { presences: catalog.names().length, sourceId, mode: config.writer.mode });
        // Writes tried while GC was not set up back off; they need not wait out that backoff now.
        writer.gcAnswers();
        return;
      } catch (error) {
        if (stopping) return;
        setUpUnreachable = error instanceof GcServerError || error instanceof GcNetworkError;
        const delay = retryDelayMs(attempt, { baseMs: config.lifecycle.retryInitialDelayMs, maxMs: config.lifecycle.retryMaxDelayMs, random: Math.random });
        log.warn('GC set-up failed; retrying', { reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error), attempt, retryInMs: delay });
        await new Promise<void>((resolve) => {
          const onAbort = (): void => {
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(() => {
            abort.signal.removeEventListener('abort', onAbort);
            resolve();
          }, delay);
          abort.signal.addEventListener('abort', onAbort, { once: true });
        });
      }
    }
  };

  /** Presences the rules can output but the org's catalog lacks would fail every write: say so early. */
  const checkRulePresences = (): void => {
    const program = rules.current();
    if (program === null || writeSetup === undefined) return;
    const missing = program.presences.filter((name) => writeSetup?.catalog.tryResolve(name) === undefined);
    if (missing.length > 0) log.error('rules name presences the GC org does not have; those writes will fail', { missing, file: program.file });
  };

  /** Watches GC notifications for drift: only where this instance writes (always without `ha`; the leader with it). */
  const channels: NotificationChannels | null = parts.channels === undefined ? (clients.length > 0 ? gcChannels(clients) : null) : parts.channels;
  let connectorStarted = false;
  const startDriftWatch = (): void => {
    if (driftWatcher !== undefined || stopping || !connectorStarted || config.drift.policy === 'off' || channels === null) return;
    if (leadership !== null && !leadership.isOpen()) return;
    driftWatcher = startDriftWatcher({
      connector,
      channels,
      presenceName: (definitionId, systemPresence) => writeSetup?.catalog.nameOf(definitionId) ?? systemPresence,
      limits: {
        clients: Math.max(1, channels.clients),
        channelsPerClient: config.drift.channelsPerClient,
        topicsPerChannel: config.drift.topicsPerChannel,
      },
      renewMs: config.drift.channelRenewSeconds * 1000,
      bulkReadMs: config.drift.bulkReadIntervalSeconds * 1000,
    });
  };

  /**
   * A write the previous leader had in flight can still land at GC up to `gc.timeoutMs` after its gate closed,
   * overwriting a takeover's write unseen: the takeover's bulk read came before it and the channels were not up
   * yet (chaos HA). Once the channels are up and that time has passed since the takeover began, every user is
   * read once more by listing pages (N / 500 requests) and judged as a notification would; a change landing
   * later is notified. Without paged reads or a drift watch this is skipped.
   */
  const checkAfterTakeover = async (takeoverAt: number, term: AbortSignal): Promise<void> => {
    if (driftWatcher === undefined) return;
    try {
      await driftWatcher.refresh();
      const left = takeoverAt + config.gc.timeoutMs - now();
      if (left > 0) await sleepUnless(left, AbortSignal.any([term, abort.signal]));
      if (term.aborted || stopping) return;
      if (await connector.checkByPages()) log.info('GC state read by pages after the takeover (writes of the previous leader landing late)');
    } catch (error) {
      if (!term.aborted && !stopping) log.warn('check of GC state after the takeover failed', { reason: error instanceof Error ? error.message : String(error) });
    }
  };

  const track = (promise: Promise<unknown>): void => {
    background.add(promise);
    void promise.finally(() => background.delete(promise));
  };

  const sidecar: Sidecar = {
    connector,
    writer,
    rules,
    metrics,
    primarySource,
    leadership,
    get http() {
      return http;
    },

    async start() {
      const first = await rules.reload();
      if (!first.ok) log.error('rules file rejected at start; EXAS stays not ready until a good file is loaded', { file: config.rules.file });
      rules.onChange(() => checkRulePresences());
      if (config.rules.watch) watcher = watchRulesFile(config.rules.file, () => void rules.reload(), log);
      writer.start();
      metrics.history.start();
      permissionRecheck = startPermissionRecheck({ monitor: permissions, writer });
      if (config.writer.mode === 'inject' && config.gc.primarySource === 'off' && clients.length > 0) {
        log.warn("gc.primarySource is off: injected presence shows in GC only for users whose primary presence source is already EXAS's; for the others presence will not show", {
          source: config.gc.presenceSourceName,
          remedy: 'set gc.primarySource: fix (the default), or run exas doctor --fix once',
        });
      }
      track(setUpGc());
      leadership?.onTransition((transition) => {
        if (stopping) return;
        if (transition.role === 'leader') {
          // Changes the previous leader may not have written: since its last renewal could have been a whole
          // lease (plus a renewal interval and 2 s of its own write lag) before this takeover.
          const lease = config.ha?.lease ?? { durationSeconds: 15, renewSeconds: 5 };
          leaderTerm = new AbortController();
          connector.takeOver(transition.at - (lease.durationSeconds + lease.renewSeconds) * 1000 - 2_000);
          primarySource?.writingAllowed();
          // The drift watch opens its channels through the budget the writes use (a create and a subscribe per
          // channel: 40 requests at 20,000 users); opened at once, they held the takeover's first write back ~2 s
          // (bench ha). So it starts once the writer sent what the takeover owes (5 s at most, under a storm).
          const term = leaderTerm.signal;
          let wait: ReturnType<typeof setTimeout> | undefined;
          void Promise.race([writer.onIdle(), new Promise<void>((resolve) => (wait = setTimeout(resolve, 5_000)))]).then(() => {
            clearTimeout(wait);
            if (term.aborted) return;
            startDriftWatch();
            track(checkAfterTakeover(transition.at, term));
          });
        } else {
          leaderTerm.abort();
          // Drift is the leader's to repair: a standby would only see the leader's writes.
          const stopping = driftWatcher;
          driftWatcher = undefined;
          void stopping?.stop();
        }
      });
      leadership?.start();
      await connector.start();
      connectorStarted = true;
      startDriftWatch();
      driftWatchDecided();
      if (parts.http !== false) {
        // The operator pages read the store's health from the same source as /metrics.
        const deps: OperatorDeps = Object.create(connector, { metrics: { value: metricsSource } }) as OperatorDeps;
        http = await startOperatorServer(deps, { ...operatorServerOptions(config), metrics, jobs });
        log.info('operator endpoints up', { url: http.url, workerThreads: jobs.isolated });
      }
    },

    async stop(graceMs = config.lifecycle.shutdownGraceSeconds * 1000) {
      if (stopping) return { sent: 0, remaining: writer.stats().pendingUsers };
      stopping = true;
      log.info('stopping: intake closed, flushing pending writes', { graceMs, pendingUsers: writer.stats().pendingUsers });
      watcher?.close();
      permissionRecheck?.stop();
      await driftWatcher?.stop();
      await connector.stop();
      // A leader flushes while it still holds the lease, then releases it so a standby takes over at once.
      const flushed = await writer.flush(graceMs);
      await leadership?.stop(true);
      abort.abort();
      // Before the last save, so every user confirmed by then is saved with it.
      await primarySource?.stop();
      await writer.stop();
      await connector.saveStore();
      await store.close?.();
      catalog?.stop();
      await Promise.allSettled([...background]);
      if (http !== null) await http.close();
      metrics.history.stop();
      await jobs.close();
      log.info('stopped', { sent: flushed.sent, remaining: flushed.remaining });
      return flushed;
    },

    updateCredentials(next) {
      const rotated = next.gc.clients.filter((client, index) => client.clientSecret.reveal() !== secrets.gc.clients[index]?.clientSecret.reveal()).length;
      const statTokenRotated = next.statServer.bearerToken?.reveal() !== secrets.statServer.bearerToken?.reveal();
      secrets = next;
      log.info('credentials re-read', { gcClientsRotated: rotated, statServerBearerRotated: statTokenRotated });
    },
  };
  return sidecar;
}

/** The operator server's options from the config (also checked by `exas run --check`). */
export function operatorServerOptions(config: ExasConfig): OperatorServerOptions {
  return {
    host: config.http.host,
    port: config.http.port,
    maxConcurrentDryRuns: config.http.maxConcurrentDryRuns,
    maxDryRunEvents: config.http.maxDryRunEvents,
    maxConnections: config.http.maxConnections,
    allowedHosts: config.http.allowedHosts,
    allowUnauthenticated: config.http.allowUnauthenticated,
    ...(config.http.token === null ? {} : { adminToken: config.http.token.reveal() }),
    ...(config.http.readToken === null ? {} : { readToken: config.http.readToken.reveal() }),
  };
}

/** Headers with `user-agent` set (GC clients pass a plain record; any HeadersInit is accepted). */
function withUserAgent(headers: HeadersInit | undefined, userAgent: string): Headers {
  const out = new Headers(headers);
  out.set('user-agent', userAgent);
  return out;
}

/** Reloads when the rules file changes; watches the directory so editors that replace the file are seen too. */
function watchRulesFile(file: string, reload: () => void, log: Logger): FSWatcher | undefined {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const watcher = watch(dirname(file), (_event, name) => {
      // Kubernetes updates a mounted ConfigMap by swapping the `..data` symlink, never touching the file's name.
      if (name !== null && name !== basename(file) && name !== '..data') return;
      // Editors write in several steps; one reload after they settle.
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(reload, 200);
    });
    watcher.on('error', (error) => log.warn('rules file watch failed; SIGHUP and POST /-/reload still reload', { error }));
    watcher.unref?.();
    return watcher;
  } catch (error) {
    log.warn('cannot watch the rules file; SIGHUP and POST /-/reload still reload', { file, error });
    return undefined;
  }
}

/** Scope from GC: every user carrying the identity key (username, email or employee id), listed in pages. */
function gcUserScope(clients: readonly GcClient[], config: ExasConfig): ScopeProvider {
  return async (signal) => {
    const client = clients[0];
    if (client === undefined) throw new Error('scope: no GC client configured');
    const out: string[] = [];
    for (let pageNumber = 1; ; pageNumber += 1) {
      const page = await client.listUsers({ pageSize: 500, pageNumber, ...(config.identity.key === 'employeeId' ? { expand: ['employerInfo'] } : {}), ...(signal ? { signal } : {}) });
      for (const user of page.entities) {
        const key = config.identity.key === 'username' ? user.username : config.identity.key === 'email' ? user.email : user.employerInfo?.employeeId;
        if (typeof key === 'string' && key !== '') out.push(key);
      }
      if (page.entities.length < page.pageSize || (page.pageCount !== undefined && pageNumber >= page.pageCount)) break;
    }
    return out;
  };
}

/** GC notification channels through the clients (one channel set per client). */
function gcChannels(clients: readonly GcClient[]): NotificationChannels {
  return {
    clients: clients.length,
    async create(clientIndex, signal) {
      const client = clients[clientIndex];
      if (client === undefined) throw new Error(`no GC client ${clientIndex}`);
      return client.createChannel(signal);
    },
    async subscribe(clientIndex, channelId, topics, signal) {
      const client = clients[clientIndex];
      if (client === undefined) throw new Error(`no GC client ${clientIndex}`);
      await client.subscribe(channelId, topics, { replace: true, ...(signal ? { signal } : {}) });
    },
  };
}

/** Never called: without `parts.identity` the resolver is built (or building it threw). */
const unreachableIdentity: IdentityLookup = () => Promise.reject(new Error('identity: no GC client configured'));

/** Resolves after `ms`, or at once when `signal` aborts (shutdown must not wait out the timer). */
function sleepUnless(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (signal.aborted) done();
    else signal.addEventListener('abort', done, { once: true });
  });
}
