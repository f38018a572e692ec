/**
 * The emulated agent crowd: N agents with deterministic ids (agent i has Engage agent id `1001 + i`, the same
 * scheme as the GC emulator), one voice DN each, and a seeded state machine that logs in, goes Ready, takes
 * inbound / outbound / internal / consult calls, does ACW, goes NotReady with reasons and logs out.
 */
import type { CallType, EngageState } from '../../vocabulary.ts';
import { emulatedAgentId } from '../agent-ids.ts';

export { emulatedAgentId };

/** The Not Ready reasons the crowd uses: the four GC maps by default plus custom ones. */
export const CROWD_REASONS = ['Break', 'Meal', 'Meeting', 'Training', 'Coaching', 'Personal', 'Lunch30'] as const;

export interface EmulatedAgent {
  readonly agentId: string;
  readonly index: number;
  /** The agent's voice DN (and login id). */
  readonly dn: string;
  state: EngageState;
  callType: CallType;
  reason: string | null;
  /** Epoch ms of the last change. */
  since: number;
  /** Stat Server reports this agent's statistics invalid (fault injection). */
  invalid: boolean;
}

/** What the control API shows and sets (DESIGN.md vocabulary). */
export interface AgentView {
  agentId: string;
  state: EngageState;
  callType: CallType;
  reason: string | null;
}

/** mulberry32: a small seedable PRNG, so a seed reproduces a crowd and its event sequence. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type ChangeListener = (agent: EmulatedAgent) => void;

export class Crowd {
  readonly agents: EmulatedAgent[] = [];
  private readonly byId = new Map<string, EmulatedAgent>();
  private readonly listeners = new Set<ChangeListener>();
  private readonly random: () => number;

  /** `ids`, when given, replaces the `1001 + i` scheme (tests of odd employee ids); `count` is then its length. */
  constructor(count: number, seed: number, private readonly now: () => number = Date.now, ids?: readonly string[]) {
    this.random = seededRandom(seed);
    const start = now();
    if (ids !== undefined) count = ids.length;
    for (let index = 0; index < count; index += 1) {
      const agent: EmulatedAgent = {
        agentId: ids?.[index] ?? emulatedAgentId(index),
        index,
        dn: String(6001 + index),
        state: 'LoggedOff',
        callType: 'None',
        reason: null,
        since: start,
        invalid: false,
      };
      this.initialState(agent);
      this.agents.push(agent);
      this.byId.set(agent.agentId, agent);
    }
  }

  get(agentId: string): EmulatedAgent | undefined {
    return this.byId.get(agentId);
  }

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  view(agent: EmulatedAgent): AgentView {
    return { agentId: agent.agentId, state: agent.state, callType: agent.callType, reason: agent.reason };
  }

  /** Sets one agent (control API) and tells every listener, as a real change would. */
  set(agent: EmulatedAgent, next: { state: EngageState; callType: CallType; reason: string | null }): void {
    agent.state = next.state;
    agent.callType = next.state === 'LoggedOff' ? 'None' : next.callType;
    agent.reason = next.state === 'NotReady' || next.state === 'AfterCallWork' ? next.reason : null;
    this.changed(agent);
  }

  /** Notifies listeners without a state change (e.g. a statistic becoming invalid or valid again). */
  changed(agent: EmulatedAgent): void {
    agent.since = Math.max(this.now(), agent.since + 1);
    for (const listener of this.listeners) listener(agent);
  }

  /** One random transition of one random agent. */
  step(): EmulatedAgent | undefined {
    const agent = this.agents[Math.floor(this.random() * this.agents.length)];
    if (agent === undefined) return undefined;
    this.set(agent, this.nextState(agent));
    return agent;
  }

  private initialState(agent: EmulatedAgent): void {
    const roll = this.random();
    if (roll < 0.1) return;
    if (roll < 0.5) agent.state = 'Ready';
    else if (roll < 0.7) {
      agent.state = 'Ready';
      agent.callType = this.callType();
    } else if (roll < 0.88) {
      agent.state = 'NotReady';
      agent.reason = this.reason();
    } else agent.state = 'AfterCallWork';
  }

  private pick<T>(weighted: ReadonlyArray<readonly [T, number]>): T {
    let roll = this.random() * weighted.reduce((sum, [, weight]) => sum + weight, 0);
    for (const [value, weight] of weighted) {
      roll -= weight;
      if (roll < 0) return value;
    }
    return weighted[weighted.length - 1]![0];
  }

  private callType(): CallType {
    return this.pick<CallType>([
      ['Inbound', 50],
      ['Outbound', 20],
      ['Internal', 15],
      ['Consult', 8],
      ['Unknown', 7],
    ]);
  }

  private reason(): string | null {
    return this.pick<string | null>([[null, 2], ...CROWD_REASONS.map((reason) => [reason, 2] as const)]);
  }

  private nextState(agent: EmulatedAgent): { state: EngageState; callType: CallType; reason: string | null } {
    const none = { callType: 'None' as CallType, reason: null };
    switch (agent.state) {
      case 'LoggedOff':
        return this.random() < 0.7 ? { state: 'Ready', ...none } : { state: 'NotReady', callType: 'None', reason: this.reason() };
      case 'Ready':
        if (agent.callType !== 'None') {
          return this.random() < 0.7 ? { state: 'AfterCallWork', ...none } : { state: 'Ready', ...none };
        }
        return this.pick<{ state: EngageState; callType: CallType; reason: string | null }>([
          [{ state: 'Ready', callType: this.callType(), reason: null }, 60],
          [{ state: 'NotReady', callType: 'None', reason: this.reason() }, 25],
          [{ state: 'LoggedOff', ...none }, 5],
          [{ state: 'Ready', ...none }, 10],
        ]);
      case 'AfterCallWork':
        return this.random() < 0.75 ? { state: 'Ready', ...none } : { state: 'NotReady', callType: 'None', reason: this.reason() };
      case 'NotReady':
        if (agent.callType !== 'None') return { state: 'NotReady', callType: 'None', reason: agent.reason };
        return this.pick<{ state: EngageState; callType: CallType; reason: string | null }>([
          [{ state: 'Ready', ...none }, 60],
          [{ state: 'NotReady', callType: 'Internal', reason: agent.reason }, 15],
          [{ state: 'NotReady', callType: 'None', reason: this.reason() }, 15],
          [{ state: 'LoggedOff', ...none }, 10],
        ]);
    }
  }
}
