/**
 * The plain-number view of EXAS that `/metrics` is pulled from at scrape time. The connector builds one from
 * the stages' `stats()` objects; nothing here holds per-agent data, so no metric can carry a per-agent label.
 */
import type { EngageState } from '../vocabulary.ts';
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
    /** Requests sent again after a 429, 5xx or timeout. */
    readonly retries: number;
    /** One entry per GC client (set of credentials): requests it may send now, and its budget per minute. */
    readonly budgets: ReadonlyArray<{ readonly client: string; readonly available: number; readonly limit: number }>;
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
  };
}

/** Returns a snapshot of the live values; called once per scrape, so it must be cheap and side-effect free. */
export type MetricsSource = () => MetricsSnapshot;

/** The readiness conditions, each true when met (see `/readyz`). `paused` is true while writes are paused. */
export interface ReadinessChecks {
  readonly rulesLoaded: boolean;
  readonly statServerConnected: boolean;
  readonly gcTokenValid: boolean;
  readonly initialResyncDone: boolean;
  readonly paused: boolean;
  /**
   * High availability only: the lease as this instance sees it. A healthy standby is ready without a finished
   * resync: it writes nothing until it takes over, and then resyncs (`failover`).
   */
  readonly lease?: LeaseView;
}

/** A snapshot with every value zero/false: a start for sources that fill in only what they know. */
export function emptyMetricsSnapshot(): MetricsSnapshot {
  return {
    statServer: { connected: false, eventsReceived: {} },
    agents: { byEngageState: {}, bySyncStatus: { 'in-sync': 0, pending: 0, unknown: 0, error: 0 } },
    gc: { requests: [], rateLimited: 0, retries: 0, budgets: [] },
    writer: { usersPending: 0, oldestPendingAgeSeconds: 0 },
    drift: { detected: 0, repaired: 0 },
    resync: { inProgress: false, progressRatio: 1, completed: 0 },
    rules: { reloadSuccess: false, reloads: { success: 0, failure: 0 }, hash: null },
  };
}
