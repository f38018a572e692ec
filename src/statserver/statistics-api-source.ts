/**
 * The Statistics API v3 adapter: a `StatSource` over Genesys Web Services' HTTP + CometD facade of Stat
 * Server. For each agent in scope it opens CurrentState and CurrentStateReason (ad-hoc definitions or
 * pre-configured names, Immediate mode) in batched subscriptions, folds updates through the normalizer and
 * settle window, and on every (re)connect — with exponential backoff, jitter, and failover across the
 * endpoint list — reopens everything and reads current values, so a gap never leaves a stale state.
 *
 * A subscription batch Stat Server refuses (a non-zero `status.code`; the real error names no statistic) is
 * split in halves until the refused agents are isolated; the rest are opened, so one unknown employee id
 * never keeps the others from syncing. Refused agents are reported (`refusal()`, `stats().refusedAgents`)
 * and asked again every `refusedRetryMs`. Peeks are packed so no request line exceeds 4 KiB.
 */
import { randomUUID } from 'node:crypto';
import type { AgentObservation, StatSource } from './stat-source.ts';
import type { StatisticRole } from './agent-table.ts';
import { CometdSession, clearCookies, cookiesFor, storeSetCookie } from './cometd-client.ts';
import { readServiceState, readStatisticItems, readStatusCode, type StatisticItem } from './messages.ts';
import { MAX_REQUEST_LINE_BYTES, peekRequests } from './request-line.ts';
import { SourceBase, type SourceBaseOptions } from './source-base.ts';

export const UPDATES_CHANNEL = '/statistics/v3/updates';
export const SERVICE_CHANNEL = '/statistics/v3/service';

/** How the two statistics are asked for. */
export interface StatisticsSelection {
  /** `ad-hoc` sends definitions (RequestOpenStatisticEx); `named` refers to statistics configured on Stat Server. */
  mode: 'ad-hoc' | 'named';
  /** Pre-configured name of the CurrentState statistic (named mode; default `CurrentState`). */
  currentStateName?: string;
  /** Pre-configured name of the CurrentStateReason statistic (named mode; default `CurrentStateReason`). */
  reasonsName?: string;
  /** Subject of the ad-hoc CurrentState statistic (default `DNStatus`, as the source page names it). */
  subject?: 'DNAction' | 'DNStatus';
  /** Category of the ad-hoc reasons statistic (default `CurrentStateReasons`; `CurrentState` with DNAction also carries actions and reasons). */
  reasonsCategory?: 'CurrentStateReasons' | 'CurrentState';
}

export interface StatisticsApiSourceOptions extends SourceBaseOptions {
  /** Base URLs of the API gateway (primary first, then backups); the API is under `{baseUrl}/statistics/v3`. */
  endpoints: Array<{ baseUrl: string }>;
  apiKey: string;
  /** A bearer token, or a function that returns a fresh one (called per connect and after a 401). */
  bearerToken?: string | (() => Promise<string>);
  statistics?: StatisticsSelection;
  /** Agents per subscription request (each opens 2 statistics; default 1000). */
  batchSize?: number;
  /** Subscription requests in flight at once (default 4). */
  concurrency?: number;
  /** Backoff between connection attempts: doubles from `initialMs` up to `maxMs`, with ±50 % jitter. */
  reconnect?: { initialMs: number; maxMs: number };
  /** Per HTTP request timeout in ms (default 30,000). */
  requestTimeoutMs?: number;
  /** How often agents whose statistics Stat Server refused are asked for again, ms (default 300,000: 5 min). */
  refusedRetryMs?: number;
  /** Longest request line sent, bytes (default 4096; tests lower it). */
  maxRequestLineBytes?: number;
  /** Injectable randomness for jitter (tests). */
  random?: () => number;
}

/** What one open round (a connect, an open(), a retry) has seen so far. */
interface OpenRound {
  opened: number;
  refused: number;
  /** The "every agent refused" error is logged once per round. */
  toldEveryoneRefused?: boolean;
  /** Agents refused whole with their batch, never isolated (see `splitRefused`). */
  readonly untested: string[];
  /** False in the precise pass that isolates `untested` agents after all. */
  readonly allowShortcut: boolean;
}

/** Untested agents opened one by one to tell "everyone is refused" from "a run of refusals came first". */
const UNTESTED_SAMPLE = 8;

