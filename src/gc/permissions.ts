/**
 * GC permissions EXAS needs, and what it knows about the ones it lacks. A 403 from GC names the missing
 * permissions (`code` `missing.any.permissions` or `missing.permissions`, the list in the message and
 * `messageParams`); the client reports every 403 and every success here, per endpoint, so the sidecar can say
 * which permission is missing on `/readyz`, the status page and `/metrics`, log it once (not once per user or
 * per retry), and notice when it has been granted (the next success of that endpoint clears it).
 */
import { createLogger, type Logger } from '../log.ts';
import { GcPermissionError } from './errors.ts';

/**
 * What each endpoint EXAS calls needs, by the client's endpoint label. Sources: the "Requires ANY/ALL
 * permissions" lines of the official SDK docs (platform-client-sdk-javascript `build/docs/*Api.md`,
 * 259.0.0), and Genesys's announcement that a PATCH of another user's presence needs
 * `presence:userPresence:edit` from 20 July 2025. Endpoints whose SDK docs list no permission are absent.
 * Only a fallback: GC's 403 names the permissions itself.
 */
export const REQUIRED_PERMISSIONS: Readonly<Record<string, readonly string[]>> = {
  'GET /api/v2/presence/definitions': ['presence:presenceDefinition:view'],
  'GET /api/v2/presence/sources': ['presence:source:view'],
  'POST /api/v2/presence/sources': ['presence:source:add'],
  'GET /api/v2/presence/users/{userId}/primarysource': ['presence:userPrimarySource:view'],
  'PUT /api/v2/presence/users/{userId}/primarysource': ['presence:userPrimarySource:edit'],
  'POST /api/v2/events/users/presence': ['presence:userPresence:inject'],
  'POST /api/v2/events/users/routingstatus': ['routing:routingstatus:inject'],
  'PATCH /api/v2/users/{userId}/presences/purecloud': ['presence:userPresence:edit'],
  'PATCH /api/v2/users/{userId}/presences/{sourceId}': ['presence:userPresence:edit'],
  'POST /api/v2/users/search': ['directory:user:view'],
};

/** A permission name as GC writes it: `domain:entity:action`. */
const PERMISSION = /\b[A-Za-z][A-Za-z0-9_-]*:[A-Za-z][A-Za-z0-9_-]*:[A-Za-z*][A-Za-z0-9_*-]*\b/g;

/**
 * The permissions a 403 names: from `messageParams`, else from the message (`...assigned: [a, b]`), else what
 * the endpoint is documented to need. Sorted, without duplicates; empty only when none of these says.
 */
export function missingPermissionsOf(error: GcPermissionError): string[] {
  const found = new Set<string>();
  const collect = (text: unknown): void => {
    if (typeof text === 'string') for (const match of text.matchAll(PERMISSION)) found.add(match[0]);
  };
  for (const value of Object.values(error.body?.messageParams ?? {})) collect(value);
  if (found.size === 0) collect(error.body?.message);
  if (found.size === 0) for (const permission of REQUIRED_PERMISSIONS[error.endpoint ?? ''] ?? []) found.add(permission);
  return [...found].sort();
}

/** One endpoint GC refuses for lack of permissions, as `/readyz` and the status page show it. */
export interface MissingPermission {
  /** The endpoint label, e.g. `POST /api/v2/events/users/presence` (no ids). */
  readonly endpoint: string;
  /** What GC said is missing (see `missingPermissionsOf`). */
  readonly permissions: readonly string[];
  /** GC's error code (`missing.any.permissions`, `missing.permissions`, `not.authorized`, …). */
  readonly code: string;
  /** Epoch ms of the first 403 since the endpoint last succeeded. */
  readonly since: number;
  /** Correlation id of the latest 403 (for Genesys support). */
  readonly correlationId?: string;
}

/** What the metrics need: 403s per endpoint since start, and the permissions missing now. */
export interface PermissionStats {
  readonly denied: ReadonlyArray<{ readonly endpoint: string; readonly count: number }>;
  readonly missing: readonly string[];
}

export interface PermissionMonitor {
  /** GC answered `endpoint` with a 403. */
  denied(endpoint: string, error: GcPermissionError): void;
  /** GC answered `endpoint` with a success: a permission it lacked before has been granted. */
  allowed(endpoint: string): void;
  /** Endpoints refused now, oldest first. */
  missing(): MissingPermission[];
  stats(): PermissionStats;
  /** Called when an endpoint starts or stops being refused. Returns the unsubscribe. */
  onChange(listener: (change: { endpoint: string; denied: boolean }) => void): () => void;
}

/**
 * Creates the monitor one sidecar shares between its GC clients (a permission belongs to the role, so the
 * first client's 403 says what the others lack too, unless their roles differ; then they disagree per
 * endpoint and the latest answer wins).
 */
export function createPermissionMonitor(options: { now?: () => number; logger?: Logger } = {}): PermissionMonitor {
  const now = options.now ?? Date.now;
  const log = options.logger ?? createLogger('gc.permissions');
  const refused = new Map<string, MissingPermission>();
  const deniedCount = new Map<string, number>();
  const listeners = new Set<(change: { endpoint: string; denied: boolean }) => void>();
  const announce = (endpoint: string, denied: boolean): void => {
    for (const listener of listeners) {
      try {
        listener({ endpoint, denied });
      } catch (error) {
        log.error('permission listener threw', { endpoint, error });
      }
    }
  };
  return {
    denied(endpoint, error) {
      deniedCount.set(endpoint, (deniedCount.get(endpoint) ?? 0) + 1);
      const permissions = missingPermissionsOf(error);
      const before = refused.get(endpoint);
      refused.set(endpoint, {
        endpoint,
        permissions,
        code: error.code,
        since: before?.since ?? now(),
        ...(error.correlationId === undefined ? {} : { correlationId: error.correlationId }),
      });
      // Once per endpoint until it succeeds again (or GC names other permissions), not once per user or batch.
      if (before !== undefined && before.permissions.join() === permissions.join()) return;
      log.error('GC refused a request for lack of permissions; grant them to the OAuth client\'s role (docs/gc.md)', {
        endpoint,
        missingPermissions: permissions,
        code: error.code,
        correlationId: error.correlationId,
        retried: false,
      });
      if (before === undefined) announce(endpoint, true);
    },
    allowed(endpoint) {
      const before = refused.get(endpoint);
      if (before === undefined) return;
      refused.delete(endpoint);
      log.info('GC accepts the endpoint again: the missing permissions were granted', { endpoint, permissions: before.permissions });
      announce(endpoint, false);
    },
    missing: () => [...refused.values()].sort((a, b) => a.since - b.since),
    stats: () => ({
      denied: [...deniedCount].map(([endpoint, count]) => ({ endpoint, count })),
      missing: [...new Set([...refused.values()].flatMap((entry) => entry.permissions))].sort(),
    }),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
