/**
 * GC notification channels for drift detection: create a channel, open its WebSocket, subscribe users'
 * `v2.users.{id}.presence` and `v2.users.{id}.routingStatus` topics, and hear changes in EXAS's vocabulary.
 * One channel holds at most 1,000 topics (500 users, two topics each); a client may hold 20 channels, so
 * one client can watch at most 10,000 users this way (beyond that, use more clients or bulk reads).
 * The channel heals itself: when the socket drops, GC announces `v2.system.socket_closing`, or no heartbeat
 * arrives in time, it reconnects (to a new channel with the same topics when the old one is gone) and emits
 * `reconnected`, after which the caller should re-read state it may have missed.
 *
 * @example
 * const channel = createNotificationChannel(client, { catalog });
 * channel.on('presence', (event) => console.log(event.userId, event.presence));
 * channel.on('routingStatus', (event) => console.log(event.userId, event.routingStatus));
 * await channel.subscribe(userIds); // opens the channel on first use (or call open() first)
 * await channel.close();
 */
import { WebSocket } from 'ws';
import { createLogger } from '../log.ts';
import type { PresenceLookup } from './catalog.ts';
import type { GcClient } from './client.ts';
import type { GcChannel } from './types.ts';
import { fromWireRoutingStatus, normalizeSystemPresence, type ObservedRoutingStatus } from './wire.ts';

/** A user's presence changed in GC. */
export interface PresenceNotification {
  readonly userId: string;
  readonly presenceDefinitionId: string | undefined;
  /** Vocabulary name or custom label (when a catalog was given and knows the id). */
  readonly presence: string | undefined;
  /** Normalised system presence (`OnQueue`), when GC sent one. */
  readonly systemPresence: string | undefined;
  /** The presence source GC names (e.g. `PURECLOUD`, or EXAS's source name). */
  readonly source: string | undefined;
  readonly primary: boolean | undefined;
  readonly modifiedDate: string | undefined;
}

/** A user's routing status changed in GC. */
export interface RoutingStatusNotification {
  readonly userId: string;
  readonly routingStatus: ObservedRoutingStatus | undefined;
  readonly startTime: string | undefined;
}

export interface NotificationEvents {
  presence: PresenceNotification;
  routingStatus: RoutingStatusNotification;
  /** Heartbeat or pong: the socket is alive. */
  heartbeat: { readonly at: number };
  /** Connected again after a drop; changes during the gap were missed. */
  reconnected: { readonly channelId: string; readonly newChannel: boolean };
  /** The socket dropped; a reconnect is under way unless the channel was closed. */
  disconnected: { readonly reason: string };
  /** A failure while reconnecting or subscribing in the background. */
  error: { readonly error: unknown };
}

export type NotificationEventName = keyof NotificationEvents;

export interface NotificationChannelOptions {
  /** Resolves presence definition ids to names in `presence` events. */
  catalog?: PresenceLookup;
  /** Which topics per user (default both). */
  topics?: ReadonlyArray<'presence' | 'routingStatus'>;
  /** Topics one channel may hold (GC: 1,000). */
  maxTopics?: number;
  /** Reconnect when nothing (not even a heartbeat) arrives for this long (default 90 s; GC heartbeats every 30 s). */
  heartbeatTimeoutMs?: number;
  /** First reconnect delay, doubled up to 30 s (default 1 s). */
  reconnectDelayMs?: number;
}

export interface NotificationChannel {
  /** The current channel id (undefined before `open`). */
  readonly id: string | undefined;
  /** Users subscribed. */
  readonly userCount: number;
  /** How many more users fit in this channel. */
  readonly capacity: number;
  /** Creates the channel and connects its WebSocket. */
  open(signal?: AbortSignal): Promise<void>;
  /** Subscribes these users' topics (adds to the existing ones; opens the channel first if needed). Throws when they would not fit. */
  subscribe(userIds: ReadonlyArray<string>, signal?: AbortSignal): Promise<void>;
  on<E extends NotificationEventName>(event: E, listener: (payload: NotificationEvents[E]) => void): () => void;
  close(): Promise<void>;
}

const log = createLogger('gc.notifications');

/** The user id inside `v2.users.{id}.presence`. */
function userIdOf(topicName: string): string | undefined {
  const parts = topicName.split('.');
  return parts.length >= 4 && parts[0] === 'v2' && parts[1] === 'users' ? parts[2] : undefined;
}