/** Refused agents isolated one by one, with none opened, after which the rest of a batch is refused whole. */
const REFUSE_ALL_AFTER = 32;

/** Default pause between attempts to open refused agents again: Stat Server configuration changes slowly. */
export const DEFAULT_REFUSED_RETRY_MS = 300_000;

/** An HTTP or `status.code` failure of a Statistics API request. */
export class StatisticsApiError extends Error {
  override readonly name = 'StatisticsApiError';
  constructor(
    message: string,
    readonly httpStatus: number,
    readonly statusCode: number | null,
    /** `status.message` of the response, when it had one (Stat Server's own words). */
    readonly serverMessage: string | null = null,
  ) {
    super(message);
  }

  /**
   * Stat Server refused the request (an object or statistic it will not open), as opposed to the link failing:
   * a non-zero `status.code` other than 1 (ASYNC_OK) on a 200 or 400 answer. How the real API sets the HTTP
   * status of that error is not documented, so both are read the same way.
   */
  get refusal(): boolean {
    return this.statusCode !== null && this.statusCode !== 0 && this.statusCode !== 1 && (this.httpStatus === 200 || this.httpStatus === 400);
  }
}

interface Session {
  readonly generation: number;
  readonly endpointIndex: number;
  readonly baseUrl: string;
  readonly cometd: CometdSession;
  /**
   * subscriptionId → how many of its agents are still opened (a count, not a Set of them: `opened` already names
   * each agent's subscription, and a Set entry per agent cost about 40 bytes at 50,000 agents).
   */
  readonly subscriptions: Map<string, number>;
  /** agentId → its subscriptionId. */
  readonly opened: Map<string, string>;
}

const CURRENT_STATE_PREFIX = 'cs-';
const REASONS_PREFIX = 'csr-';

/**
 * The statistic ids EXAS uses for an agent (stable, so an update names its agent and statistic). Peeks list
 * ids comma-separated, so an agent id with a comma (or a `%`) is escaped behind a `%` marker: no statistic id
 * EXAS sends contains a comma, whatever the server decodes before it splits.
 */
export function statisticIds(agentId: string): { currentState: string; reasons: string } {
  const key = /[,%]/.test(agentId) ? '%' + encodeURIComponent(agentId) : agentId;
  return { currentState: CURRENT_STATE_PREFIX + key, reasons: REASONS_PREFIX + key };
}

function agentOfKey(key: string): string | undefined {
  if (!key.startsWith('%')) return key;
  try {
    return decodeURIComponent(key.slice(1));
  } catch {
    return undefined;
  }
}

function roleOf(statisticId: string): { agentId: string; role: StatisticRole } | undefined {
  const [role, prefix]: [StatisticRole, string] | [undefined, undefined] = statisticId.startsWith(REASONS_PREFIX)
    ? ['reasons', REASONS_PREFIX]
    : statisticId.startsWith(CURRENT_STATE_PREFIX)
      ? ['currentState', CURRENT_STATE_PREFIX]
      : [undefined, undefined];
  if (role === undefined) return undefined;
  const agentId = agentOfKey(statisticId.slice(prefix.length));
  return agentId === undefined ? undefined : { agentId, role };
}

/**
 * @example
 * const source = createStatisticsApiSource({ endpoints: [{ baseUrl: 'https://gws.example' }], apiKey, bearerToken: getToken });
 * source.onObservation((observation) => connector.accept(observation));
 * await source.start();
 * await source.open(agentIdsInScope);
 */
export function createStatisticsApiSource(options: StatisticsApiSourceOptions): StatSource {
  return new StatisticsApiSource(options);
}

class StatisticsApiSource extends SourceBase implements StatSource {
  private readonly random: () => number;
  private readonly selection: Required<StatisticsSelection>;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly backoff: { initialMs: number; maxMs: number };
  private readonly requestTimeoutMs: number;
  private session: Session | undefined;
  private generation = 0;
  private running = false;
  private everConnected = false;
  private attempt = 0;
  private retryTimer: unknown = undefined;
  private refusedTimer: unknown = undefined;
  /** Refused agents never isolated (refused whole with a batch when everyone seemed refused). */
  private readonly untested = new Set<string>();
  private readonly refusedRetryMs: number;
  private readonly maxRequestLineBytes: number;
  private token: string | undefined;

