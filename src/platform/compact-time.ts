/**
 * Epoch-ms times kept per agent or per user, exact for as long as the process runs.
 *
 * `createTimeColumn` is the dense form: a growable `Float64Array` of epoch ms indexed by a slot (one per agent or
 * user), 8 bytes a time, `NaN` for none. An epoch-ms time in an object field is a separate 16-byte heap number
 * in V8 (it is beyond the small-integer range); in a column it is not, whatever the uptime.
 *
 * `packTime` / `unpackTime` are the older form, for a time kept in an object field: milliseconds since this
 * module loaded, a small integer (kept inline) only for the first 24.8 days (2^31 ms) a process runs. Past that
 * the value is still exact but boxed again, so long-running state keeps its times in columns instead. They stay
 * for callers not yet moved to columns (the writer).
 *
 * @example
 * const column = createTimeColumn();
 * column.set(7, Date.now());
 * column.get(7); // the epoch ms again; column.get(8) is undefined
 */
const LOADED_AT = Date.now();

/** An epoch-ms time as kept in a per-agent record (see the module comment). */
export type PackedTime = number & { readonly __packedTime: unique symbol };

export function packTime(epochMs: number): PackedTime {
  return (epochMs - LOADED_AT) as PackedTime;
}

export function unpackTime(packed: PackedTime): number {
  return packed + LOADED_AT;
}

/** Epoch-ms times by slot, exact for any uptime. */
export interface TimeColumn {
  /** The time at `slot`, or undefined when none was set (or it was cleared). */
  get(slot: number): number | undefined;
  /** Sets the time at `slot` (the column grows as needed). */
  set(slot: number, epochMs: number): void;
  clear(slot: number): void;
  /** Slots the column holds without growing. */
  readonly capacity: number;
}

export function createTimeColumn(initialCapacity = 64): TimeColumn {
  let values = new Float64Array(Math.max(1, initialCapacity)).fill(Number.NaN);
  const grow = (slot: number): void => {
    let size = values.length;
    while (size <= slot) size *= 2;
    const next = new Float64Array(size).fill(Number.NaN);
    next.set(values);
    values = next;
  };
  return {
    get(slot) {
      const value = slot < values.length ? values[slot] : undefined;
      return value === undefined || Number.isNaN(value) ? undefined : value;
    },
    set(slot, epochMs) {
      if (slot >= values.length) grow(slot);
      values[slot] = epochMs;
    },
    clear(slot) {
      if (slot < values.length) values[slot] = Number.NaN;
    },
    get capacity() {
      return values.length;
    },
  };
}
