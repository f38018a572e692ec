/**
 * Epoch-ms times kept per agent, stored as milliseconds since this module loaded.
 *
 * V8 keeps a number that is not a small integer (epoch ms are beyond 2^31) in a field as a separate 16-byte
 * heap number; a time relative to start-up stays a small integer, kept inline, for the first 24 days a process
 * runs (later ones are heap numbers again: the same values, only bigger). At 50,000 agents with six such times
 * each that is about 5 MiB. Packing and unpacking are exact for any finite time.
 *
 * @example
 * const packed = packTime(Date.now()); // e.g. 5230
 * unpackTime(packed); // the epoch ms again
 */
const LOADED_AT = Date.now();

/** An epoch-ms time as kept in a per-agent record. */
export type PackedTime = number & { readonly __packedTime: unique symbol };

export function packTime(epochMs: number): PackedTime {
  return (epochMs - LOADED_AT) as PackedTime;
}

export function unpackTime(packed: PackedTime): number {
  return packed + LOADED_AT;
}
