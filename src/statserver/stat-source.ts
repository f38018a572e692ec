/**
 * @module
 * The `StatSource` contract: what the rest of EXAS knows of Stat Server. Adapters (Statistics API v3,
 * bridge WebSocket) implement it; the connector depends only on it.
 */
import type { AgentSnapshot } from '../vocabulary.ts';

/** What a source says about one agent: a folded snapshot, or that its state cannot be known right now. */
export type AgentObservation =
  | { readonly kind: 'snapshot'; readonly snapshot: AgentSnapshot }
  | {
      readonly kind: 'unknown';
      readonly agentId: string;
      /**
       * Why: `invalid` (Stat Server reported the statistic invalid), `unparsable`, `unknown-code`, `no-state`
       * (no state action on any DN), `closed`, `disconnected` (a peek while no endpoint is connected),
       * `open-failed` (Stat Server refused to open the agent's statistics, e.g. an unknown employee id).
       */
      readonly reason: string;
      readonly at: number;
    };

export type ConnectionEvent =
  | { readonly state: 'connected'; readonly endpoint: string; readonly at: number }
  /** The link dropped; every value seen so far is stale until the next `connected` and its peek. */
  | { readonly state: 'disconnected'; readonly endpoint: string; readonly at: number; readonly error?: string };

/** Stat Server refused to open an agent's statistics (an unknown employee id, say); retried on a slow schedule. */
export interface StatisticsRefusal {
  /** Stat Server's own message (`status.message` of the refused request). */
  readonly message: string;
  /** Epoch ms of the first refusal in a row (kept while retries are refused too). */
  readonly since: number;
  /** Epoch ms of the latest refusal. */
  readonly lastAt: number;
}

export interface StatSource {
  /** Connects (with retries/backoff/failover in the background) and resolves once the first attempt settles. */
  start(): Promise<void>;
  /** Closes every statistic and the connection. */
  stop(): Promise<void>;
  /** Opens CurrentState + CurrentStateReason for these agents (idempotent; batched). */
  open(agentIds: readonly string[]): Promise<void>;
  /** Closes the statistics of these agents. */
  close(agentIds: readonly string[]): Promise<void>;
  /** Reads current values now (all open agents when `agentIds` is absent). */
  peek(agentIds?: readonly string[]): Promise<AgentObservation[]>;
  /** Every observation after the settle window (updates, and the peek after each (re)connect). Returns unsubscribe. */
  onObservation(listener: (observation: AgentObservation) => void): () => void;
  onConnection(listener: (event: ConnectionEvent) => void): () => void;
  /** True while connected to some endpoint. */
  isConnected(): boolean;
  /** Why Stat Server refuses this agent's statistics, or undefined when it does not (or never asked). */
  refusal(agentId: string): StatisticsRefusal | undefined;
  /** Plain counters for metrics and health (cheap; a fresh object each call). */
  stats(): StatSourceStats;
}

/** What `StatSource.stats()` reports. */
export interface StatSourceStats {
  /** Events received, by kind (`update`, `peek`, `service`, `invalid`, `valid`, `bridge-message`, …). */
  readonly eventsReceived: Readonly<Record<string, number>>;
  /** Agents marked unknown, by reason (`invalid`, `unparsable`, `unknown-code`, `no-state`, …). */
  readonly unknowns: Readonly<Record<string, number>>;
  /** Successful reconnects after the first connect. */
  readonly reconnects: number;
  /** The endpoint in use (base URL or bridge address), or null before the first connect. */
  readonly endpoint: string | null;
  readonly connected: boolean;
  /** Agents whose statistics are open (requested scope). */
  readonly openAgents: number;
  /** Agents in scope whose statistics Stat Server refused to open (see `refusal`). */
  readonly refusedAgents: number;
}
