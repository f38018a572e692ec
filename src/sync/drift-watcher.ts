/**
 * Watches synced users in GC for drift: one notification channel per `watch-plan` assignment (WebSocket +
 * `v2.users.{id}.presence` / `.routingStatus` topics), renewed before GC's 24 h channel expiry and re-opened
 * after `v2.system.socket_closing` or a dropped socket; users beyond the channel limits are checked by periodic
 * bulk reads. Every notified value goes to `connector.observeGc`, which judges echo / drift / re-assert.
 */
import WebSocket from 'ws';
import { fromWireRoutingStatus, normalizeSystemPresence } from '../gc/index.ts';
import { createLogger, type Logger } from '../log.ts';
import type { Connector } from './connector/index.ts';
import { parseUserTopic, planWatch, topicsFor, type ChannelAssignment, type WatchLimits, type WatchPlan } from './watch-plan.ts';
import { sharedAbortController } from '../platform/abort.ts';

/** GC's notification channel operations, per client index. */
export interface NotificationChannels {
  /** How many clients (credential sets) can hold channels. */
  readonly clients: number;
  create(clientIndex: number, signal?: AbortSignal): Promise<{ id: string; connectUri: string }>;
  /** Replaces the channel's topics. */
  subscribe(clientIndex: number, channelId: string, topics: readonly string[], signal?: AbortSignal): Promise<void>;
}

