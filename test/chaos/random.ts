/** The emulator's seedable PRNG (mulberry32): a seed reproduces a chaos run's agent walk and fault choices. */
export { seededRandom } from '../../src/emulators/statserver/crowd.ts';

/** A random element of a non-empty list. */
export function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** `count` distinct random elements (all when there are fewer). */
export function sample<T>(random: () => number, items: readonly T[], count: number): T[] {
  const copy = [...items];
  const out: T[] = [];
  while (out.length < count && copy.length > 0) out.push(copy.splice(Math.floor(random() * copy.length), 1)[0] as T);
  return out;
}
