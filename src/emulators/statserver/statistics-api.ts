/**
 * One Statistics API v3 server of the emulator (a primary or a backup): the REST surface under
 * `/statistics/v3` (subscriptions with ad-hoc definitions or pre-configured names, peek, delete, named
 * peeks), the CometD endpoint at `/statistics/v3/notifications` (faye's Bayeux server on `node:http`, channels
 * `/statistics/v3/service` and `/statistics/v3/updates`), the `STATISTICS_SESSIONID` cookie, API-key +
 * bearer auth, and the faults that act on a server (drop CometD clients, refuse connections).
 *
 * Strict by default, as the real API is on what is documented: a subscription batch with any statistic Stat
 * Server refuses fails as a whole with `{status: {code, detail, message}}` and names no statistic (the official
 * `ErrorResponse`), and request lines over 8 KiB get 414 (what gateways in front of it do). `lenient` restores
 * the kinder first build: refused statistics listed in `errors[]` by statisticId, the rest opened, no 414.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import faye from 'faye';
import { Hono, type Context } from 'hono';
import { getRequestListener } from '@hono/node-server';
import { listen, type RunningServer } from '../../platform/serve.ts';
import { agentStatusValue, type StatisticDepth } from './agent-status.ts';
import type { Crowd, EmulatedAgent } from './crowd.ts';

const BASE = '/statistics/v3';
const NOTIFICATIONS = `${BASE}/notifications`;
export const UPDATES_CHANNEL = '/statistics/v3/updates';
export const SERVICE_CHANNEL = '/statistics/v3/service';

/** A pre-configured statistic of the emulated Stat Server (what `name` in a descriptor refers to). */
export interface NamedStatistic {
  readonly category: 'CurrentState' | 'CurrentStateReasons';
  readonly subject: StatisticDepth;
}

/** Names the emulated Stat Server has configured: the source page's two, plus a DNAction-depth CurrentState. */
export const DEFAULT_NAMED_STATISTICS: Readonly<Record<string, NamedStatistic>> = {
  CurrentState: { category: 'CurrentState', subject: 'DNStatus' },
  CurrentStateReason: { category: 'CurrentStateReasons', subject: 'DNAction' },
  CurrentStateDNAction: { category: 'CurrentState', subject: 'DNAction' },
};

interface OpenStatistic {
  readonly subscriptionId: string;
  readonly statisticId: string;
  readonly objectId: string;
  readonly name: string | null;
  readonly depth: StatisticDepth;
}

export interface StatisticsApiServerOptions {
  readonly crowd: Crowd;
  readonly apiKey: string;
  readonly bearerToken: string;
  readonly host: string;
  readonly port: number;
  readonly namedStatistics: Readonly<Record<string, NamedStatistic>>;
  /** Extra routes (the control API) mounted beside the Statistics API. */
  readonly extraRoutes?: Hono;
  /** Notifications are batched this long (ms) into one `/updates` message. */
  readonly flushMs?: number;
  /** Maximum statistic items per `/updates` message. */
  readonly maxItemsPerMessage?: number;
  /** Per-statistic `errors[]` with partial opens and no request-line limit (the first build's behaviour). */
  readonly lenient?: boolean;
  /** Agents Stat Server does not know (fault injection): opening their statistics is refused. */
  readonly unknownAgents?: ReadonlySet<string>;
}

/** Longest request line (method, target, version) accepted in strict mode, in bytes: common gateways' 8 KiB. */
export const MAX_REQUEST_LINE_BYTES = 8192;

