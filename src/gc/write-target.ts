/**
 * `GcWriteTarget` (ports.ts) on a GC client. Inject mode sends batches to `POST /api/v2/events/users/presence`
 * and `.../routingstatus` under EXAS's own presence source and maps GC's per-event error list back to users;
 * per-user mode (for orgs without the inject permissions) sends one PATCH presence / PUT routing status per
 * user. GC lets a client PUT only OffQueue / Idle, so per-user mode cannot mirror Interacting / Communicating:
 * those items fail as not retryable, and the first one is logged once.
 */
import { createLogger } from '../log.ts';
import type { PresenceName, RoutingStatus } from '../vocabulary.ts';
import type { PresenceLookup } from './catalog.ts';
import type { GcClient } from './client.ts';
import { GcError, GcNetworkError, isRetryable, RateLimitedError } from './errors.ts';
import type { GcWriteTarget, WriteOutcome } from './ports.ts';
import type { GcEventError } from './types.ts';

export type GcWriteMode = 'inject' | 'per-user';

/**
 * Most events GC takes in one inject request: "A maximum of 100 events are allowed per request" (the official
 * Java, Go, .NET and Swift SDK models of BatchUserPresenceEventRequest / BatchUserRoutingStatusEventRequest).
 */
export const MAX_INJECT_EVENTS = 100;

export interface GcWriteTargetOptions {
  mode: GcWriteMode;
  /** Events per inject request (1 to `MAX_INJECT_EVENTS` = 100, GC's maximum; default 100). Ignored in per-user mode. */
  batchSize?: number;
  catalog: PresenceLookup;
  /**
   * Inject mode: EXAS's presence source id (required; see `ensurePresenceSource`). Per-user mode: the source
   * to PATCH (default `purecloud`, GC's own source; registered sources are not accepted there).
   */
  sourceId?: string;
  /** Name for logs and metrics (default: the client's name). */
  name?: string;
}

/** The routing statuses GC lets a client PUT. */
const PUTTABLE: ReadonlySet<RoutingStatus> = new Set<RoutingStatus>(['OffQueue', 'Idle']);

const log = createLogger('gc.writer');

