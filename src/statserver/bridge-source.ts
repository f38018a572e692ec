/**
 * The bridge adapter: a `StatSource` for sites whose Stat Server speaks only the Platform SDK protocol.
 * EXAS listens (on loopback by default) for one bridge program on a WebSocket — or, when given `urls`,
 * connects to a bridge that listens, with backoff and failover in order; either way the bridge opens the two
 * statistics per agent that EXAS names in `Scope` / `Open` / `Close`, and pushes PSDK-shaped `EventInfo`
 * JSON, with a full snapshot (`SnapshotBegin` … `SnapshotEnd`) after every (re)connect. A bridge that goes
 * away is a Stat Server disconnect. The protocol is documented in docs/statserver.md.
 *
 * EXAS listens rather than connects so that the bridge needs one address (EXAS's), EXAS's listener stays on
 * loopback or a private interface, and a restarted bridge simply reconnects and re-sends its snapshot.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { WebSocket, WebSocketServer } from 'ws';
import { serve, type RunningServer } from '../platform/serve.ts';
import type { AgentObservation, StatSource } from './stat-source.ts';
import { readBridgeMessages, type BridgeMessage, type ExasToBridge } from './bridge-messages.ts';
import { SourceBase, type SourceBaseOptions } from './source-base.ts';

export interface BridgeSourceOptions extends SourceBaseOptions {
  /** Listen mode: address to listen on (default 127.0.0.1: only a bridge on the same host can connect). */
  host?: string;
  /** Listen mode: port to listen on (0 picks a free one; tests). Give `port` or `urls`, not both. */
  port?: number;
  /** Listen mode: WebSocket path (default `/bridge`). */
  path?: string;
  /** Connect mode: the bridge's `ws://` / `wss://` URLs, primary first; EXAS connects and reconnects. */
  urls?: string[];
  /** Connect mode: backoff between attempts (doubles from `initialMs` to `maxMs`, ±50 % jitter). */
  reconnect?: { initialMs: number; maxMs: number };
  /**
   * Shared secret, sent as `Authorization: Bearer <token>`: by the bridge when EXAS listens (without it any
   * local client may connect), by EXAS when it connects.
   */
  token?: string;
  /** How long `peek()` waits for the bridge's `PeekDone` (default 10,000 ms). */
  peekTimeoutMs?: number;
}

/** The bridge source; `url` says where the bridge should connect once `start()` resolved. */
export interface BridgeSource extends StatSource {
  /** Listen mode: `ws://host:port/path` once `start()` resolved; connect mode: the URL in use. */
  readonly url: string | undefined;
}

/**
 * @example
 * const source = createBridgeSource({ port: 8790, token: process.env.EXAS_BRIDGE_TOKEN });
 * await source.start(); // the bridge connects to ws://127.0.0.1:8790/bridge
 */
export function createBridgeSource(options: BridgeSourceOptions): BridgeSource {
  return new BridgeStatSource(options);
}

class BridgeStatSource extends SourceBase implements BridgeSource {
  private readonly path: string;
  private readonly peeks = new Map<string, () => void>();
  private readonly sockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
  private server: RunningServer | undefined;
  private bridge: WebSocket | undefined;
  private everConnected = false;
  private running = false;
  private attempt = 0;
  private retryTimer: unknown = undefined;
  private connectedUrl: string | undefined;

