/**
 * A small Platform SDK bridge simulator: what a customer's bridge program does, against an emulated crowd.
 * It connects to EXAS's bridge endpoint, opens the agents EXAS scopes (`Scope` / `Open` / `Close`), sends a
 * full snapshot after every connect, pushes PSDK-shaped `EventInfo` JSON for both statistics on every change,
 * answers `Peek`, and can misbehave on demand (invalid statistics, a dropped link, garbage frames).
 */
import WebSocket, { WebSocketServer } from 'ws';
import { agentStatusValue, type StatisticDepth } from './agent-status.ts';
import type { Crowd, EmulatedAgent } from './crowd.ts';

export interface BridgeSimulatorOptions {
  /** EXAS's bridge URL, e.g. `ws://127.0.0.1:8790/bridge` (when EXAS listens; unused with `listen()`). */
  readonly url?: string;
  readonly token?: string;
  readonly crowd: Crowd;
}

const STATISTICS: ReadonlyArray<readonly [string, StatisticDepth, number]> = [
  ['CurrentState', 'DNStatus', 1],
  ['CurrentStateReason', 'DNAction', 2],
];

/** camelCase Statistics API tree → PascalCase PSDK rendering (keys inside a reasons KV list stay as they are). */
export function pascalTree(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pascalTree);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    const pascal = key.charAt(0).toUpperCase() + key.slice(1);
    out[pascal] = key === 'reasons' ? inner : pascalTree(inner);
  }
  return out;
}

/** The simulator's current WebSocket and a promise of its 'close', listened for from the start so it is never missed. */
interface Link {
  readonly socket: WebSocket;
  readonly closed: Promise<void>;
}

export class BridgeSimulator {
  private link: Link | undefined;
  private readonly scope = new Set<string>();
  private readonly unsubscribe: () => void;
  /** Frames received from EXAS (for assertions). */
  readonly received: Array<Record<string, unknown>> = [];

  constructor(private readonly options: BridgeSimulatorOptions) {
    this.unsubscribe = options.crowd.onChange((agent) => {
      if (this.scope.has(agent.agentId)) this.send(this.eventsFor(agent));
    });
  }

  private server: WebSocketServer | undefined;

  /**
   * The other deployment: the bridge listens on loopback and EXAS connects (`createBridgeSource({ urls })`).
   * Resolves with the URL to give EXAS. A new connection replaces the current one.
   */
  listen(): Promise<string> {
    return new Promise((resolve) => {
      const server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/bridge' }, () => {
        const address = server.address();
        resolve(`ws://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/bridge`);
      });
      this.server = server;
      server.on('connection', (socket, request) => {
        if (this.options.token !== undefined && request.headers['authorization'] !== `Bearer ${this.options.token}`) {
          socket.close(4001, 'bad token');
          return;
        }
        this.link?.socket.terminate();
        this.attach(socket);
      });
    });
  }

  /** Connects; resolves once open (EXAS then sends `Scope`, and the simulator answers with a snapshot). */
  connect(): Promise<void> {
    const headers: Record<string, string> = {};
    if (this.options.token !== undefined) headers['authorization'] = `Bearer ${this.options.token}`;
    if (this.options.url === undefined) return Promise.reject(new Error('no url to connect to'));
    const socket = new WebSocket(this.options.url, { headers });
    this.attach(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_request, response) => reject(new Error(`bridge refused: HTTP ${response.statusCode}`)));
    });
  }

  /** Resolves when the current link closes, whichever side closes it (at once when there is none). */
  closed(): Promise<void> {
    return this.link?.closed ?? Promise.resolve();
  }

  /**
   * Drops the link (as a crashed bridge would). Resolves once it is closed, also when EXAS closed it first:
   * 'close' fires only once, so it is awaited through the promise taken when the link began.
   */
  disconnect(): Promise<void> {
    const link = this.link;
    this.link = undefined;
    if (link === undefined) return Promise.resolve();
    link.socket.terminate();
    return link.closed;
  }

  private attach(socket: WebSocket): void {
    this.link = { socket, closed: new Promise((resolve) => socket.once('close', () => resolve())) };
    socket.on('message', (data) => this.onFrame(String(data)));
  }

  /** Stat Server reported the agent's statistics invalid (or valid again, with fresh values). */
  setInvalid(agentId: string, invalid: boolean): void {
    const agent = this.options.crowd.get(agentId);
    if (agent === undefined) return;
    agent.invalid = invalid;
    if (invalid) {
      this.send(STATISTICS.map(([statistic, , reference]) => ({ message: 'EventStatisticInvalid', ReferenceId: reference, ObjectId: agentId, Statistic: statistic })));
    } else {
      this.send(STATISTICS.map(([statistic, , reference]) => ({ message: 'EventStatisticValid', ReferenceId: reference, ObjectId: agentId, Statistic: statistic })));
      this.send(this.eventsFor(agent));
    }
  }

  /** Sends any frame as is (garbage tests). */
  sendRaw(frame: string): void {
    this.link?.socket.send(frame);
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await this.disconnect();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private onFrame(frame: string): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(frame) as Record<string, unknown>;
    } catch {
      return;
    }
    this.received.push(message);
    const ids = Array.isArray(message['agentIds']) ? message['agentIds'].filter((id): id is string => typeof id === 'string') : [];
    switch (message['message']) {
      case 'Scope':
        this.scope.clear();
        for (const id of ids) this.scope.add(id);
        this.snapshot();
        break;
      case 'Open':
        for (const id of ids) this.scope.add(id);
        this.send(ids.flatMap((id) => this.eventsForId(id)));
        break;
      case 'Close':
        for (const id of ids) this.scope.delete(id);
        break;
      case 'Peek': {
        const wanted = Array.isArray(message['agentIds']) ? ids : [...this.scope];
        this.send([...wanted.flatMap((id) => this.eventsForId(id)), { message: 'PeekDone', id: message['id'] }]);
        break;
      }
    }
  }

  private snapshot(): void {
    const events = [...this.scope].flatMap((id) => this.eventsForId(id));
    // Batched frames, as a bridge with thousands of agents would send them.
    this.send([{ message: 'SnapshotBegin' }]);
    for (let index = 0; index < events.length; index += 500) this.send(events.slice(index, index + 500));
    this.send([{ message: 'SnapshotEnd' }]);
  }

  private eventsForId(agentId: string): Array<Record<string, unknown>> {
    const agent = this.options.crowd.get(agentId);
    return agent === undefined ? [] : this.eventsFor(agent);
  }

  private eventsFor(agent: EmulatedAgent): Array<Record<string, unknown>> {
    if (agent.invalid) {
      return STATISTICS.map(([statistic, , reference]) => ({ message: 'EventStatisticInvalid', ReferenceId: reference, ObjectId: agent.agentId, Statistic: statistic }));
    }
    return STATISTICS.map(([statistic, depth, reference]) => ({
      message: 'EventInfo',
      ReferenceId: reference,
      ObjectId: agent.agentId,
      Statistic: statistic,
      Timestamp: agent.since,
      IntValue: 0,
      StringValue: null,
      StateValue: { _type: 'AgentStatus', ...(pascalTree(agentStatusValue(agent, depth)) as Record<string, unknown>) },
    }));
  }

  private send(messages: Array<Record<string, unknown>>): void {
    const socket = this.link?.socket;
    if (socket === undefined || socket.readyState !== WebSocket.OPEN || messages.length === 0) return;
    socket.send(JSON.stringify(messages));
  }
}
