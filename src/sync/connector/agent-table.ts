/**
 * The connector's per-agent view as dense columns: one slot index per agent id, each field a column (a typed
 * array for times and versions, a plain array for references), a free list for slots of agents that left scope.
 *
 * Why columns: one object per agent cost a header plus sixteen 8-byte fields, and every epoch-ms time outside
 * the small-integer range became a separate 16-byte heap number (issue 17: about 60 % of the heap in use was
 * headers and boxed numbers). A `Float64Array` keeps each time in 8 bytes, exact for any epoch ms, for as long
 * as the process runs. `NaN` stands for "no time yet".
 *
 * The table holds data only; the policies that change it are the connector's parts (intake, scope and identity,
 * GC observation). Slots are stable while an agent stays in scope; iteration is in the order agents entered.
 *
 * @example
 * const table = createAgentTable();
 * const slot = table.add('1001');
 * table.setUser(slot, 'user-1001');
 * table.lastEventAt[slot] = Date.now();
 */
import type { Decision } from '../../rules/index.ts';
import type { AgentSnapshot, GcUserState } from '../../vocabulary.ts';

/** No time recorded in a time column. */
export const NO_TIME = Number.NaN;

/** The time in a column slot, or undefined when none was recorded. */
export function timeAt(column: Float64Array, slot: number): number | undefined {
  const value = column[slot];
  return value === undefined || Number.isNaN(value) ? undefined : value;
}

export interface AgentTable {
  /** Agents in scope. */
  readonly size: number;
  /** Adds an agent (a fresh slot: no user, nothing observed); returns its slot. An agent already in is kept. */
  add(agentId: string): number;
  /** Removes an agent and frees its slot; returns the slot it had (undefined when not in scope). */
  remove(agentId: string): number | undefined;
  slotOf(agentId: string): number | undefined;
  /** The slot of the agent synced to a GC user (undefined when none is). */
  slotOfUser(userId: string): number | undefined;
  /** Gives the agent a GC user (null: none); the user → agent index follows. */
  setUser(slot: number, userId: string): void;
  /** Drops a user from the user → agent index (the agent's own column is the caller's). */
  dropUser(userId: string): void;
  /** Agent ids in scope, in the order they entered. */
  agentIds(): IterableIterator<string>;
  /** Slots in scope, in the order their agents entered. */
  slots(): IterableIterator<number>;
  /** GC user ids of every synced agent, in the order they were assigned. */
  userIds(): IterableIterator<string>;
  /** How many users are synced. */
  readonly userCount: number;

  // ---- columns, indexed by slot
  readonly agentId: ReadonlyArray<string>;
  readonly userId: Array<string | null>;
  readonly snapshot: Array<AgentSnapshot | null>;
  readonly unknownReason: Array<string | undefined>;
  readonly decision: Array<Decision | null>;
  /** What the connector last asked the writer for (null until the agent has a GC user and a decision). */
  readonly desired: Array<GcUserState | null>;
  /**
   * The user's ledger entry, saved to the store: what GC last acknowledged (or a read / the store said), with
   * the writer's version and when; undefined while none.
   */
  readonly ackState: Array<GcUserState | undefined>;
  readonly lastError: Array<{ readonly message: string; readonly at: number } | null>;
  /** Epoch-ms columns (`NaN`: none). `desiredAt`: when `desired` last changed (the drift guard's previous ask). */
  readonly desiredAt: Float64Array;
  readonly lastEventAt: Float64Array;
  readonly decidedAt: Float64Array;
  readonly lastWriteAt: Float64Array;
  readonly acknowledgedAt: Float64Array;
  readonly ackAt: Float64Array;
  readonly ackVersion: Float64Array;
}

const TIME_COLUMNS = ['desiredAt', 'lastEventAt', 'decidedAt', 'lastWriteAt', 'acknowledgedAt', 'ackAt', 'ackVersion'] as const;
type TimeColumn = (typeof TIME_COLUMNS)[number];

export function createAgentTable(initialCapacity = 64): AgentTable {
  const bySlot = new Map<string, number>();
  const byUser = new Map<string, number>();
  const free: number[] = [];
  let capacity = 0;
  let used = 0;
  const refs = {
    agentId: [] as string[],
    userId: [] as Array<string | null>,
    snapshot: [] as Array<AgentSnapshot | null>,
    unknownReason: [] as Array<string | undefined>,
    decision: [] as Array<Decision | null>,
    desired: [] as Array<GcUserState | null>,
    ackState: [] as Array<GcUserState | undefined>,
    lastError: [] as Array<{ readonly message: string; readonly at: number } | null>,
  };
  const numbers = Object.fromEntries(TIME_COLUMNS.map((name) => [name, new Float64Array(0)])) as Record<TimeColumn, Float64Array>;

  const grow = (needed: number): void => {
    if (needed <= capacity) return;
    const next = Math.max(needed, capacity * 2, initialCapacity);
    for (const name of TIME_COLUMNS) {
      const column = new Float64Array(next).fill(NO_TIME);
      column.set(numbers[name]);
      numbers[name] = column;
    }
    capacity = next;
  };

  const clear = (slot: number, agentId: string): void => {
    refs.agentId[slot] = agentId;
    refs.userId[slot] = null;
    refs.snapshot[slot] = null;
    refs.unknownReason[slot] = undefined;
    refs.decision[slot] = null;
    refs.desired[slot] = null;
    refs.ackState[slot] = undefined;
    refs.lastError[slot] = null;
    for (const name of TIME_COLUMNS) numbers[name][slot] = NO_TIME;
    numbers.ackVersion[slot] = 0;
    numbers.ackAt[slot] = 0;
  };

  const table: AgentTable = {
    get size() {
      return bySlot.size;
    },
    get userCount() {
      return byUser.size;
    },
    add(agentId) {
      const existing = bySlot.get(agentId);
      if (existing !== undefined) return existing;
      let slot = free.pop();
      if (slot === undefined) {
        slot = used;
        used += 1;
        grow(used);
      }
      clear(slot, agentId);
      bySlot.set(agentId, slot);
      return slot;
    },
    remove(agentId) {
      const slot = bySlot.get(agentId);
      if (slot === undefined) return undefined;
      bySlot.delete(agentId);
      // References are dropped now so a freed slot keeps nothing alive; the id stays until the slot is reused.
      refs.snapshot[slot] = null;
      refs.decision[slot] = null;
      refs.desired[slot] = null;
      refs.ackState[slot] = undefined;
      refs.lastError[slot] = null;
      free.push(slot);
      return slot;
    },
    slotOf: (agentId) => bySlot.get(agentId),
    slotOfUser: (userId) => byUser.get(userId),
    setUser(slot, userId) {
      refs.userId[slot] = userId;
      byUser.set(userId, slot);
    },
    dropUser(userId) {
      byUser.delete(userId);
    },
    agentIds: () => bySlot.keys(),
    slots: () => bySlot.values(),
    userIds: () => byUser.keys(),
    ...refs,
    get desiredAt() {
      return numbers.desiredAt;
    },
    get lastEventAt() {
      return numbers.lastEventAt;
    },
    get decidedAt() {
      return numbers.decidedAt;
    },
    get lastWriteAt() {
      return numbers.lastWriteAt;
    },
    get acknowledgedAt() {
      return numbers.acknowledgedAt;
    },
    get ackAt() {
      return numbers.ackAt;
    },
    get ackVersion() {
      return numbers.ackVersion;
    },
  };
  return table;
}