  constructor(private readonly options: BridgeSourceOptions) {
    const listen = options.port !== undefined;
    const connect = options.urls !== undefined;
    if (listen === connect) throw new Error('give either port (EXAS listens for the bridge) or urls (EXAS connects to the bridge)');
    if (listen && (!Number.isInteger(options.port) || options.port! < 0 || options.port! > 65535)) throw new Error(`port must be 0..65535, got ${options.port}`);
    if (connect && (options.urls!.length === 0 || options.urls!.some((url) => !/^wss?:\/\//.test(url)))) {
      throw new Error('urls must list ws:// or wss:// URLs');
    }
    const path = options.path ?? '/bridge';
    if (!path.startsWith('/')) throw new Error(`path must start with '/', got ${path}`);
    super('statserver.bridge', options);
    this.path = path;
  }

  get url(): string | undefined {
    if (this.options.urls !== undefined) return this.connectedUrl;
    return this.server === undefined ? undefined : `${this.server.url.replace(/^http/, 'ws')}${this.path}`;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.options.urls !== undefined) {
      await this.dial();
      return;
    }
    this.server = await serve(() => new Response('EXAS bridge endpoint: connect a WebSocket to ' + this.path + '\n', { status: 426 }), {
      host: this.options.host ?? '127.0.0.1',
      port: this.options.port,
      onUpgrade: (request, socket, head) => this.upgrade(request, socket, head),
    });
    this.log.info('listening for the Stat Server bridge', { url: this.url });
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.retryTimer !== undefined) this.scheduler.clearTimer(this.retryTimer);
    this.retryTimer = undefined;
    this.table.stop();
    const bridge = this.bridge;
    this.bridge = undefined;
    bridge?.close(1001, 'EXAS stopping');
    this.disconnected('stopped');
    for (const client of this.sockets.clients) client.terminate();
    await this.server?.close();
    this.server = undefined;
  }

  async open(agentIds: readonly string[]): Promise<void> {
    const added = this.table.add(agentIds);
    this.counters.openAgents = this.table.size;
    if (added.length > 0) this.send({ message: 'Open', agentIds: added });
  }

  async close(agentIds: readonly string[]): Promise<void> {
    const removed = [...new Set(agentIds)].filter((agentId) => this.table.has(agentId));
    for (const agentId of removed) this.table.remove(agentId);
    this.counters.openAgents = this.table.size;
    if (removed.length > 0) this.send({ message: 'Close', agentIds: removed });
  }

  async peek(agentIds?: readonly string[]): Promise<AgentObservation[]> {
    const wanted = (agentIds ?? this.table.agentIds()).filter((agentId) => this.table.has(agentId));
    if (this.bridge === undefined) {
      const at = this.scheduler.now();
      return wanted.map((agentId) => ({ kind: 'unknown', agentId, reason: 'disconnected', at }));
    }
    const id = randomUUID();
    await new Promise<void>((resolve) => {
      const timer = this.scheduler.setTimer(() => {
        this.peeks.delete(id);
        this.log.warn('the bridge did not answer a peek in time; using the values it sent so far', { id });
        resolve();
      }, this.options.peekTimeoutMs ?? 10_000);
      this.peeks.set(id, () => {
        this.scheduler.clearTimer(timer);
        resolve();
      });
      this.send(agentIds === undefined ? { message: 'Peek', id } : { message: 'Peek', id, agentIds: wanted });
    });
    return wanted.map((agentId) => this.table.observe(agentId));
  }

  /** Connect mode: one attempt at the URL this attempt points at (primary first); resolves when it settles. */
  private dial(): Promise<void> {
    const urls = this.options.urls!;
    const url = urls[this.attempt % urls.length]!;
    const headers: Record<string, string> = {};
    if (this.options.token !== undefined) headers['authorization'] = `Bearer ${this.options.token}`;
    return new Promise((resolve) => {
      const websocket = new WebSocket(url, { headers, maxPayload: 64 * 1024 * 1024 });
      websocket.once('open', () => {
        this.attempt = 0;
        this.connectedUrl = url;
        this.attach(websocket, url);
        resolve();
      });
      websocket.once('close', () => {
        if (this.connectedUrl === url && this.bridge === undefined) this.connectedUrl = undefined;
        this.scheduleDial();
        resolve();
      });
      websocket.on('error', (error) => this.log.warn('bridge connection error', { url, error: error.message }));
    });
  }

