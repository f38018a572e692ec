/**
 * Counters every source keeps for `stats()`: events received by kind, unknowns by kind (each kind logged
 * once, then only counted, so a flood of garbage cannot flood the log), reconnects, the current endpoint.
 */
import type { Logger } from '../log.ts';
import type { StatSourceStats } from './stat-source.ts';

export class SourceCounters {
  private readonly events: Record<string, number> = {};
  private readonly unknowns: Record<string, number> = {};
  reconnects = 0;
  endpoint: string | null = null;
  connected = false;
  openAgents = 0;

  constructor(private readonly log: Logger) {}

  event(kind: string, count = 1): void {
    this.events[kind] = (this.events[kind] ?? 0) + count;
  }

  /** Counts an unknown of `kind`; the first of each kind is logged with its detail. */
  unknown(kind: string, agentId: string, detail: string): void {
    const seen = this.unknowns[kind] ?? 0;
    this.unknowns[kind] = seen + 1;
    if (seen === 0) this.log.warn('agent state unknown (first of its kind; later ones only counted)', { kind, agentId, detail });
  }

  snapshot(): Omit<StatSourceStats, 'refusedAgents'> {
    return {
      eventsReceived: { ...this.events },
      unknowns: { ...this.unknowns },
      reconnects: this.reconnects,
      endpoint: this.endpoint,
      connected: this.connected,
      openAgents: this.openAgents,
    };
  }
}
