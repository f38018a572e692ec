/**
 * The emulated notification service: channels per OAuth client (at most 20; a 21st replaces the one used
 * longest ago, unconnected ones first), up to 1,000 topics per channel, channel expiry, one WebSocket per
 * channel (a second connection drops the first), heartbeats, ping → pong, and topic events when a user's
 * presence or routing status changes.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { notificationSystemPresence } from './presence-definitions.ts';
import type { EmulatorState, UserChange } from './state.ts';

export interface NotificationLimits {
  channelsPerClient: number;
  topicsPerChannel: number;
  channelTtlMs: number;
  heartbeatMs: number;
}

export interface EmulatedChannel {
  readonly id: string;
  readonly clientId: string;
  expiresAt: number;
  lastUsedAt: number;
  readonly topics: Set<string>;
  socket: WebSocket | undefined;
}

const TOPIC = /^v2\.users\.([^.?]+)\.(presence|routingStatus)$/;
const COMBINED = /^v2\.users\.([^.?]+)\?([A-Za-z&]+)$/;

/** Expands `v2.users.{id}?presence&routingStatus` into its topics; undefined for a topic the emulator does not serve. */
export function expandTopic(topic: string): string[] | undefined {
  if (TOPIC.test(topic)) return [topic];
  const combined = COMBINED.exec(topic);
  if (combined === null) return undefined;
  const parts = (combined[2] as string).split('&');
  if (!parts.every((part) => part === 'presence' || part === 'routingStatus')) return undefined;
  return parts.map((part) => `v2.users.${combined[1]}.${part}`);
}

export class NotificationHub {
  readonly channels = new Map<string, EmulatedChannel>();
  /** topic → channels subscribed to it (so a change costs O(subscribers), not O(channels)). */
  private readonly subscribers = new Map<string, Set<EmulatedChannel>>();
  private readonly wss = new WebSocketServer({ noServer: true });
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private sequence = 0;

  constructor(
    private readonly state: EmulatorState,
    readonly limits: NotificationLimits,
    private readonly now: () => number = Date.now,
  ) {
    state.onChange((change) => this.publish(change));
    if (limits.heartbeatMs > 0) {
      this.heartbeat = setInterval(() => this.sendHeartbeats(), limits.heartbeatMs);
      (this.heartbeat as { unref?: () => void }).unref?.();
    }
  }

  createChannel(clientId: string, wsBaseUrl: string): EmulatedChannel & { connectUri: string } {
    this.expire();
    const own = [...this.channels.values()].filter((channel) => channel.clientId === clientId);
    if (own.length >= this.limits.channelsPerClient) {
      // "Creating a 21st channel will remove the channel with oldest last used date. Channels without an
      // active connection will be removed first."
      own.sort((a, b) => Number(a.socket !== undefined) - Number(b.socket !== undefined) || a.lastUsedAt - b.lastUsedAt);
      this.removeChannel(own[0] as EmulatedChannel);
    }
    this.sequence += 1;
    const id = `streaming-${this.sequence}-${crypto.randomUUID().slice(0, 8)}`;
    const at = this.now();
    const channel: EmulatedChannel = { id, clientId, expiresAt: at + this.limits.channelTtlMs, lastUsedAt: at, topics: new Set(), socket: undefined };
    this.channels.set(id, channel);
    return Object.assign(channel, { connectUri: `${wsBaseUrl}/channels/${id}` });
  }

  /** The live channel, or undefined when it does not exist or has expired. */
  channel(id: string): EmulatedChannel | undefined {
    this.expire();
    return this.channels.get(id);
  }

  /**
   * Adds (or with `replace`, sets) topics. Returns the accepted topic ids, or an error message when the channel
   * would hold more than the limit.
   */
  subscribe(channel: EmulatedChannel, topics: ReadonlyArray<string>, replace: boolean): { ok: true } | { ok: false; message: string } {
    const next = new Set(replace ? [] : channel.topics);
    for (const topic of topics) next.add(topic);
    if (next.size > this.limits.topicsPerChannel) {
      return { ok: false, message: `a channel may hold at most ${this.limits.topicsPerChannel} topics (this request would make ${next.size})` };
    }
    for (const topic of channel.topics) if (!next.has(topic)) this.subscribers.get(topic)?.delete(channel);
    channel.topics.clear();
    for (const topic of next) {
      channel.topics.add(topic);
      let set = this.subscribers.get(topic);
      if (set === undefined) {
        set = new Set();
        this.subscribers.set(topic, set);
      }
      set.add(channel);
    }
    channel.lastUsedAt = this.now();
    return { ok: true };
  }

