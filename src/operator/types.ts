/**
 * What the operator surface needs from a running EXAS (`OperatorDeps`) and the records it serves. The operator
 * read model (read-model.ts) implements `OperatorDeps` on top of the connector; `createOfflineDeps` serves `exas`
 * without one; tests use fakes. Records the sync stage produces (recent changes, GC request previews) are
 * defined there and re-exported here.
 */
import type { MetricsSource, ReadinessChecks, SyncStatus } from '../metrics/index.ts';
import type { Diagnostic, DryRunResult, LiveAgent, RulesProgram } from '../rules/index.ts';
import type { RecentChange } from '../sync/connector/index.ts';
import type { GcRequestPreview } from '../sync/gc-adapters.ts';
import type { AgentSnapshot, GcUserState, PresenceName, RoutingStatus, RuleRef } from '../vocabulary.ts';

export type { GcRequestPreview, LiveAgent, ReadinessChecks, RecentChange, SyncStatus };

/** The rule decision for one agent, as the connector made it. */
export interface AgentDecisionView {
  /** Presence the rules chose (`keep` already resolved when `resolvedPresence` is set); null when unmatched. */
  readonly presence: PresenceName | 'keep' | null;
  readonly routingStatus: RoutingStatus | null;
  /** The rule that made the decision (name, file, line); null when no rule matched. */
  readonly rule: RuleRef | null;
  readonly unmatched: boolean;
}

/** The last error the writer saw for one agent. */
export interface AgentErrorView {
  readonly message: string;
  /** A typed error's code (e.g. `rate-limited`, an HTTP status, GC's event error code), when there is one. */
  readonly code?: string;
  /** Epoch ms. */
  readonly at: number;
}

/**
 * One agent as `GET /agents/{agentId}` shows it: what Stat Server says, what the rules decided and why, what
 * EXAS wants in GC (desired) and what GC last acknowledged, with the last error and timestamps (epoch ms).
 */
export interface AgentView {
  /** Engage agent id (the key everywhere in EXAS). */
  readonly agentId: string;
  /** The matching GC user id, or null while identity has not resolved it. */
  readonly userId: string | null;
  readonly syncStatus: SyncStatus;
  /** The folded Engage snapshot; null when the state cannot be known now (see `unknownReason`). */
  readonly snapshot: AgentSnapshot | null;
  /** Why the state is unknown (`invalid`, `unparsable`, `unknown-code`, `closed`, `open-failed`), when it is. */
  readonly unknownReason?: string;
  /**
   * Stat Server refused to open this agent's statistics (an unknown employee id, say): its message, when the run
   * of refusals began and the latest (epoch ms). EXAS asks again on a slow schedule (`statServer.refusedRetrySeconds`).
   */
  readonly statServerRefusal?: { readonly message: string; readonly since: number; readonly lastAt: number };
  readonly decision: AgentDecisionView | null;
  readonly desired: GcUserState | null;
  readonly acknowledged: GcUserState | null;
  readonly lastError: AgentErrorView | null;
  readonly timestamps: {
    /** Newest Stat Server value folded in. */
    readonly lastEventAt?: number;
    readonly decidedAt?: number;
    /** Last write sent to GC for this user. */
    readonly lastWriteAt?: number;
    /** When GC last acknowledged a write (or a resync/notification confirmed the state). */
    readonly acknowledgedAt?: number;
  };
}

/** What the status page shows, in one JSON object (`GET /api/summary`). */
export interface StatusSummary {
  /** Epoch ms the summary was made. */
  readonly generatedAt: number;
  readonly agents: { readonly total: number; readonly bySyncStatus: Readonly<Record<SyncStatus, number>> };
  /**
   * GC request budget summed over clients: per-minute limit, requests available now, and in use: requests sent in
   * the last 60 s window (what GC counts; pacing makes `available` smaller than `limit − inUse`).
   */
  readonly budget: { readonly limit: number; readonly available: number; readonly inUse: number };
  readonly writer: { readonly usersPending: number; readonly oldestPendingAgeSeconds: number };
  /** The live rules file, or null when none is loaded. */
  readonly rules: { readonly file: string; readonly hash: string; readonly loadedAt?: number } | null;
  /** Newest first, a bounded list. */
  readonly recentChanges: readonly RecentChange[];
}

/** The answer of `OperatorDeps.reload()`: the new hash, or the errors that made the file be rejected. */
export type ReloadResult = { readonly ok: true; readonly hash: string } | { readonly ok: false; readonly errors: readonly Diagnostic[] };

/** Filters of `GET /agents`. */
export interface AgentFilter {
  readonly status?: SyncStatus;
  /** Only agents whose id contains this text (case-insensitive). */
  readonly idContains?: string;
  readonly offset: number;
  readonly limit: number;
}

/** What the operator surface reads from and asks of a running EXAS. Implemented by the connector. */
export interface OperatorDeps {
  /** The live rules, or null before any loaded. */
  rules(): RulesProgram | null;
  readiness(): ReadinessChecks;
  /** Reloads the rules file; a rejected file leaves the last good rules live. */
  reload(): Promise<ReloadResult>;
  /** Stops writing to GC (events are still folded and decided; writes resume from the newest desired state). */
  pause(): void;
  resume(): void;
  /** The agent if in scope. */
  agent(agentId: string): AgentView | undefined;
  agents(filter: AgentFilter): { total: number; items: AgentView[] };
  /** For each dry-run result, the GC requests the writer would send given the acknowledged state. No side effects. */
  previewRequests?(results: readonly DryRunResult[]): GcRequestPreview[][];
  /** Every live agent, for the impact preview of candidate rules. */
  liveAgents?(): Iterable<LiveAgent>;
  summary(): StatusSummary;
  /** Pulled values of `/metrics`. */
  metrics: MetricsSource;
}