  constructor(private readonly options: StatisticsApiSourceOptions) {
    if (!Array.isArray(options.endpoints) || options.endpoints.length === 0) throw new Error('endpoints must list at least one { baseUrl }');
    for (const endpoint of options.endpoints) {
      if (typeof endpoint.baseUrl !== 'string' || !/^https?:\/\//.test(endpoint.baseUrl)) {
        throw new Error(`endpoints[].baseUrl must be an http(s) URL, got ${JSON.stringify(endpoint.baseUrl)}`);
      }
    }
    if (typeof options.apiKey !== 'string' || options.apiKey === '') throw new Error('apiKey is required');
    super('statserver.statistics-api', options);
    this.random = options.random ?? Math.random;
    const statistics = options.statistics ?? { mode: 'ad-hoc' };
    if (statistics.mode !== 'ad-hoc' && statistics.mode !== 'named') throw new Error(`statistics.mode must be 'ad-hoc' or 'named'`);
    this.selection = {
      mode: statistics.mode,
      currentStateName: statistics.currentStateName ?? 'CurrentState',
      reasonsName: statistics.reasonsName ?? 'CurrentStateReason',
      subject: statistics.subject ?? 'DNStatus',
      reasonsCategory: statistics.reasonsCategory ?? 'CurrentStateReasons',
    };
    this.batchSize = positive(options.batchSize ?? 1000, 'batchSize');
    this.concurrency = positive(options.concurrency ?? 4, 'concurrency');
    this.backoff = options.reconnect ?? { initialMs: 500, maxMs: 30_000 };
    if (!(this.backoff.initialMs > 0) || !(this.backoff.maxMs >= this.backoff.initialMs)) {
      throw new Error('reconnect must be { initialMs > 0, maxMs >= initialMs }');
    }
    this.requestTimeoutMs = positive(options.requestTimeoutMs ?? 30_000, 'requestTimeoutMs');
    this.refusedRetryMs = positive(options.refusedRetryMs ?? DEFAULT_REFUSED_RETRY_MS, 'refusedRetryMs');
    this.maxRequestLineBytes = positive(options.maxRequestLineBytes ?? MAX_REQUEST_LINE_BYTES, 'maxRequestLineBytes');
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.retryTimer !== undefined) this.scheduler.clearTimer(this.retryTimer);
    this.retryTimer = undefined;
    if (this.refusedTimer !== undefined) this.scheduler.clearTimer(this.refusedTimer);
    this.refusedTimer = undefined;
    const session = this.session;
    this.session = undefined;
    this.generation += 1;
    this.table.stop();
    if (session === undefined) return;
    // Closing is fire-and-forget on the server ("always returns success"); do not hang a shutdown on it.
    const deletes = Promise.allSettled([...session.subscriptions.keys()].map((id) => this.request(session, 'DELETE', `/subscriptions/${encodeURIComponent(id)}`)));
    await Promise.race([deletes, new Promise((resolve) => setTimeout(resolve, 2000).unref?.())]);
    session.cometd.close();
    this.setDisconnected(session, 'stopped');
  }

  async open(agentIds: readonly string[]): Promise<void> {
    const added = this.table.add(agentIds);
    this.counters.openAgents = this.table.size;
    const session = this.session;
    if (session === undefined || added.length === 0) return;
    try {
      await this.openInSession(session, added);
    } catch (error) {
      // The agents stay in scope: the reconnect that follows a broken session opens them with everything else.
      this.counters.event('open-failed');
      this.log.warn('opening statistics failed; they are opened again at the next reconnect', {
        agents: added.length,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  async close(agentIds: readonly string[]): Promise<void> {
    for (const agentId of agentIds) {
      this.table.remove(agentId);
      this.refused.delete(agentId);
      this.untested.delete(agentId);
    }
    this.counters.openAgents = this.table.size;
    const session = this.session;
    if (session === undefined) return;
    // The API closes statistics per subscription only: a subscription goes when all its agents have left
    // scope; until then updates of agents out of scope are dropped on arrival.
    const emptied: string[] = [];
    for (const agentId of agentIds) {
      const subscriptionId = session.opened.get(agentId);
      if (subscriptionId === undefined) continue;
      session.opened.delete(agentId);
      const left = session.subscriptions.get(subscriptionId);
      if (left === undefined) continue;
      if (left > 1) session.subscriptions.set(subscriptionId, left - 1);
      else {
        session.subscriptions.delete(subscriptionId);
        emptied.push(subscriptionId);
      }
    }
    await Promise.allSettled(emptied.map((id) => this.request(session, 'DELETE', `/subscriptions/${encodeURIComponent(id)}`)));
  }

  async peek(agentIds?: readonly string[]): Promise<AgentObservation[]> {
    const wanted = (agentIds ?? this.table.agentIds()).filter((agentId) => this.table.has(agentId));
    const session = this.session;
    if (session === undefined) {
      const at = this.scheduler.now();
      return wanted.map((agentId) => ({ kind: 'unknown', agentId, reason: 'disconnected', at }));
    }
    await this.peekInSession(session, wanted);
    const at = this.scheduler.now();
    // A refused agent has no value to fold: say why, rather than "incomplete".
    return wanted.map((agentId) => (this.refused.has(agentId) ? { kind: 'unknown', agentId, reason: 'open-failed', at } : this.table.observe(agentId)));
  }

  // ---- connection lifecycle -------------------------------------------------------------------------

  /** One connection attempt to the endpoint this attempt number points at; schedules the next on failure. */
  private async connect(): Promise<void> {
    // No "connecting" flag: an older attempt still waiting on a slow request must not block this one. Each
    // attempt takes a new generation, and an older attempt that finds the generation moved on gives up.
    if (!this.running || this.session !== undefined) return;
    // Primary first, then the backups in order, round and round: after any drop the primary is tried again
    // first, so a site returns to its primary at the next reconnect after it is back.
    const endpointIndex = this.attempt % this.options.endpoints.length;
    const baseUrl = this.options.endpoints[endpointIndex]!.baseUrl.replace(/\/+$/, '');
    const generation = ++this.generation;
    let session: Session | undefined;
    try {
      // A token function is asked again on every attempt: the last failure may have been an expired token.
      const token = await this.bearer(true);
      clearCookies(new URL(baseUrl).host);
      const cometd = new CometdSession({
        url: `${baseUrl}/statistics/v3/notifications`,
        headers: this.headers(token),
        maxNetworkDelayMs: this.requestTimeoutMs,
        onMessage: (channel, data) => this.onMessage(generation, channel, data),
        onLost: (reason) => this.lose(generation, reason),
      });
      session = { generation, endpointIndex, baseUrl, cometd, subscriptions: new Map(), opened: new Map() };
      // Subscribe to the channels before opening statistics: values can arrive with the subscribe reply.
      await cometd.open([SERVICE_CHANNEL, UPDATES_CHANNEL]);
      if (generation !== this.generation || !this.running) {
        cometd.close();
        return;
      }
      this.session = session;
      await this.openInSession(session, this.table.agentIds());
      if (this.session !== session) return;
      this.attempt = 0;
      if (this.everConnected) this.counters.reconnects += 1;
      this.everConnected = true;
      this.counters.endpoint = baseUrl;
      this.counters.connected = true;
      this.log.info('connected to the Statistics API', { endpoint: baseUrl, agents: this.table.size, refused: this.refused.size });
      this.connections.emit({ state: 'connected', endpoint: baseUrl, at: this.scheduler.now() });
      this.scheduleRefusedRetry();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (session !== undefined) {
        session.cometd.close();
        if (this.session === session) this.session = undefined;
      }
      this.log.warn('Statistics API connection attempt failed', { endpoint: baseUrl, attempt: this.attempt, error: message });
      if (generation === this.generation) this.scheduleRetry();
    }
  }

  private lose(generation: number, reason: string): void {
    const session = this.session;
    if (session === undefined || session.generation !== generation) return;
    this.session = undefined;
    this.generation += 1;
    session.cometd.close();
    this.log.warn('lost the Statistics API', { endpoint: session.baseUrl, reason });
    this.setDisconnected(session, reason);
    this.scheduleRetry(true);
  }

  private setDisconnected(session: Session, reason: string): void {
    if (!this.counters.connected) return;
    this.counters.connected = false;
    this.connections.emit({ state: 'disconnected', endpoint: session.baseUrl, at: this.scheduler.now(), error: reason });
  }

  private scheduleRetry(afterDrop = false): void {
    if (!this.running || this.retryTimer !== undefined) return;
    // After a drop, try at once-ish (initialMs); after a failed attempt, back off exponentially with jitter.
    const exponent = afterDrop ? 0 : this.attempt;
    const base = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** exponent);
    const delay = base * (0.5 + this.random() * 0.5);
    if (!afterDrop) this.attempt += 1;
    this.retryTimer = this.scheduler.setTimer(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delay);
  }

  // ---- statistics -----------------------------------------------------------------------------------

  private descriptors(agentId: string): object[] {
    const ids = statisticIds(agentId);
    if (this.selection.mode === 'named') {
      return [
        { statisticId: ids.currentState, objectId: agentId, objectType: 'Agent', name: this.selection.currentStateName },
        { statisticId: ids.reasons, objectId: agentId, objectType: 'Agent', name: this.selection.reasonsName },
      ];
    }
    // `objects` as the official console sample's template sends it (shared facts, section 6).
    const definition = (category: string, subject: string) => ({ category, subject, mainMask: '*', notificationMode: 'Immediate', objects: 'Agent' });
    return [
      { statisticId: ids.currentState, objectId: agentId, objectType: 'Agent', definition: definition('CurrentState', this.selection.subject) },
      { statisticId: ids.reasons, objectId: agentId, objectType: 'Agent', definition: definition(this.selection.reasonsCategory, 'DNAction') },
    ];
  }

  /**
   * Opens `agentIds` in batched subscriptions (`concurrency` requests at a time) and folds the values returned.
   * Agents Stat Server refused before are left to the slow retry unless `retryRefused`.
   */
  private async openInSession(session: Session, agentIds: readonly string[], retryRefused = false, allowShortcut = true): Promise<void> {
    // Each agent once: a subscription's count must match the agents `opened` maps to it.
    const toOpen = [...new Set(agentIds)].filter((agentId) => !session.opened.has(agentId) && (retryRefused || !this.refused.has(agentId)));
    const refusedBefore = new Set(this.refused.keys());
    const round: OpenRound = { opened: 0, refused: 0, untested: [], allowShortcut };
    const batches: Array<{ subscriptionId: string; agentIds: string[] }> = [];
    for (let index = 0; index < toOpen.length; index += this.batchSize) {
      const batch = { subscriptionId: randomUUID(), agentIds: toOpen.slice(index, index + this.batchSize) };
      batches.push(batch);
      // Registered before any request: updates may arrive before the response, and a concurrent open() of the
      // same agents (scope refresh during a reconnect) must see them as being opened already.
      session.subscriptions.set(batch.subscriptionId, batch.agentIds.length);
      for (const agentId of batch.agentIds) session.opened.set(agentId, batch.subscriptionId);
    }
    let next = 0;
    let failure: unknown = undefined;
    const forget = (batch: { subscriptionId: string; agentIds: string[] }): void => {
      session.subscriptions.delete(batch.subscriptionId);
      for (const agentId of batch.agentIds) if (session.opened.get(agentId) === batch.subscriptionId) session.opened.delete(agentId);
    };
    const worker = async (): Promise<void> => {
      while (next < batches.length && this.session === session && failure === undefined) {
        const batch = batches[next++]!;
        try {
          await this.openBatch(session, batch.subscriptionId, batch.agentIds, round);
        } catch (error) {
          // Not opened: forget the batch (and the ones not started) so the next open() or reconnect asks again.
          failure ??= error;
          forget(batch);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, batches.length) }, worker));
    for (const batch of batches.slice(next)) forget(batch);
    if (failure === undefined && round.untested.length > 0 && this.session === session) {
      // Was everyone refused, or did a run of refusals merely come first? Something opened says the latter; else a
      // few untested agents opened on their own tell. If so, isolate the agents refused whole, precisely, now.
      let someoneOpens = round.opened > 0;
      if (!someoneOpens) {
        const sample = sampleOf(round.untested, UNTESTED_SAMPLE, this.random);
        await this.openInSession(session, sample, true, false);
        someoneOpens = sample.some((agentId) => !this.refused.has(agentId));
      }
      const rest = round.untested.filter((agentId) => this.untested.has(agentId));
      if (someoneOpens && rest.length > 0 && this.session === session) await this.openInSession(session, rest, true, false);
    }
    this.reportRefused(toOpen, refusedBefore);
    if (failure !== undefined) throw failure;
  }

  /** One log line per open round: how many agents Stat Server refused, a few of them, and its message. */
  private reportRefused(tried: readonly string[], refusedBefore: ReadonlySet<string>): void {
    const refused = tried.filter((agentId) => this.refused.has(agentId));
    const reopened = tried.filter((agentId) => refusedBefore.has(agentId) && !this.refused.has(agentId) && this.table.has(agentId));
    if (reopened.length > 0) this.log.info('Stat Server now opens agents it refused before', { agents: reopened.length, examples: reopened.slice(0, 5) });
    if (refused.length === 0) return;
    this.log.warn('Stat Server refused to open the statistics of some agents; the others are open, these are asked again later', {
      refused: refused.length,
      opened: tried.length - refused.length,
      examples: refused.slice(0, 5),
      message: this.refused.get(refused[0]!)?.message,
      retryInSeconds: Math.round(this.refusedRetryMs / 1000),
    });
    this.scheduleRefusedRetry();
  }

  /** Asks Stat Server again for refused agents every `refusedRetryMs` while any are left in scope. */
  private scheduleRefusedRetry(): void {
    if (!this.running || this.refusedTimer !== undefined || this.refused.size === 0) return;
    this.refusedTimer = this.scheduler.setTimer(() => {
      this.refusedTimer = undefined;
      void this.retryRefused();
    }, this.refusedRetryMs);
  }

  private async retryRefused(): Promise<void> {
    const session = this.session;
    // Agents refused whole with their batch go first, so a run of refused agents before them cannot hide them.
    const agentIds = [...this.refused.keys()].filter((agentId) => this.table.has(agentId)).sort((a, b) => Number(this.untested.has(b)) - Number(this.untested.has(a)));
    if (session !== undefined && agentIds.length > 0) {
      this.counters.event('refused-retry');
      try {
        await this.openInSession(session, agentIds, true);
      } catch (error) {
        this.log.warn('asking again for refused agents failed; asked again later', { agents: agentIds.length, error: error instanceof Error ? error.message : String(error) });
      }
    }
    // Not connected now: the reconnect schedules the next round.
    if (this.session !== undefined) this.scheduleRefusedRetry();
  }

  private async openBatch(session: Session, subscriptionId: string, agentIds: readonly string[], round: OpenRound): Promise<void> {
    let response: unknown;
    try {
      response = await this.request(session, 'POST', '/subscriptions?verbose=INFO', {
        operationId: subscriptionId,
        data: { statistics: agentIds.flatMap((agentId) => this.descriptors(agentId)) },
      });
    } catch (error) {
      if (!(error instanceof StatisticsApiError) || !error.refusal) throw error;
      await this.splitRefused(session, subscriptionId, agentIds, error, round);
      return;
    }
    const items = this.acceptItems(session, response, 'open');
    // A server that names the refused statistics in `errors[]` (not the documented API, but cheap to honour).
    const refused = this.refusedAgents(response);
    for (const [agentId, message] of refused) this.refuse(agentId, message);
    for (const agentId of agentIds) {
      this.untested.delete(agentId);
      if (!refused.has(agentId)) this.refused.delete(agentId);
    }
    round.opened += agentIds.length - refused.size;
    round.refused += refused.size;
    const missing = agentIds.filter(
      (agentId) => !refused.has(agentId) && (!items.has(statisticIds(agentId).currentState) || !items.has(statisticIds(agentId).reasons)),
    );
    // A response without values (verbose off, or statistics not yet valued) is completed by a peek.
    if (missing.length > 0) await this.peekInSession(session, missing);
  }

  /**
   * A refused batch names no statistic: forget it, then open each half under a new subscription id, down to
   * single agents, which are the refused ones. k refused agents among n cost about 2·k·log2(n) requests.
   */
  private async splitRefused(session: Session, subscriptionId: string, agentIds: readonly string[], error: StatisticsApiError, round: OpenRound): Promise<void> {
    this.counters.event('open-refused');
    if (session.subscriptions.delete(subscriptionId)) {
      for (const agentId of agentIds) if (session.opened.get(agentId) === subscriptionId) session.opened.delete(agentId);
    }
    // The API's delete is fire-and-forget; a server that kept part of the refused batch closes it here.
    void this.request(session, 'DELETE', `/subscriptions/${encodeURIComponent(subscriptionId)}`).catch(() => undefined);
    // Stat Server would not open these agents' statistics (unknown object, say): say so, no guess. When it has
    // refused every agent of the round so far, many times over, the statistic itself is refused (a name Stat
    // Server lacks): splitting on would cost two requests per agent, so the rest of the batch is refused whole.
    const everyoneRefused = round.allowShortcut && round.opened === 0 && round.refused >= REFUSE_ALL_AFTER;
    if (agentIds.length === 1 || everyoneRefused) {
      if (everyoneRefused && round.toldEveryoneRefused !== true) {
        round.toldEveryoneRefused = true;
        this.log.error('Stat Server refuses the statistics of every agent tried: check that it serves the statistics EXAS opens (docs/statserver.md) and that the scope names employee ids it knows', {
          refused: round.refused,
          message: error.serverMessage ?? error.message,
        });
      }
      for (const agentId of agentIds) this.refuse(agentId, error.serverMessage ?? error.message);
      round.refused += agentIds.length;
      if (agentIds.length > 1) {
        round.untested.push(...agentIds);
        for (const agentId of agentIds) this.untested.add(agentId);
      } else this.untested.delete(agentIds[0]!);
      return;
    }
    const middle = Math.ceil(agentIds.length / 2);
    for (const part of [agentIds.slice(0, middle), agentIds.slice(middle)]) {
      if (this.session !== session) return;
      const partId = randomUUID();
      session.subscriptions.set(partId, part.length);
      for (const agentId of part) session.opened.set(agentId, partId);
      try {
        await this.openBatch(session, partId, part, round);
      } catch (failure) {
        session.subscriptions.delete(partId);
        for (const agentId of part) if (session.opened.get(agentId) === partId) session.opened.delete(agentId);
        throw failure;
      }
    }
  }

  /** Agents named by `errors[]` of a subscription response (statistics the server refused to open). */
  private refusedAgents(response: unknown): Map<string, string> {
    const refused = new Map<string, string>();
    const errors = typeof response === 'object' && response !== null ? (response as { errors?: unknown }).errors : undefined;
    if (!Array.isArray(errors)) return refused;
    for (const error of errors) {
      if (typeof error !== 'object' || error === null) continue;
      const { statisticId, status } = error as { statisticId?: unknown; status?: { message?: unknown } };
      const target = typeof statisticId === 'string' ? roleOf(statisticId) : undefined;
      if (target === undefined) continue;
      refused.set(target.agentId, typeof status?.message === 'string' ? status.message : 'refused by the server');
    }
    return refused;
  }

  private async peekInSession(session: Session, agentIds: readonly string[]): Promise<void> {
    const bySubscription = new Map<string, string[]>();
    for (const agentId of agentIds) {
      const subscriptionId = session.opened.get(agentId);
      if (subscriptionId === undefined) continue;
      const list = bySubscription.get(subscriptionId);
      if (list === undefined) bySubscription.set(subscriptionId, [agentId]);
      else list.push(agentId);
    }
    // Keep request lines short (≤ 4 KiB in bytes, escaped ids counted as sent) whatever the ids look like.
    const basePath = new URL(`${session.baseUrl}/statistics/v3`).pathname;
    const requests: string[] = [];
    for (const [subscriptionId, list] of bySubscription) {
      const packed = peekRequests(basePath, subscriptionId, list, (agentId) => Object.values(statisticIds(agentId)), this.maxRequestLineBytes);
      requests.push(...packed.requests.map((request) => request.path));
      for (const agentId of packed.unpeekable) this.counters.unknown('unpeekable', agentId, 'statistic ids too long for one request line');
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < requests.length && this.session === session) {
        const response = await this.request(session, 'GET', requests[next++]!);
        this.acceptItems(session, response, 'peek');
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, requests.length) }, worker));
  }

  /** Folds the statistic items of a response or an update; returns the statistic ids that carried a value. */
  private acceptItems(session: Session, message: unknown, kind: string): Set<string> {
    const { items, skipped } = readStatisticItems(message, this.normalizer.timestampUnit, this.scheduler.now());
    if (skipped > 0) this.counters.unknown('unparsable', '(message)', `${skipped} statistic item(s) without a statisticId`);
    const valued = new Set<string>();
    for (const item of items) {
      if (this.acceptItem(session, item, kind)) valued.add(item.statisticId);
    }
    return valued;
  }

  private acceptItem(session: Session, item: StatisticItem, kind: string): boolean {
    const target = roleOf(item.statisticId);
    if (target === undefined) return false;
    // Another client's subscription (a shared emulator or gateway) or an agent that left scope.
    if (item.subscriptionId !== null && !session.subscriptions.has(item.subscriptionId)) return false;
    if (!this.table.has(target.agentId)) return false;
    this.counters.event(item.invalid ? 'invalid' : kind);
    if (item.invalid) {
      this.table.markInvalid(target.agentId, target.role, item.at);
      return true;
    }
    this.table.markValid(target.agentId, target.role);
    this.table.record(target.agentId, target.role, item.value, item.at);
    return true;
  }

  private onMessage(generation: number, channel: string, data: unknown): void {
    const session = this.session;
    if (session === undefined || session.generation !== generation) return;
    if (channel === UPDATES_CHANNEL) {
      this.acceptItems(session, data, 'update');
      return;
    }
    if (channel === SERVICE_CHANNEL) {
      this.counters.event('service');
      const state = readServiceState(data);
      // Unavailable: Stat Server is gone behind the gateway; values stop, so treat it as a disconnect.
      if (state === 'Unavailable') this.lose(generation, 'service Unavailable');
    }
  }

  // ---- HTTP ----------------------------------------------------------------------------------------

  private async bearer(refresh: boolean): Promise<string | undefined> {
    const source = this.options.bearerToken;
    if (source === undefined) return undefined;
    if (typeof source === 'string') return source;
    if (refresh || this.token === undefined) this.token = await source();
    return this.token;
  }

  private headers(token: string | undefined): Record<string, string> {
    const headers: Record<string, string> = { 'x-api-key': this.options.apiKey };
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    return headers;
  }

  private async request(session: Session, method: string, path: string, body?: unknown, retried = false): Promise<unknown> {
    const url = `${session.baseUrl}/statistics/v3${path}`;
    const host = new URL(url).host;
    const token = await this.bearer(false);
    const headers: Record<string, string> = { ...this.headers(token), accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const cookies = cookiesFor(host);
    if (cookies.length > 0) headers['cookie'] = cookies.join('; ');
    const response = await fetch(url, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(this.requestTimeoutMs),
    });
    for (const header of response.headers.getSetCookie()) storeSetCookie(host, header);
    if (response.status === 401 && !retried && typeof this.options.bearerToken === 'function') {
      await response.body?.cancel();
      await this.bearer(true);
      return this.request(session, method, path, body, true);
    }
    const text = await response.text();
    let parsed: unknown = undefined;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new StatisticsApiError(`${method} ${path}: response is not JSON (HTTP ${response.status})`, response.status, null);
    }
    const code = readStatusCode(parsed);
    // 1 is ASYNC_OK, a success like 0 (the official Java client's Util.throwIfNotOk).
    if (!response.ok || (code !== null && code !== 0 && code !== 1)) {
      const serverMessage = readStatusMessage(parsed);
      throw new StatisticsApiError(
        `${method} ${path}: HTTP ${response.status}, status code ${code ?? 'none'}${serverMessage === null ? '' : ` (${serverMessage})`}`,
        response.status,
        code,
        serverMessage,
      );
    }
    return parsed;
  }
}

/** Up to `count` distinct items picked at random (a partial Fisher–Yates shuffle of a copy). */
function sampleOf<T>(items: readonly T[], count: number, random: () => number): T[] {
  const copy = [...items];
  const size = Math.min(count, copy.length);
  for (let index = 0; index < size; index += 1) {
    const pick = index + Math.floor(random() * (copy.length - index));
    [copy[index], copy[pick]] = [copy[pick]!, copy[index]!];
  }
  return copy.slice(0, size);
}

function readStatusMessage(body: unknown): string | null {
  const status = typeof body === 'object' && body !== null ? (body as { status?: unknown }).status : undefined;
  const message = typeof status === 'object' && status !== null ? (status as { message?: unknown }).message : undefined;
  return typeof message === 'string' && message !== '' ? message.slice(0, 500) : null;
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${value}`);
  return value;
}
