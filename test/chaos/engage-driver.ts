/**
 * Drives the Stat Server emulator's agents with a seeded random walk (instead of the emulator's own crowd
 * simulation) and records every Engage state each agent had, with its time, for the oracle.
 */
import type { StatServerEmulator } from '../../src/emulators/statserver/index.ts';
import type { CallType, EngageState } from '../../src/vocabulary.ts';
import type { EngageEntry } from './oracle.ts';
import { pick } from './random.ts';

type Next = { state: EngageState; callType: CallType; reason: string | null };

/** Every combination the walk may set, so every rule row and both sides of a reload get exercised. */
const NEXT_STATES: readonly Next[] = [
  { state: 'LoggedOff', callType: 'None', reason: null },
  ...([null, 'Break', 'Meal', 'Meeting', 'Training', 'Coaching'] as const).map((reason) => ({ state: 'NotReady' as const, callType: 'None' as const, reason })),
  { state: 'NotReady', callType: 'Internal', reason: 'Break' },
  { state: 'NotReady', callType: 'Inbound', reason: null },
  ...(['None', 'None', 'Inbound', 'Outbound', 'Internal', 'Consult', 'Unknown'] as const).map((callType) => ({ state: 'Ready' as const, callType, reason: null })),
  { state: 'AfterCallWork', callType: 'None', reason: null },
  { state: 'AfterCallWork', callType: 'Internal', reason: null },
];

export class EngageDriver {
  /** Engage history per agent, oldest first; entry 0 is the state the run started with. */
  readonly history = new Map<string, EngageEntry[]>();
  private ticker: ReturnType<typeof setInterval> | undefined;
  private owed = 0;
  private lastTick = 0;
  changes = 0;

  constructor(
    private readonly statServer: StatServerEmulator,
    readonly agentIds: readonly string[],
    private readonly random: () => number,
  ) {
    const at = Date.now();
    for (const view of statServer.agents()) {
      if (!agentIds.includes(view.agentId)) continue;
      this.history.set(view.agentId, [{ at, state: view.state, callType: view.callType, reason: view.reason }]);
    }
  }

  current(agentId: string): EngageEntry {
    const entries = this.history.get(agentId);
    if (entries === undefined) throw new Error(`unknown agent ${agentId}`);
    return entries[entries.length - 1] as EngageEntry;
  }

  /** One change of one random agent. */
  step(): void {
    this.set(pick(this.random, this.agentIds), pick(this.random, NEXT_STATES));
  }

  /** Sets one agent (recorded for the oracle like every change of the walk). */
  set(agentId: string, next: Next): void {
    this.statServer.setAgent(agentId, next);
    const view = this.statServer.agent(agentId);
    if (view === undefined) return;
    const entries = this.history.get(agentId) as EngageEntry[];
    const last = entries[entries.length - 1] as EngageEntry;
    if (last.state === view.state && last.callType === view.callType && last.reason === view.reason) return;
    entries.push({ at: Date.now(), state: view.state, callType: view.callType, reason: view.reason });
    this.changes += 1;
  }

  /** Starts (or retunes) the storm: `eventsPerSecond` changes across the crowd. */
  start(eventsPerSecond: number): void {
    this.stop();
    this.lastTick = Date.now();
    this.owed = 0;
    this.ticker = setInterval(() => {
      const now = Date.now();
      this.owed = Math.min(this.owed + ((now - this.lastTick) / 1000) * eventsPerSecond, eventsPerSecond);
      this.lastTick = now;
      for (; this.owed >= 1; this.owed -= 1) this.step();
    }, 20);
  }

  stop(): void {
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.ticker = undefined;
  }

  /** Drops history older than the last `keep` entries per agent (the soak runs for long). */
  trim(keep: number): void {
    for (const entries of this.history.values()) if (entries.length > keep) entries.splice(0, entries.length - keep);
  }
}