  private scheduleDial(): void {
    if (!this.running || this.retryTimer !== undefined) return;
    const backoff = this.options.reconnect ?? { initialMs: 500, maxMs: 30_000 };
    const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** this.attempt) * (0.5 + Math.random() * 0.5);
    this.attempt += 1;
    this.retryTimer = this.scheduler.setTimer(() => {
      this.retryTimer = undefined;
      void this.dial();
    }, delay);
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (request.url ?? '').split('?')[0];
    if (path !== this.path || !this.authorized(request.headers['authorization'])) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      this.log.warn('refused a bridge connection', { path, reason: path !== this.path ? 'wrong path' : 'bad token' });
      return;
    }
    this.sockets.handleUpgrade(request, socket, head, (websocket) => this.attach(websocket, 'bridge'));
  }

  private authorized(header: string | undefined): boolean {
    if (this.options.token === undefined) return true;
    const expected = Buffer.from(`Bearer ${this.options.token}`);
    const given = Buffer.from(header ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private attach(websocket: WebSocket, endpoint: string): void {
    const previous = this.bridge;
    if (previous !== undefined) {
      // One bridge at a time: a reconnecting bridge replaces a half-open old connection.
      this.bridge = undefined;
      previous.close(4000, 'replaced by a newer bridge connection');
      this.disconnected('replaced by a newer bridge connection');
    }
    this.bridge = websocket;
    this.counters.endpoint = endpoint;
    this.log.info('bridge connected; sending the scope');
    websocket.on('message', (data, isBinary) => {
      if (this.bridge !== websocket) return;
      if (isBinary) {
        this.counters.unknown('unparsable', '(bridge)', 'binary frame');
        return;
      }
      this.counters.event('bridge-frame');
      for (const message of readBridgeMessages(data.toString(), this.normalizer.timestampUnit, this.scheduler.now())) this.accept(message);
    });
    websocket.on('close', () => {
      if (this.bridge !== websocket) return;
      this.bridge = undefined;
      this.disconnected('bridge disconnected');
    });
    websocket.on('error', (error) => this.log.warn('bridge socket error', { error: error.message }));
    this.send({ message: 'Scope', agentIds: this.table.agentIds() });
  }

  private accept(message: BridgeMessage): void {
    switch (message.kind) {
      case 'info':
        if (!this.table.has(message.agentId)) return;
        this.counters.event('update');
        this.table.markValid(message.agentId, message.role);
        this.table.record(message.agentId, message.role, message.value, message.at);
        return;
      case 'invalid':
        if (!this.table.has(message.agentId)) return;
        this.counters.event('invalid');
        this.table.markInvalid(message.agentId, message.role, message.at);
        return;
      case 'valid':
        this.counters.event('valid');
        this.table.markValid(message.agentId, message.role);
        return;
      case 'snapshot-begin':
        this.counters.event('snapshot');
        return;
      case 'snapshot-end':
        // The snapshot is complete: values are fresh, so this is the moment the link counts as (re)connected.
        this.table.flushAll();
        if (!this.counters.connected) {
          if (this.everConnected) this.counters.reconnects += 1;
          this.everConnected = true;
          this.counters.connected = true;
          this.connections.emit({ state: 'connected', endpoint: this.counters.endpoint ?? 'bridge', at: this.scheduler.now() });
        }
        return;
      case 'peek-done':
        this.table.flushAll();
        this.peeks.get(message.id)?.();
        this.peeks.delete(message.id);
        return;
      case 'disconnected':
        this.disconnected(message.reason);
        return;
      case 'garbage':
        this.counters.unknown('unparsable', '(bridge)', message.detail);
        return;
    }
  }

  private disconnected(reason: string): void {
    if (!this.counters.connected) return;
    this.counters.connected = false;
    this.log.warn('Stat Server bridge link down', { reason });
    this.connections.emit({ state: 'disconnected', endpoint: this.counters.endpoint ?? 'bridge', at: this.scheduler.now(), error: reason });
  }

  private send(message: ExasToBridge): void {
    const bridge = this.bridge;
    if (bridge === undefined || bridge.readyState !== bridge.OPEN) return;
    bridge.send(JSON.stringify(message));
  }
}
