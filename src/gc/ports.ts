/**
 * @module
 * The contracts between the GC side (`src/gc/`) and the stages that call it (the writer in `src/sync/`).
 * `src/gc/` implements them; the writer depends only on these types.
 */
import type { PresenceName, RoutingStatus } from '../vocabulary.ts';

/**
 * A per-client request budget. GC counts requests per client-credentials token per minute (default 300);
 * every GC call that client makes (identity, catalog, writes, notification setup; the token call excepted)
 * draws on the same budget, enforced as a sliding 60 s window so no window ever holds more than the budget.
 */
export interface RequestBudget {
  /** Resolves when one request may be sent, and counts it against the window. Rejects if `signal` aborts. */
  take(signal?: AbortSignal): Promise<void>;
  /** How many requests could be sent right now without waiting. */
  available(): number;
  /**
   * Requests taken in the last 60 s window: what GC counts against the client's per-minute limit. Not the
   * same as `limit − available()`: pacing holds tokens back, so fewer may be available than the window has room for.
   */
  sentInWindow(): number;
  /** Epoch ms when the next request may be sent (now or earlier when `available() > 0`). */
  nextSlotAt(): number;
  /** After a 429: no request before now + `seconds` (GC's `Retry-After`). */
  pauseFor(seconds: number): void;
  /** The configured requests per 60 s (after headroom). */
  readonly limit: number;
}

/** The result of writing one user's value within a batch. */
export type WriteOutcome =
  | { readonly userId: string; readonly ok: true }
  | {
      readonly userId: string;
      readonly ok: false;
      /** True when GC marked the event retryable (or the failure is transient); the writer retries it. */
      readonly retryable: boolean;
      readonly retryAfterSeconds?: number;
      readonly code?: string;
      readonly message: string;
    };

/**
 * One GC client (one set of client credentials) as the writer sees it. Each call is one GC request in inject
 * mode (batch up to `maxBatchSize`), or one request per user in per-user mode; each request takes from `budget`.
 * A failure of the whole request throws a typed error from `src/gc/errors.ts` (rate limited, server, network,
 * auth, …); per-event failures come back as `WriteOutcome`s.
 */
export interface GcWriteTarget {
  /** A stable, non-secret name for logs and metrics (e.g. the client id's first characters or its index). */
  readonly name: string;
  readonly budget: RequestBudget;
  /** How many users one request may carry (1 in per-user mode). */
  readonly maxBatchSize: number;
  /** Whether this target can set the given routing status (per-user mode can set only OffQueue / Idle). */
  canSetRoutingStatus(status: RoutingStatus): boolean;
  writePresence(items: ReadonlyArray<{ userId: string; presence: PresenceName }>, signal?: AbortSignal): Promise<WriteOutcome[]>;
  writeRoutingStatus(
    items: ReadonlyArray<{ userId: string; routingStatus: RoutingStatus }>,
    signal?: AbortSignal,
  ): Promise<WriteOutcome[]>;
}