/** The `status.code` of a refused subscription (any non-zero code other than 1, ASYNC_OK, means failure). */
export const REFUSED_STATUS_CODE = 2;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export class StatisticsApiServer {
  private running: RunningServer | undefined;
  private readonly adapter = new faye.NodeAdapter({ mount: NOTIFICATIONS, timeout: 25 });
  private readonly subscriptions = new Map<string, Map<string, OpenStatistic>>();
  private readonly byAgent = new Map<string, OpenStatistic[]>();
  private readonly clients = new Set<string>();
  private readonly sockets = new Set<Socket>();
  /** Sockets serving a control request right now: a `disconnect` fault answers them before anything drops. */
  private readonly controlSockets = new Set<Socket>();
  private pending: Json[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private refuseUntil = 0;
  private down = false;
  private serviceUnavailable = false;
  private readonly unsubscribeCrowd: () => void;
  /** Counters for tests and the control API. */
  readonly counters = {
    handshakes: 0,
    updatesPublished: 0,
    itemsPublished: 0,
    subscriptionsCreated: 0,
    statisticsOpened: 0,
    /** Authorized API requests that carried / lacked the `STATISTICS_SESSIONID` cookie. */
    requestsWithSession: 0,
    requestsWithoutSession: 0,
    /** Subscription batches refused as a whole (strict mode). */
    subscriptionsRefused: 0,
    /** Requests answered 414 (request line over 8 KiB). */
    requestLinesTooLong: 0,
    /** Longest request line heard, in bytes. */
    longestRequestLine: 0,
  };

  constructor(private readonly options: StatisticsApiServerOptions) {
    this.adapter.bind('handshake', (clientId) => {
      this.clients.add(clientId);
      this.counters.handshakes += 1;
    });
    this.adapter.bind('disconnect', (clientId) => this.clients.delete(clientId));
    this.adapter.bind('subscribe', (_clientId, channel) => {
      if (channel === SERVICE_CHANNEL) {
        // Tell the (new) subscriber the service state, as the Statistics API does on its service channel.
        setImmediate(() => this.publish(SERVICE_CHANNEL, { serviceState: this.serviceUnavailable ? 'Unavailable' : 'Available' }));
      }
    });
    this.unsubscribeCrowd = options.crowd.onChange((agent) => this.agentChanged(agent));
  }

  get url(): string {
    if (this.running === undefined) throw new Error('server not started');
    return this.running.url;
  }

  get port(): number {
    return this.running?.port ?? 0;
  }

  /** Connected CometD clients (handshaken, not yet gone). */
  get clientCount(): number {
    return this.clients.size;
  }

  get statisticCount(): number {
    let count = 0;
    for (const statistics of this.subscriptions.values()) count += statistics.size;
    return count;
  }

  async start(): Promise<void> {
    const app = this.restApp();
    // Not overriding the global Request/Response: see src/platform/serve.ts.
    const rest = getRequestListener(app.fetch, { overrideGlobalObjects: false });
    const server = createServer((request, response) => {
      // A connection that asks the control API is the operator's (curl, a test), not a Statistics API client's:
      // dropping clients must not cut it, or `POST /emulator/faults {"disconnect":true}` got no answer.
      if (request.url?.startsWith('/emulator/') === true) this.sockets.delete(request.socket);
      this.handle(request, response, rest);
    });
    server.on('connection', (socket: Socket) => {
      if (this.refusing()) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.running = await listen(server, this.options.host, this.options.port);
  }

  async close(): Promise<void> {
    this.unsubscribeCrowd();
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.dropClients();
    this.adapter.close();
    await this.running?.close();
  }

  /** Drops every CometD client and the statistics opened through this server (they belong to the connection). */
  dropClients(): void {
    const engine = this.adapter._server._engine;
    for (const clientId of [...this.clients]) engine.destroyClient(clientId);
    this.clients.clear();
    this.subscriptions.clear();
    this.byAgent.clear();
    this.pending = [];
    // A control request (the `disconnect` fault itself) keeps its socket: it gets its answer, not an empty reply.
    for (const socket of [...this.sockets]) {
      if (this.controlSockets.has(socket)) continue;
      socket.destroy();
      this.sockets.delete(socket);
    }
  }

  /** Refuses every connection for `seconds` (dropping current ones now). */
  refuseFor(seconds: number): void {
    this.refuseUntil = Date.now() + seconds * 1000;
    this.dropClients();
  }

  /** Primary down (true): refuse everything until set false. */
  setDown(down: boolean): void {
    this.down = down;
    if (down) this.dropClients();
  }

  clearFaults(): void {
    this.down = false;
    this.refuseUntil = 0;
    this.setServiceAvailable(true);
  }

  /**
   * Stat Server behind the API gone (false) or back (true): announced on `/statistics/v3/service`; while
   * unavailable, statistics cannot be opened or peeked and no updates flow.
   */
  setServiceAvailable(available: boolean): void {
    if (this.serviceUnavailable === !available) return;
    this.serviceUnavailable = !available;
    if (!available) {
      this.subscriptions.clear();
      this.byAgent.clear();
      this.pending = [];
    }
    this.publish(SERVICE_CHANNEL, { serviceState: available ? 'Available' : 'Unavailable' });
  }

  refusing(): boolean {
    return this.down || Date.now() < this.refuseUntil;
  }

  private handle(request: IncomingMessage, response: ServerResponse, rest: (request: IncomingMessage, response: ServerResponse) => unknown): void {
    if (this.refusing()) {
      request.socket.destroy();
      return;
    }
    const line = `${request.method ?? ''} ${request.url ?? ''} HTTP/${request.httpVersion}`;
    // Node keeps the raw request-line bytes as latin1 characters, so this length is the byte count.
    const lineBytes = Buffer.byteLength(line, 'latin1');
    this.counters.longestRequestLine = Math.max(this.counters.longestRequestLine, lineBytes);
    if (this.options.lenient !== true && lineBytes > MAX_REQUEST_LINE_BYTES) {
      this.counters.requestLinesTooLong += 1;
      response.writeHead(414, { 'content-type': 'application/json', connection: 'close' });
      response.end(JSON.stringify({ status: { code: 414, detail: {}, message: `Request-URI Too Long (request line over ${MAX_REQUEST_LINE_BYTES} bytes)` } }));
      return;
    }
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (path.startsWith('/emulator/')) {
      const socket = request.socket;
      this.controlSockets.add(socket);
      const done = (): void => {
        this.controlSockets.delete(socket);
      };
      response.once('finish', done);
      response.once('close', done);
    }
    if (path.startsWith(BASE)) {
      if (!this.authorized(request.headers['x-api-key'], request.headers['authorization'])) {
        response.writeHead(401, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ status: { code: 401, message: 'Unauthorized' } }));
        return;
      }
      if (/(?:^|;\s*)STATISTICS_SESSIONID=/.test(request.headers['cookie'] ?? '')) this.counters.requestsWithSession += 1;
      else {
        this.counters.requestsWithoutSession += 1;
        response.setHeader('set-cookie', `STATISTICS_SESSIONID=${randomUUID()}; Path=/; HttpOnly`);
      }
      if (path === NOTIFICATIONS || path.startsWith(NOTIFICATIONS + '/')) {
        this.adapter.handle(request, response);
        return;
      }
    }
    void rest(request, response);
  }

  private authorized(apiKey: string | string[] | undefined, authorization: string | string[] | undefined): boolean {
    return apiKey === this.options.apiKey && authorization === `Bearer ${this.options.bearerToken}`;
  }

  private restApp(): Hono {
    const app = new Hono();
    if (this.options.extraRoutes) app.route('/', this.options.extraRoutes);
    app.use(`${BASE}/*`, async (c, next) => {
      if (this.serviceUnavailable) return c.json(failure(503, 'Stat Server unavailable'), 503);
      await next();
    });
    app.post(`${BASE}/subscriptions`, async (c) => this.createSubscription(c));
    app.delete(`${BASE}/subscriptions/:id`, (c) => {
      this.deleteSubscription(c.req.param('id'));
      return c.json(ok({}));
    });
    app.get(`${BASE}/subscriptions/:id/statistic-values`, (c) => this.peekSubscription(c));
    app.get(`${BASE}/statistic-values/:name`, (c) => {
      const name = c.req.param('name');
      const named = this.options.namedStatistics[name];
      const agent = this.options.crowd.get(c.req.query('objectId') ?? '');
      if (named === undefined || agent === undefined || c.req.query('objectType') !== 'Agent') {
        return c.json(failure(404, `no statistic ${name} for that object`), 404);
      }
      return c.json(ok({ statistic: this.peeked(name, agent, named.subject) }));
    });
    app.post(`${BASE}/operations/get-statistic-ex`, async (c) => {
      const body: unknown = await c.req.json().catch(() => undefined);
      const list = isObject(body) && isObject(body['data']) ? body['data']['statistics'] : undefined;
      if (!Array.isArray(list)) return c.json(failure(400, 'data.statistics must be an array'), 400);
      const statistics: Json[] = [];
      for (const info of list) {
        const name = isObject(info) && typeof info['name'] === 'string' ? info['name'] : '';
        const named = this.options.namedStatistics[name];
        const agent = isObject(info) && typeof info['objectId'] === 'string' ? this.options.crowd.get(info['objectId']) : undefined;
        if (named !== undefined && agent !== undefined) statistics.push(this.peeked(name, agent, named.subject));
      }
      return c.json(ok({ statistics }));
    });
    app.all(`${BASE}/*`, (c) => c.json(failure(404, 'no such Statistics API resource'), 404));
    return app;
  }

  private async createSubscription(c: Context): Promise<Response> {
    const body: unknown = await c.req.json().catch(() => undefined);
    if (!isObject(body) || typeof body['operationId'] !== 'string' || !isObject(body['data']) || !Array.isArray(body['data']['statistics'])) {
      return c.json(failure(400, 'body must be {operationId, data: {statistics: [...]}}'), 400);
    }
    const subscriptionId = body['operationId'];
    const verbose = c.req.query('verbose') !== 'OFF';
    const descriptors: unknown[] = body['data']['statistics'];
    const checked = descriptors.map((descriptor) => this.checkStatistic(subscriptionId, descriptor));
    const refusal = checked.find((result): result is string => typeof result === 'string');
    if (refusal !== undefined && this.options.lenient !== true) {
      // The real ErrorResponse: the batch fails, nothing is opened, and no statistic is named.
      this.counters.subscriptionsRefused += 1;
      return c.json({ status: { code: REFUSED_STATUS_CODE, detail: {}, message: refusal }, path: `${BASE}/subscriptions` });
    }
    const opened = this.subscriptions.get(subscriptionId) ?? new Map<string, OpenStatistic>();
    this.subscriptions.set(subscriptionId, opened);
    this.counters.subscriptionsCreated += 1;
    const statistics: Json[] = [];
    const errors: Json[] = [];
    for (const [index, result] of checked.entries()) {
      if (typeof result === 'string') {
        const descriptor = descriptors[index];
        errors.push({ statisticId: isObject(descriptor) ? descriptor['statisticId'] ?? null : null, status: { code: 1, message: result } });
        continue;
      }
      opened.set(result.statisticId, result);
      this.register(result);
      this.counters.statisticsOpened += 1;
      statistics.push(verbose ? this.item(result) : { statisticId: result.statisticId, objectId: result.objectId, objectType: 'Agent', name: result.name });
    }
    return c.json({ ...ok({ operationId: subscriptionId, subscriptionId, statistics }), errors, path: `${BASE}/subscriptions` });
  }

  /**
   * The statistic a descriptor asks for, or why Stat Server refuses it. Strict answers name no object (the real
   * error does not say which statistic failed); lenient ones keep the first build's detail.
   */
  private checkStatistic(subscriptionId: string, descriptor: unknown): OpenStatistic | string {
    if (!isObject(descriptor)) return 'a statistic descriptor must be an object';
    const { statisticId, objectId, objectType, name, definition } = descriptor;
    if (typeof statisticId !== 'string' || statisticId === '') return 'statisticId is required';
    if (typeof objectId !== 'string') return 'objectId is required';
    if (objectType !== 'Agent') return `objectType ${String(objectType)} is not served by this emulator (Agent only)`;
    const agent = this.options.crowd.get(objectId);
    if (agent === undefined || this.options.unknownAgents?.has(objectId) === true) {
      return this.options.lenient === true ? `unknown agent ${objectId}` : 'Stat Server could not open the statistic: object not found (objectType Agent)';
    }
    let depth: StatisticDepth;
    if (typeof name === 'string') {
      const named = this.options.namedStatistics[name];
      if (named === undefined) return `no pre-configured statistic named ${name}`;
      depth = named.subject;
    } else if (isObject(definition)) {
      const { category, subject, notificationMode, objects } = definition;
      // The official sample's definition names its object type (`objects: "Agent"`); when sent, it must match.
      if (objects !== undefined && objects !== objectType) return `definition.objects ${JSON.stringify(objects)} does not match objectType ${String(objectType)}`;
      if (category !== 'CurrentState' && category !== 'CurrentStateReasons') return `category ${String(category)} is not served by this emulator`;
      if (subject !== 'DNStatus' && subject !== 'DNAction') return `subject ${String(subject)} is not served by this emulator`;
      if (notificationMode !== undefined && notificationMode !== 'Immediate') return `notificationMode ${String(notificationMode)} is not served (Immediate only)`;
      depth = subject;
    } else return 'either name or definition is required';
    return { subscriptionId, statisticId, objectId, name: typeof name === 'string' ? name : null, depth };
  }

  private register(open: OpenStatistic): void {
    const list = this.byAgent.get(open.objectId);
    if (list === undefined) this.byAgent.set(open.objectId, [open]);
    else list.push(open);
  }

  private deleteSubscription(subscriptionId: string): void {
    const opened = this.subscriptions.get(subscriptionId);
    if (opened === undefined) return;
    this.subscriptions.delete(subscriptionId);
    for (const statistic of opened.values()) {
      const list = this.byAgent.get(statistic.objectId);
      if (list === undefined) continue;
      const rest = list.filter((entry) => entry.subscriptionId !== subscriptionId);
      if (rest.length === 0) this.byAgent.delete(statistic.objectId);
      else this.byAgent.set(statistic.objectId, rest);
    }
  }

  private peekSubscription(c: Context): Response {
    const opened = this.subscriptions.get(c.req.param('id') ?? '');
    if (opened === undefined) return c.json(failure(404, 'no such subscription'), 404);
    // `statisticIds=a,b` (documented) or repeated `statisticIds=a&statisticIds=b` (what the JS client's superagent sends for an array).
    const ids = (c.req.queries('statisticIds') ?? []).flatMap((list) => list.split(',')).filter((id) => id !== '');
    const wanted = ids.length === 0 ? [...opened.values()] : ids.map((id) => opened.get(id)).filter((s): s is OpenStatistic => s !== undefined);
    return c.json(ok({ subscriptionId: c.req.param('id'), statistics: wanted.map((statistic) => this.item(statistic)) }));
  }

  /** One statistic value as the Statistics API renders it; `value` is null while the statistic is invalid. */
  private item(statistic: OpenStatistic): Json {
    const agent = this.options.crowd.get(statistic.objectId)!;
    return {
      subscriptionId: statistic.subscriptionId,
      statisticId: statistic.statisticId,
      name: statistic.name,
      objectId: statistic.objectId,
      objectType: 'Agent',
      timestamp: agent.since,
      value: agent.invalid ? null : agentStatusValue(agent, statistic.depth),
    };
  }

  private peeked(name: string, agent: EmulatedAgent, depth: StatisticDepth): Json {
    return { name, objectId: agent.agentId, objectType: 'Agent', timestamp: agent.since, value: agent.invalid ? null : agentStatusValue(agent, depth) };
  }

  private agentChanged(agent: EmulatedAgent): void {
    const open = this.byAgent.get(agent.agentId);
    if (open === undefined) return;
    for (const statistic of open) this.pending.push(this.item(statistic));
    const max = this.options.maxItemsPerMessage ?? 1000;
    if (this.pending.length >= max) this.flush();
    else if (this.flushTimer === undefined) this.flushTimer = setTimeout(() => this.flush(), this.options.flushMs ?? 10);
  }

  private flush(): void {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pending.length === 0) return;
    const statistics = this.pending;
    this.pending = [];
    this.counters.itemsPublished += statistics.length;
    this.publish(UPDATES_CHANNEL, { statistics });
  }

  /** Publishes through the Bayeux engine directly (the same path a client publish takes after extensions). */
  publish(channel: string, data: unknown): void {
    if (channel === UPDATES_CHANNEL) this.counters.updatesPublished += 1;
    this.adapter._server._engine.publish({ channel, data, id: randomUUID() });
  }
}

function ok(data: Json): Json {
  return { data, errors: [], status: { code: 0, detail: {}, message: 'OK' } };
}

function failure(code: number, message: string): Json {
  return { data: {}, errors: [{ status: { code, message } }], status: { code, detail: {}, message } };
}