/** Creates a (not yet open) notification channel on `client`. */
export function createNotificationChannel(client: GcClient, options: NotificationChannelOptions = {}): NotificationChannel {
  const kinds = options.topics ?? ['presence', 'routingStatus'];
  const maxTopics = options.maxTopics ?? 1000;
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 90_000;
  const firstDelay = options.reconnectDelayMs ?? 1000;
  const listeners = new Map<NotificationEventName, Set<(payload: never) => void>>();
  const users = new Set<string>();
  let channel: GcChannel | undefined;
  let socket: WebSocket | undefined;
  let closed = false;
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let reconnecting = false;
  let delay = firstDelay;

  const emit = <E extends NotificationEventName>(event: E, payload: NotificationEvents[E]): void => {
    for (const listener of listeners.get(event) ?? []) {
      try {
        (listener as (value: NotificationEvents[E]) => void)(payload);
      } catch (error) {
        log.warn('notification listener threw', { event, error });
      }
    }
  };
  const topicsOf = (userIds: Iterable<string>): string[] => {
    const out: string[] = [];
    for (const userId of userIds) for (const kind of kinds) out.push(`v2.users.${userId}.${kind}`);
    return out;
  };

  const armWatchdog = (): void => {
    if (watchdog !== undefined) clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      log.warn('no heartbeat in time; reconnecting', { channelId: channel?.id });
      socket?.terminate();
    }, heartbeatTimeoutMs);
    (watchdog as { unref?: () => void }).unref?.();
  };

  const onMessage = (data: unknown): void => {
    armWatchdog();
    let message: { topicName?: unknown; eventBody?: Record<string, unknown> };
    try {
      message = JSON.parse(String(data)) as typeof message;
    } catch {
      return;
    }
    const topicName = typeof message.topicName === 'string' ? message.topicName : '';
    const body = message.eventBody ?? {};
    if (topicName === 'channel.metadata') {
      emit('heartbeat', { at: Date.now() });
      return;
    }
    if (topicName === 'v2.system.socket_closing') {
      // GC is about to close this socket (maintenance, revoked token): reconnect now rather than wait.
      log.info('GC is closing the notification socket; reconnecting', { channelId: channel?.id });
      socket?.close();
      return;
    }
    const userId = userIdOf(topicName);
    if (userId === undefined) return;
    if (topicName.endsWith('.presence')) {
      const definition = body['presenceDefinition'] as { id?: string; systemPresence?: string } | undefined;
      const id = typeof definition?.id === 'string' ? definition.id : undefined;
      emit('presence', {
        userId,
        presenceDefinitionId: id,
        presence: id === undefined ? undefined : options.catalog?.nameOf(id),
        systemPresence: normalizeSystemPresence(definition?.systemPresence) ?? definition?.systemPresence,
        source: typeof body['source'] === 'string' ? body['source'] : undefined,
        primary: typeof body['primary'] === 'boolean' ? body['primary'] : undefined,
        modifiedDate: typeof body['modifiedDate'] === 'string' ? body['modifiedDate'] : undefined,
      });
    } else if (topicName.endsWith('.routingStatus')) {
      const routing = body['routingStatus'] as { status?: string; startTime?: string } | undefined;
      emit('routingStatus', {
        userId,
        routingStatus: fromWireRoutingStatus(routing?.status),
        startTime: typeof routing?.startTime === 'string' ? routing.startTime : undefined,
      });
    }
  };

  const connect = (connectUri: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(connectUri);
      let opened = false;
      ws.on('open', () => {
        opened = true;
        socket = ws;
        delay = firstDelay;
        armWatchdog();
        resolve();
      });
      ws.on('message', onMessage);
      ws.on('error', (error) => {
        if (!opened) reject(error);
      });
      ws.on('close', () => {
        if (socket === ws) socket = undefined;
        if (!opened) return;
        if (closed) return;
        emit('disconnected', { reason: 'socket closed' });
        scheduleReconnect();
      });
    });

  const scheduleReconnect = (): void => {
    if (closed || reconnecting || reconnectTimer !== undefined) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void reconnect();
    }, delay);
    delay = Math.min(30_000, delay * 2);
  };

  const reconnect = async (): Promise<void> => {
    if (closed) return;
    reconnecting = true;
    try {
      let newChannel = false;
      if (channel === undefined || !(await client.channelExists(channel.id))) {
        channel = await client.createChannel();
        newChannel = true;
        if (users.size > 0) await client.subscribe(channel.id, topicsOf(users), { replace: true });
      }
      await connect(channel.connectUri);
      emit('reconnected', { channelId: channel.id, newChannel });
    } catch (error) {
      emit('error', { error });
      reconnecting = false;
      scheduleReconnect();
      return;
    }
    reconnecting = false;
  };

  const api: NotificationChannel = {
    get id() {
      return channel?.id;
    },
    get userCount() {
      return users.size;
    },
    get capacity() {
      return Math.floor(maxTopics / kinds.length) - users.size;
    },
    async open(signal) {
      closed = false;
      channel = await client.createChannel(signal);
      await connect(channel.connectUri);
    },
    async subscribe(userIds, signal) {
      if (channel === undefined) await api.open(signal);
      const fresh = [...new Set(userIds)].filter((userId) => !users.has(userId));
      if (fresh.length === 0) return;
      if ((users.size + fresh.length) * kinds.length > maxTopics) {
        throw new Error(`notification channel: ${users.size + fresh.length} users need ${(users.size + fresh.length) * kinds.length} topics; one channel holds ${maxTopics}`);
      }
      await client.subscribe((channel as GcChannel).id, topicsOf(fresh), signal ? { signal } : {});
      for (const userId of fresh) users.add(userId);
    },
    on(event, listener) {
      let set = listeners.get(event);
      if (set === undefined) {
        set = new Set();
        listeners.set(event, set);
      }
      set.add(listener as (payload: never) => void);
      return () => set.delete(listener as (payload: never) => void);
    },
    async close() {
      closed = true;
      if (watchdog !== undefined) clearTimeout(watchdog);
      if (reconnectTimer !== undefined) clearTimeout(reconnectTimer);
      const ws = socket;
      socket = undefined;
      if (ws !== undefined && ws.readyState !== WebSocket.CLOSED) {
        await new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.close();
        });
      }
    },
  };
  return api;
}