  /** Handles the WebSocket upgrade for `/channels/{id}`; refuses unknown or expired channels. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const match = /^\/channels\/([^/?]+)/.exec(request.url ?? '');
    const channel = match ? this.channel(decodeURIComponent(match[1] as string)) : undefined;
    if (channel === undefined) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      // One WebSocket per channel: a new connection drops the old one.
      channel.socket?.close(4000, 'another connection opened for this channel');
      channel.socket = ws;
      channel.lastUsedAt = this.now();
      ws.on('message', (data) => {
        let message: unknown;
        try {
          message = JSON.parse(String(data));
        } catch {
          return;
        }
        if ((message as { message?: unknown } | null)?.message === 'ping') {
          ws.send(JSON.stringify({ topicName: 'channel.metadata', eventBody: { message: 'pong' } }));
        }
      });
      ws.on('close', () => {
        if (channel.socket === ws) channel.socket = undefined;
      });
    });
  }

  /** Sends `v2.system.socket_closing` and closes every socket (token revocation, maintenance). */
  closeAllSockets(reason: 'token_revoked' | 'maintenance'): void {
    for (const channel of this.channels.values()) {
      const socket = channel.socket;
      if (socket === undefined) continue;
      socket.send(
        JSON.stringify({
          topicName: 'v2.system.socket_closing',
          version: '2',
          eventBody: { channelId: channel.id, ...(reason === 'token_revoked' ? { systemTopicType: 'token_revoked', reason: 'user_tokens_revoked' } : {}), message: reason },
        }),
      );
      socket.close(1001, reason);
      channel.socket = undefined;
    }
  }

  close(): void {
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    for (const channel of this.channels.values()) channel.socket?.terminate();
    this.channels.clear();
    this.subscribers.clear();
    this.wss.close();
  }

  /** How many sockets are open (tests wait on this). */
  connectedSockets(): number {
    let open = 0;
    for (const channel of this.channels.values()) if (channel.socket !== undefined) open += 1;
    return open;
  }

  sendHeartbeats(): void {
    const frame = JSON.stringify({ topicName: 'channel.metadata', eventBody: { message: 'WebSocket Heartbeat' } });
    for (const channel of this.channels.values()) channel.socket?.send(frame);
  }

  private removeChannel(channel: EmulatedChannel): void {
    for (const topic of channel.topics) this.subscribers.get(topic)?.delete(channel);
    channel.socket?.close(1000, 'channel removed');
    this.channels.delete(channel.id);
  }

  private expire(): void {
    const at = this.now();
    for (const channel of this.channels.values()) if (channel.expiresAt <= at) this.removeChannel(channel);
  }

  private publish(change: UserChange): void {
    const user = change.user;
    const topicName = change.kind === 'presence' ? `v2.users.${user.id}.presence` : `v2.users.${user.id}.routingStatus`;
    const channels = this.subscribers.get(topicName);
    if (channels === undefined || channels.size === 0) return;
    let eventBody: Record<string, unknown>;
    if (change.kind === 'presence') {
      const shown = this.state.shownPresence(user);
      const definition = this.state.shownDefinition(user);
      const source = this.state.sources.get(shown.sourceId);
      eventBody = {
        source: source?.name ?? shown.sourceId,
        presenceDefinition: { id: definition.id, systemPresence: notificationSystemPresence(definition) },
        primary: shown.sourceId === user.primarySourceId,
        message: shown.message ?? '',
        modifiedDate: shown.modifiedDate,
      };
    } else {
      eventBody = { id: user.id, routingStatus: { status: user.routingStatus, startTime: user.routingStartTime } };
    }
    const frame = JSON.stringify({ topicName, version: '2', eventBody, metadata: { CorrelationId: crypto.randomUUID() } });
    for (const channel of channels) channel.socket?.send(frame);
  }
}
