/**
 * Fakes for connector tests: a Stat Server source driven by the test, a writer that records what it is asked
 * (acknowledgements are given by the test), and timers that run retries at once.
 */
import type { AgentObservation, ConnectionEvent, StatisticsRefusal, StatSource, StatSourceStats } from '../../../src/statserver/stat-source.ts';
import { zeroRetryCounts, type GcRetryCounts } from '../../../src/gc/retry-cause.ts';
import { emptyWriterStats, type Writer, type WriterStats, type WriterUserView } from '../../../src/sync/writer/index.ts';
import type { AgentSnapshot, GcUserState } from '../../../src/vocabulary.ts';
import type { ConnectorTimers } from '../../../src/sync/connector/index.ts';

export class FakeStatSource implements StatSource {
  readonly values = new Map<string, AgentObservation>();
  readonly opened = new Set<string>();
  readonly calls: string[] = [];
  connected = true;
  failOpen = 0;
  /** Agents Stat Server "refuses" (set by the test). */
  readonly refusals = new Map<string, StatisticsRefusal>();
  private readonly observationListeners = new Set<(observation: AgentObservation) => void>();
  private readonly connectionListeners = new Set<(event: ConnectionEvent) => void>();

  set(agentId: string, state: AgentSnapshot['state'], callType: AgentSnapshot['callType'] = 'None', reason: string | null = null, at = 1): AgentObservation {
    const observation: AgentObservation = { kind: 'snapshot', snapshot: { agentId, state, callType, reason, at } };
    this.values.set(agentId, observation);
    return observation;
  }

  /** Sets a value and delivers it as a live update. */
  update(agentId: string, state: AgentSnapshot['state'], callType: AgentSnapshot['callType'] = 'None', reason: string | null = null): void {
    this.emit(this.set(agentId, state, callType, reason));
  }

  emit(observation: AgentObservation): void {
    for (const listener of this.observationListeners) listener(observation);
  }

  connection(event: ConnectionEvent): void {
    this.connected = event.state === 'connected';
    for (const listener of this.connectionListeners) listener(event);
  }

  async start(): Promise<void> {
    this.calls.push('start');
  }
  async stop(): Promise<void> {
    this.calls.push('stop');
  }
  async open(agentIds: readonly string[]): Promise<void> {
    if (this.failOpen > 0) {
      this.failOpen -= 1;
      throw new Error('Stat Server unreachable');
    }
    this.calls.push(`open ${agentIds.join(',')}`);
    for (const agentId of agentIds) this.opened.add(agentId);
  }
  async close(agentIds: readonly string[]): Promise<void> {
    this.calls.push(`close ${agentIds.join(',')}`);
    for (const agentId of agentIds) this.opened.delete(agentId);
  }
  async peek(agentIds?: readonly string[]): Promise<AgentObservation[]> {
    const ids = agentIds ?? [...this.opened];
    this.calls.push(`peek ${agentIds === undefined ? '*' : ids.join(',')}`);
    return ids.map((id) => this.values.get(id)).filter((value): value is AgentObservation => value !== undefined && this.opened.has(id(value)));
  }
  onObservation(listener: (observation: AgentObservation) => void): () => void {
    this.observationListeners.add(listener);
    return () => this.observationListeners.delete(listener);
  }
  onConnection(listener: (event: ConnectionEvent) => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }
  isConnected(): boolean {
    return this.connected;
  }
  refusal(agentId: string): StatisticsRefusal | undefined {
    return this.refusals.get(agentId);
  }
  stats(): StatSourceStats {
    return { eventsReceived: {}, unknowns: {}, reconnects: 0, endpoint: 'fake', connected: this.connected, openAgents: this.opened.size, refusedAgents: this.refusals.size };
  }
}

function id(observation: AgentObservation): string {
  return observation.kind === 'snapshot' ? observation.snapshot.agentId : observation.agentId;
}