/** The part of a WebSocket the watcher uses (injectable for tests). */
export interface SocketLike {
  on(event: 'open', listener: () => void): unknown;
  on(event: 'message', listener: (data: unknown) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  close(): void;
}

export interface DriftWatcherOptions {
  readonly connector: Pick<Connector, 'syncedUsers' | 'onSyncedUsersChange' | 'observeGc' | 'checkByBulkRead' | 'ready'>;
  readonly channels: NotificationChannels;
  /** The vocabulary name (or custom label) of a presence definition id; `systemPresence` is GC's normalised system name. */
  readonly presenceName: (definitionId: string, systemPresence: string | undefined) => string | undefined;
  readonly limits: WatchLimits;
  /** Recreate each channel this long after it was opened (before GC's 24 h expiry). */
  readonly renewMs: number;
  /** Interval of bulk reads for users no channel holds. */
  readonly bulkReadMs: number;
  readonly openSocket?: (url: string) => SocketLike;
  /** Wait before reopening a dropped socket or retrying a failed channel set-up (default 5 s). */
  readonly reconnectDelayMs?: number;
  readonly logger?: Logger;
}

export interface DriftWatcher {
  stop(): Promise<void>;
  stats(): { channels: number; watchedUsers: number; bulkReadUsers: number; notifications: number; reconnects: number };
  /** Applies the current synced users now (also done on every change, debounced). */
  refresh(): Promise<void>;
}

interface LiveChannel {
  readonly key: string;
  readonly client: number;
  channelId: string;
  socket: SocketLike;
  /** The users whose topics the channel holds; the topic strings are built when sent (two ~70-byte strings per user kept for a day's renewal were about 150 bytes a user). */
  userIds: readonly string[];
  renewTimer: ReturnType<typeof setTimeout> | undefined;
  /** A renewal is on its way: another one (e.g. "socket closing" then "socket closed") must not start. */
  renewing?: boolean;
  /** The current socket closed before a renewal replaced it: notifications were lost in between. */
  gap?: boolean;
}


export function startDriftWatcher(options: DriftWatcherOptions): DriftWatcher {
  const log = options.logger ?? createLogger('sync.drift');
  const RECONNECT_DELAY_MS = options.reconnectDelayMs ?? 5_000;
  const abort = sharedAbortController();
  let plan: WatchPlan = { channels: [], bulkRead: [] };
  let stopped = false;
  let applying: Promise<void> = Promise.resolve();
  let debounce: ReturnType<typeof setTimeout> | undefined;
  const channels = createLiveChannels(options, { log, reconnectDelayMs: RECONNECT_DELAY_MS, signal: abort.signal, isStopped: () => stopped });
  const { live, ensure } = channels;

  /**
   * Whether the connector's start-up work (its bulk read of GC included) is done: users watched before then are
   * covered by that read (see `watchBeforeRead`); reading them again would spend 2N/100 requests for nothing.
   */
  let startupRead = false;
  options.connector.ready().then(
    () => (startupRead = true),
    () => (startupRead = true),
  );

  /** Whether a plan was applied before: the first one's users are the start-up read's. */
  let appliedOnce = false;

  const apply = async (): Promise<void> => {
    const before = plan;
    const readFresh = appliedOnce && startupRead;
    plan = planWatch(options.connector.syncedUsers(), options.limits, plan);
    const wanted = new Set(plan.channels.map((assignment) => `${assignment.client}:${assignment.channel}`));
    for (const [key, entry] of live) {
      if (wanted.has(key)) continue;
      live.delete(key);
      if (entry.renewTimer !== undefined) clearTimeout(entry.renewTimer);
      entry.socket.close();
    }
    const results = await Promise.allSettled(plan.channels.map((assignment) => ensure(assignment)));
    const failed = results.filter((result) => result.status === 'rejected');
    if (failed.length > 0 && !stopped) {
      log.warn('some notification channels could not be set up; retrying', { failed: failed.length, reason: String((failed[0] as PromiseRejectedResult).reason) });
      schedule(RECONNECT_DELAY_MS);
    }
    if (readFresh) readNewlyWatched(before, plan);
    appliedOnce = true;
    log.debug('drift watch applied', { channels: live.size, bulkReadUsers: plan.bulkRead.length });
  };

  /**
   * Users that entered scope were written before their topics were subscribed (the plan follows a scope change
   * by a second): a change made in GC meanwhile sent no notification to EXAS. Read them once, now that they are
   * watched, so drift in that gap is seen at once rather than never (or at the next periodic bulk read).
   */
  const readNewlyWatched = (before: WatchPlan, after: WatchPlan): void => {
    const had = new Set(before.channels.flatMap((assignment) => assignment.userIds));
    const fresh = after.channels.flatMap((assignment) => assignment.userIds).filter((userId) => !had.has(userId));
    if (fresh.length === 0 || stopped) return;
    options.connector.checkByBulkRead(fresh).catch((error: unknown) => log.warn('bulk drift check of newly watched users failed', { users: fresh.length, error }));
  };

  const schedule = (delayMs: number): void => {
    if (stopped) return;
    if (debounce !== undefined) clearTimeout(debounce);
    debounce = setTimeout(() => {
      debounce = undefined;
      applying = applying.then(apply, apply);
    }, delayMs);
    debounce.unref?.();
  };

  const unsubscribe = options.connector.onSyncedUsersChange(() => schedule(1_000));
  const bulkTimer = setInterval(() => {
    if (plan.bulkRead.length === 0) return;
    options.connector.checkByBulkRead(plan.bulkRead).catch((error: unknown) => log.warn('bulk drift check failed', { error }));
  }, options.bulkReadMs);
  bulkTimer.unref?.();
  applying = apply().catch((error: unknown) => log.warn('drift watch set-up failed', { error }));

  return {
    async refresh() {
      applying = applying.then(apply, apply);
      await applying;
    },
    async stop() {
      stopped = true;
      abort.abort();
      unsubscribe();
      clearInterval(bulkTimer);
      if (debounce !== undefined) clearTimeout(debounce);
      await applying.catch(() => undefined);
      for (const entry of live.values()) {
        if (entry.renewTimer !== undefined) clearTimeout(entry.renewTimer);
        entry.socket.close();
      }
      live.clear();
    },
    stats: () => ({
      channels: live.size,
      watchedUsers: plan.channels.reduce((sum, assignment) => sum + assignment.userIds.length, 0),
      bulkReadUsers: plan.bulkRead.length,
      notifications: channels.notifications,
      reconnects: channels.reconnects,
    }),
  };
}

/**
 * The live notification channels: each one's socket, topics and renewal (GC's channel lifetime, a "socket
 * closing" notice, a closed socket), and the dispatch of each notification to the connector. A socket gap (a
 * close before its renewal) is read once in bulk, since the notifications sent meanwhile are lost.
 */
function createLiveChannels(
  options: DriftWatcherOptions,
  context: { log: Logger; reconnectDelayMs: number; signal: AbortSignal; isStopped: () => boolean },
): { live: Map<string, LiveChannel>; ensure(assignment: ChannelAssignment): Promise<void>; readonly notifications: number; readonly reconnects: number } {
  const { log } = context;
  const abort = { signal: context.signal };
  const openSocket = options.openSocket ?? ((url: string) => new WebSocket(url) as unknown as SocketLike);
  const RECONNECT_DELAY_MS = context.reconnectDelayMs;
  const live = new Map<string, LiveChannel>();
  let notifications = 0;
  let reconnects = 0;

  const dispatch = (raw: unknown): void => {
    let message: { topicName?: unknown; eventBody?: unknown };
    try {
      message = JSON.parse(typeof raw === 'string' ? raw : String(raw)) as typeof message;
    } catch {
      return;
    }
    const topic = typeof message.topicName === 'string' ? message.topicName : '';
    if (topic === 'channel.metadata') return;
    const parsed = parseUserTopic(topic);
    if (parsed === undefined) return;
    notifications += 1;
    const body = (message.eventBody ?? {}) as Record<string, unknown>;
    if (parsed.part === 'presence') {
      const definition = (body['presenceDefinition'] ?? {}) as { id?: unknown; systemPresence?: unknown };
      const system = normalizeSystemPresence(definition.systemPresence);
      const name = typeof definition.id === 'string' ? options.presenceName(definition.id, system) : system;
      if (name !== undefined) options.connector.observeGc(parsed.userId, 'presence', name);
    } else {
      const routing = (body['routingStatus'] ?? {}) as { status?: unknown };
      const status = fromWireRoutingStatus(routing.status);
      if (status !== undefined) options.connector.observeGc(parsed.userId, 'routingStatus', status);
    }
  };

  /** Opens a channel with its socket and topics; the socket is open before the topics are set. */
  const open = async (client: number, topics: string[]): Promise<{ channelId: string; socket: SocketLike }> => {
    const channel = await options.channels.create(client, abort.signal);
    const socket = openSocket(channel.connectUri);
    // A socket GC closes while the topics are being set (a token revocation, a proxy cut) would otherwise be
    // attached as live with its close already missed: a silent channel until the next day's renewal (chaos full
    // profile: 8 of 10 channels dead after a revocation during the renewals, 83 drifted users never repaired).
    let closedEarly = false;
    socket.on('close', () => (closedEarly = true));
    try {
      await new Promise<void>((resolve, reject) => {
        socket.on('open', () => resolve());
        socket.on('error', (error) => reject(error));
      });
      await options.channels.subscribe(client, channel.id, topics, abort.signal);
      if (context.isStopped()) throw new Error('drift watcher stopped');
      if (closedEarly) throw new Error('notification socket closed while its topics were being set');
    } catch (error) {
      // A socket that never became a live channel (stopped meanwhile, subscribe failed) is closed here: nothing
      // else knows it, and an open socket kept a stopped EXAS process from exiting.
      socket.close();
      throw error;
    }
    return { channelId: channel.id, socket };
  };

  const attach = (entry: LiveChannel): void => {
    const socket = entry.socket;
    socket.on('message', (data) => {
      const text = typeof data === 'string' ? data : String(data);
      if (text.includes('v2.system.socket_closing')) {
        // GC closes this socket soon (maintenance): open a new one first, then drop the old.
        void renew(entry, 'socket closing');
        return;
      }
      dispatch(text);
    });
    socket.on('close', () => {
      if (context.isStopped() || entry.socket !== socket || live.get(entry.key) !== entry) return;
      entry.gap = true;
      reconnects += 1;
      log.warn('notification socket closed; reopening', { channel: entry.key });
      // Only if this socket is still the channel's when the delay ends: a renewal may have replaced it meanwhile.
      setTimeout(() => {
        if (entry.socket === socket) void renew(entry, 'socket closed');
      }, RECONNECT_DELAY_MS).unref?.();
    });
    socket.on('error', (error) => log.debug('notification socket error', { channel: entry.key, error }));
    if (entry.renewTimer !== undefined) clearTimeout(entry.renewTimer);
    entry.renewTimer = setTimeout(() => void renew(entry, 'channel lifetime'), options.renewMs);
    entry.renewTimer.unref?.();
  };

  const renew = async (entry: LiveChannel, reason: string): Promise<void> => {
    // One renewal per channel at a time. Each creates a channel; at GC's 20-channel limit an extra one evicts a
    // live sibling, whose renewal evicts another: with 20 000 users the watcher churned channels and bulk reads
    // until writes starved (chaos soak).
    if (context.isStopped() || live.get(entry.key) !== entry || entry.renewing === true) return;
    entry.renewing = true;
    try {
      const next = await open(entry.client, channelTopics(entry.userIds));
      const old = entry.socket;
      entry.channelId = next.channelId;
      entry.socket = next.socket;
      attach(entry);
      old.close();
      log.info('notification channel renewed', { channel: entry.key, reason, topics: entry.userIds.length * 2 });
      // Also when a "socket closing" renewal was overtaken by the close (token revocation sends both): the
      // "socket closed" renewal that used to read the gap no longer runs beside it.
      const gap = reason === 'socket closed' || entry.gap === true;
      entry.gap = false;
      if (gap) {
        // Notifications sent while no socket listened are lost: read these users once to see drift in the gap.
        const userIds = [...new Set(entry.userIds)];
        options.connector.checkByBulkRead(userIds).catch((error: unknown) => log.warn('bulk drift check after a socket gap failed', { channel: entry.key, error }));
      }
    } catch (error) {
      if (context.isStopped()) return;
      log.warn('renewing a notification channel failed; retrying', { channel: entry.key, reason, error });
      setTimeout(() => void renew(entry, reason), RECONNECT_DELAY_MS).unref?.();
    } finally {
      entry.renewing = false;
    }
  };

  const ensure = async (assignment: ChannelAssignment): Promise<void> => {
    const key = `${assignment.client}:${assignment.channel}`;
    const userIds = assignment.userIds;
    const existing = live.get(key);
    if (existing !== undefined) {
      if (sameList(existing.userIds, userIds)) return;
      await options.channels.subscribe(existing.client, existing.channelId, channelTopics(userIds), abort.signal);
      existing.userIds = userIds;
      return;
    }
    const opened = await open(assignment.client, channelTopics(userIds));
    const entry: LiveChannel = { key, client: assignment.client, channelId: opened.channelId, socket: opened.socket, userIds, renewTimer: undefined };
    live.set(key, entry);
    attach(entry);
  };

  return {
    live,
    ensure,
    get notifications() {
      return notifications;
    },
    get reconnects() {
      return reconnects;
    },
  };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

/** A channel's topic list, built when it is sent (not kept per channel). */
function channelTopics(userIds: readonly string[]): string[] {
  return userIds.flatMap((userId) => topicsFor(userId));
}
