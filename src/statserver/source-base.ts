/**
 * What both Stat Server adapters (Statistics API, bridge) are built on: the logger, the counters behind
 * `stats()`, the agent table with its settle window, and the observation / connection listeners, with the
 * `StatSource` methods that only read them. Each adapter adds its transport.
 */
import { createLogger, type Logger } from '../log.ts';
import { createAgentTable, type AgentTable } from './agent-table.ts';
import { Listeners } from './listeners.ts';
import { DEFAULT_NORMALIZER_OPTIONS, type NormalizerOptions } from './normalize.ts';
import { realScheduler, type Scheduler } from './settle-window.ts';
import { SourceCounters } from './source-stats.ts';
import type { AgentObservation, ConnectionEvent, StatisticsRefusal, StatSourceStats } from './stat-source.ts';

/** The options both adapters take for folding statistics into observations. */
export interface SourceBaseOptions {
  /** The key of the reasons KV list that carries the reason code (default `ReasonCode`). */
  reasonKey?: string;
  /** Settle window folding the two statistics of an agent, ms (default 50). */
  settleMs?: number;
  normalizer?: Partial<Omit<NormalizerOptions, 'reasonKey'>>;
  scheduler?: Scheduler;
  logger?: Logger;
}

export abstract class SourceBase {
  protected readonly log: Logger;
  protected readonly counters: SourceCounters;
  protected readonly scheduler: Scheduler;
  protected readonly normalizer: NormalizerOptions;
  protected readonly table: AgentTable;
  protected readonly observations: Listeners<AgentObservation>;
  protected readonly connections: Listeners<ConnectionEvent>;
  /** Agents whose statistics Stat Server refused to open, with its message (only agents in scope). */
  protected readonly refused = new Map<string, StatisticsRefusal>();

  /** `component` names the adapter's logger when the options give none. */
  protected constructor(component: string, options: SourceBaseOptions) {
    this.log = options.logger ?? createLogger(component);
    this.counters = new SourceCounters(this.log);
    this.observations = new Listeners('observation', this.log);
    this.connections = new Listeners('connection', this.log);
    this.scheduler = options.scheduler ?? realScheduler;
    this.normalizer = { ...DEFAULT_NORMALIZER_OPTIONS, ...options.normalizer, reasonKey: options.reasonKey ?? DEFAULT_NORMALIZER_OPTIONS.reasonKey };
    this.table = createAgentTable({
      normalizer: this.normalizer,
      settleMs: options.settleMs ?? 50,
      counters: this.counters,
      emit: (observation) => this.observations.emit(observation),
      scheduler: this.scheduler,
    });
  }

  onObservation(listener: (observation: AgentObservation) => void): () => void {
    return this.observations.add(listener);
  }

  onConnection(listener: (event: ConnectionEvent) => void): () => void {
    return this.connections.add(listener);
  }

  isConnected(): boolean {
    return this.counters.connected;
  }

  refusal(agentId: string): StatisticsRefusal | undefined {
    return this.refused.get(agentId);
  }

  stats(): StatSourceStats {
    return { ...this.counters.snapshot(), refusedAgents: this.refused.size };
  }

  /** Records a refusal (keeping when the run of refusals began) and says the agent's state is unknown. */
  protected refuse(agentId: string, message: string): void {
    const now = this.scheduler.now();
    const earlier = this.refused.get(agentId);
    this.refused.set(agentId, { message, since: earlier?.since ?? now, lastAt: now });
    this.counters.unknown('open-failed', agentId, message);
    this.observations.emit({ kind: 'unknown', agentId, reason: 'open-failed', at: now });
  }
}