interface FakeEntry {
  desired?: GcUserState;
  acknowledged?: GcUserState;
  version: number;
  acknowledgedVersion: number;
}

/** Records desired states; a user is pending while desired differs from acknowledged. */
export class FakeWriter implements Writer {
  readonly entries = new Map<string, FakeEntry>();
  readonly log: Array<{ op: 'set' | 'seed' | 'forget'; userId: string; state?: GcUserState }> = [];
  paused = false;

  setDesired(userId: string, desired: GcUserState): number {
    const entry = this.entry(userId);
    entry.desired = desired;
    entry.version += 1;
    this.log.push({ op: 'set', userId, state: desired });
    return entry.version;
  }
  seedAcknowledged(userId: string, state: GcUserState): void {
    this.entry(userId).acknowledged = state;
    this.log.push({ op: 'seed', userId, state });
  }
  forget(userId: string): void {
    this.entries.delete(userId);
    this.log.push({ op: 'forget', userId });
  }
  get(userId: string): WriterUserView | undefined {
    const entry = this.entries.get(userId);
    if (entry === undefined) return undefined;
    const pending = entry.desired !== undefined && !same(entry.desired, entry.acknowledged);
    return {
      ...(entry.desired === undefined ? {} : { desired: entry.desired }),
      ...(entry.acknowledged === undefined ? {} : { acknowledged: entry.acknowledged }),
      version: entry.version,
      acknowledgedVersion: entry.acknowledgedVersion,
      ...(pending ? { pendingSince: 0 } : {}),
      inFlight: false,
      failed: false,
    };
  }
  /** GC acknowledges the user's desired state: returns what the connector should be told. */
  acknowledge(userId: string): { state: GcUserState; version: number } {
    const entry = this.entry(userId);
    if (entry.desired === undefined) throw new Error(`nothing desired for ${userId}`);
    entry.acknowledged = entry.desired;
    entry.acknowledgedVersion = entry.version;
    return { state: entry.desired, version: entry.version };
  }
  /** Users whose desired state differs from acknowledged: what a real writer would send. */
  pending(): string[] {
    return [...this.entries.entries()].filter(([, entry]) => entry.desired !== undefined && !same(entry.desired, entry.acknowledged)).map(([userId]) => userId);
  }
  desiredOf(userId: string): GcUserState | undefined {
    return this.entries.get(userId)?.desired;
  }
  start(): void {}
  retryFailed(): number {
    return 0;
  }
  gcAnswers(): void {}
  async stop(): Promise<void> {}
  async flush(): Promise<{ sent: number; remaining: number }> {
    return { sent: 0, remaining: this.pending().length };
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  stats(): WriterStats {
    const pendingUsers = this.pending().length;
    return { ...emptyWriterStats(), pendingUsers, queueLength: pendingUsers, trackedUsers: this.entries.size };
  }

  requestRetries(): GcRetryCounts {
    return zeroRetryCounts();
  }
  async onIdle(): Promise<void> {}
  private entry(userId: string): FakeEntry {
    let entry = this.entries.get(userId);
    if (entry === undefined) {
      entry = { version: 0, acknowledgedVersion: 0 };
      this.entries.set(userId, entry);
    }
    return entry;
  }
}

function same(a: GcUserState | undefined, b: GcUserState | undefined): boolean {
  return a !== undefined && b !== undefined && a.presence === b.presence && a.routingStatus === b.routingStatus;
}

/** Timers whose callbacks run on the next microtask: retries happen at once, without sleeping. */
export const immediateTimers: ConnectorTimers = {
  setTimeout: (callback) => {
    let cancelled = false;
    queueMicrotask(() => {
      if (!cancelled) callback();
    });
    return { cancel: () => (cancelled = true) };
  },
  clearTimeout: (handle) => (handle as { cancel(): void }).cancel(),
};

/** Lets queued microtasks and promise chains run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i += 1) await Promise.resolve();
}
