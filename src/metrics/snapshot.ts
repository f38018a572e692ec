/**
 * The plain-number view of EXAS that `/metrics` is pulled from at scrape time. The connector builds one from
 * the stages' `stats()` objects; nothing here holds per-agent data, so no metric can carry a per-agent label.
 */
import type { EngageState } from '../vocabulary.ts';
import { zeroRetryCounts, type GcRetryCounts } from '../gc/retry-cause.ts';
import type { LeaseView } from '../ha/types.ts';

/** Where one agent's GC side stands: acknowledged equals desired, a write is owed, its state is unknown, or its last write failed. */
export const SYNC_STATUSES = ['in-sync', 'pending', 'unknown', 'error'] as const;
export type SyncStatus = (typeof SYNC_STATUSES)[number];

/** A GC response class for request counting; `network` covers timeouts and connection failures (no status). */
export type GcStatusClass = '2xx' | '3xx' | '4xx' | '5xx' | 'network';

/** Everything `/metrics` reports that is not recorded by a push instrument. Counters are totals since start. */
export interface MetricsSnapshot {
  readonly statServer: {
    readonly connected: boolean;
    /** Events received from Stat Server by kind (e.g. `CurrentState`, `CurrentStateReason`, `invalid`). */
    readonly eventsReceived: Readonly<Record<string, number>>;
    /** Agents in scope whose statistics Stat Server refused to open (retried on a slow schedule). */
    readonly refusedAgents?: number;
  };
  readonly agents: {
    /** Agents in scope by folded Engage state; `Unknown` counts agents whose state cannot be known now. */
    readonly byEngageState: Readonly<Partial<Record<EngageState | 'Unknown', number>>>;
    readonly bySyncStatus: Readonly<Record<SyncStatus, number>>;
  };
  readonly gc: {
    /** GC requests by endpoint name (e.g. `inject-presence`) and response class. */
    readonly requests: ReadonlyArray<{ readonly endpoint: string; readonly statusClass: GcStatusClass; readonly count: number }>;
    /** Responses with status 429. */
    readonly rateLimited: number;
    /**
     * GC requests sent again, by operation and cause: `read` counts the GC client's retries of GETs, `write`
     * the writer's write requests whose users go out again; a 401 answered by a fresh token counts under `auth`
     * with the request's operation.
     */
    readonly retries: { readonly read: Readonly<GcRetryCounts>; readonly write: Readonly<GcRetryCounts> };
    /**
     * One entry per GC client (set of credentials): requests it may send now, requests it sent in the last 60 s
     * window (what GC counts), and its budget per minute.
     */
    readonly budgets: ReadonlyArray<{ readonly client: string; readonly available: number; readonly sent: number; readonly limit: number }>;
    /** GC's 403s: per endpoint since start, and the permissions missing now (absent without GC clients). */
    readonly permissions?: {
      readonly denied: ReadonlyArray<{ readonly endpoint: string; readonly count: number }>;
      readonly missing: readonly string[];
    };
    /** `gc.primarySource` (absent when off): users made primary so far, known not primary, and confirmed. */
    readonly primarySource?: { readonly fixed: number; readonly notPrimary: number; readonly confirmed: number };
  };
  readonly writer: {
    /** Users whose desired state differs from the acknowledged one and is not yet written. */
    readonly usersPending: number;
    /** Age of the oldest unwritten change; 0 when nothing is pending. */
    readonly oldestPendingAgeSeconds: number;
  };
  readonly drift: { readonly detected: number; readonly repaired: number };
  readonly resync: {
    readonly inProgress: boolean;
    /** 0..1 through the current resync; 1 when none runs. */
    readonly progressRatio: number;
    readonly completed: number;
  };
  readonly rules: {
    /** Whether the last load or reload succeeded (the last good rules stay live either way). */
    readonly reloadSuccess: boolean;
    readonly reloads: { readonly success: number; readonly failure: number };
    /** Hash of the live rules file, or null before any loaded. */
    readonly hash: string | null;
    /** Epoch ms of the last successful load, if any. */
    readonly lastSuccessAt?: number;
    /** Refused files by reason (`errors`, `tests`, `unreadable`), since start. */
    readonly rejections?: Readonly<Record<string, number>>;
    /** The last refusal, while it is the latest attempt: why, the first problem, when (epoch ms). */
    readonly lastRejection?: { readonly reason: string; readonly message: string; readonly at: number };
  };
  /** The acknowledged-state store, when EXAS has one. */
  readonly store?: {
    readonly saves: number;
    readonly saveFailures: number;
    /** Failed saves since the last good one (0 when the last save worked). */
    readonly consecutiveFailures: number;
    /** Epoch ms of the last successful save (0 before the first). */
    readonly lastSaveAt: number;
  };
}

/** Returns a snapshot of the live values; called once per scrape, so it must be cheap and side-effect free. */
export type MetricsSource = () => MetricsSnapshot;

/** An endpoint GC refuses for lack of permissions (a 403), with the permissions GC named. */
export interface MissingGcPermission {
  /** The endpoint label, e.g. `POST /api/v2/events/users/presence`. */
  readonly endpoint: string;
  readonly permissions: readonly string[];
  /** Epoch ms of the first 403 since the endpoint last succeeded. */
  readonly since: number;
}

/** The readiness conditions, each true when met (see `/readyz`). `paused` is true while writes are paused. */
export interface ReadinessChecks {
  readonly rulesLoaded: boolean;
  readonly statServerConnected: boolean;
  readonly gcTokenValid: boolean;
  /** GC answers: false while writes or GC set-up keep failing with 5xx, timeouts or network errors (an outage). */
  readonly gcReachable: boolean;
  readonly initialResyncDone: boolean;
  readonly paused: boolean;
  /**
   * Endpoints GC refuses now for lack of permissions (a 403 names them; cleared by the endpoint's next success).
   * Not ready while any is listed; absent when EXAS has no GC client of its own (tests with fake targets).
   */
  readonly gcMissingPermissions?: readonly MissingGcPermission[];
  /**
   * `gc.primarySource: check` only: false while some synced users are known not to have EXAS's presence source
   * as primary source (their injected presence does not show); `usersNotPrimary` says how many.
   */
  readonly primarySourceReady?: boolean;
  readonly usersNotPrimary?: number;
  /**
   * High availability only: the lease as this instance sees it. A healthy standby is ready without a finished
   * resync: it writes nothing until it takes over, and then resyncs (`failover`).
   */
  readonly lease?: LeaseView;
}

/** A snapshot with every value zero/false: a start for sources that fill in only what they know. */
export function emptyMetricsSnapshot(): MetricsSnapshot {
  return {
    statServer: { connected: false, eventsReceived: {}, refusedAgents: 0 },
    agents: { byEngageState: {}, bySyncStatus: { 'in-sync': 0, pending: 0, unknown: 0, error: 0 } },
    gc: { requests: [], rateLimited: 0, retries: { read: zeroRetryCounts(), write: zeroRetryCounts() }, budgets: [] },
    writer: { usersPending: 0, oldestPendingAgeSeconds: 0 },
    drift: { detected: 0, repaired: 0 },
    resync: { inProgress: false, progressRatio: 1, completed: 0 },
    rules: { reloadSuccess: false, reloads: { success: 0, failure: 0 }, hash: null },
  };
}