function failure(userId: string, error: unknown): WriteOutcome {
  if (error instanceof GcError) {
    return {
      userId,
      ok: false,
      retryable: isRetryable(error),
      ...(error instanceof RateLimitedError ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
      code: error.code || error.name,
      message: error.message,
    };
  }
  return { userId, ok: false, retryable: false, message: error instanceof Error ? error.message : String(error) };
}

/**
 * Creates the write target the writer uses for one client.
 *
 * @example
 * const source = await client.ensurePresenceSource('EXAS');
 * const target = createGcWriteTarget(client, { mode: 'inject', batchSize: 100, catalog, sourceId: source.id });
 */
export function createGcWriteTarget(client: GcClient, options: GcWriteTargetOptions): GcWriteTarget {
  const mode = options.mode;
  if (mode !== 'inject' && mode !== 'per-user') throw new Error(`mode must be 'inject' or 'per-user' (got '${String(mode)}')`);
  const batchSize = mode === 'inject' ? (options.batchSize ?? 100) : 1;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_INJECT_EVENTS) {
    throw new Error(`batchSize must be an integer from 1 to ${MAX_INJECT_EVENTS}, GC's most events per inject request (got ${String(options.batchSize)})`);
  }
  if (mode === 'inject' && !options.sourceId) throw new Error('sourceId: required in inject mode (EXAS presence source id)');
  const sourceId = options.sourceId ?? 'purecloud';
  const catalog = options.catalog;
  let warnedUnmirrorable = false;

  /** Resolves names up front; an unknown presence fails its item only. */
  const resolvePresences = (items: ReadonlyArray<{ userId: string; presence: PresenceName }>) => {
    const ready: Array<{ userId: string; presenceDefinitionId: string }> = [];
    const failed: WriteOutcome[] = [];
    for (const item of items) {
      const id = catalog.tryResolve(item.presence);
      if (id === undefined) {
        failed.push({ userId: item.userId, ok: false, retryable: false, code: 'unknown.presence', message: `presence '${item.presence}' is not in the org's catalog` });
      } else ready.push({ userId: item.userId, presenceDefinitionId: id });
    }
    return { ready, failed };
  };

  /** Runs `send` per inject batch and maps the per-event errors (by eventId) back to users. */
  const injectBatches = async <T extends { userId: string }>(
    items: ReadonlyArray<T>,
    send: (batch: ReadonlyArray<T & { eventId: string }>) => Promise<GcEventError[]>,
  ): Promise<WriteOutcome[]> => {
    const outcomes: WriteOutcome[] = [];
    for (let start = 0; start < items.length; start += batchSize) {
      const batch = items.slice(start, start + batchSize).map((item) => ({ ...item, eventId: crypto.randomUUID() }));
      const errors = await send(batch);
      const byEvent = new Map(errors.map((error) => [error.eventId, error]));
      for (const event of batch) {
        const error = byEvent.get(event.eventId);
        outcomes.push(
          error === undefined
            ? { userId: event.userId, ok: true }
            : { userId: event.userId, ok: false, retryable: error.retryable === true, code: 'event.rejected', message: error.message ?? 'event rejected' },
        );
      }
    }
    return outcomes;
  };

  /**
   * Per-user requests, one after another. A transient failure of the first request (nothing written yet)
   * throws like a failed batch would; after that, failures become outcomes so written users are not resent.
   * A 429 stops the run: the remaining users come back retryable with the same Retry-After.
   */
  const perUser = async <T extends { userId: string }>(items: ReadonlyArray<T>, send: (item: T) => Promise<unknown>): Promise<WriteOutcome[]> => {
    const outcomes: WriteOutcome[] = [];
    for (let index = 0; index < items.length; index += 1) {
      const item = items[index] as T;
      try {
        await send(item);
        outcomes.push({ userId: item.userId, ok: true });
      } catch (error) {
        if (index === 0 && (isRetryable(error) || !(error instanceof GcError) || error.status === 401)) throw error;
        if (!(error instanceof GcError)) throw error;
        outcomes.push(failure(item.userId, error));
        if (error instanceof RateLimitedError || error instanceof GcNetworkError) {
          for (const rest of items.slice(index + 1)) outcomes.push(failure(rest.userId, error));
          break;
        }
      }
    }
    return outcomes;
  };

  return {
    name: options.name ?? client.name,
    budget: client.budget,
    maxBatchSize: batchSize,
    canSetRoutingStatus: (status) => mode === 'inject' || PUTTABLE.has(status),

    async writePresence(items, signal) {
      const { ready, failed } = resolvePresences(items);
      const written =
        mode === 'inject'
          ? await injectBatches(ready, (batch) =>
              client.injectPresence(
                batch.map((event) => ({ userId: event.userId, presenceDefinitionId: event.presenceDefinitionId, sourceId, eventId: event.eventId })),
                signal,
              ),
            )
          : await perUser(ready, (item) => client.patchUserPresence(item.userId, item.presenceDefinitionId, { sourceId, ...(signal ? { signal } : {}) }));
      return [...failed, ...written];
    },

    async writeRoutingStatus(items, signal) {
      if (mode === 'inject') {
        return injectBatches(items, (batch) =>
          client.injectRoutingStatus(
            batch.map((event) => ({ userId: event.userId, routingStatus: event.routingStatus, sourceId, eventId: event.eventId })),
            signal,
          ),
        );
      }
      const settable = items.filter((item) => PUTTABLE.has(item.routingStatus));
      const unsettable: WriteOutcome[] = items
        .filter((item) => !PUTTABLE.has(item.routingStatus))
        .map((item) => ({
          userId: item.userId,
          ok: false as const,
          retryable: false,
          code: 'routing.status.not.settable',
          message: `per-user mode cannot set routing status ${item.routingStatus} (GC accepts only OffQueue / Idle from a client)`,
        }));
      if (unsettable.length > 0 && !warnedUnmirrorable) {
        warnedUnmirrorable = true;
        log.warn('per-user mode cannot mirror Interacting / Communicating; use inject mode to mirror them', { target: options.name ?? client.name });
      }
      const written = await perUser(settable, (item) => client.putUserRoutingStatus(item.userId, item.routingStatus, signal));
      return [...unsettable, ...written];
    },
  };
}
