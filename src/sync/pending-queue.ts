/**
 * Indexed binary min-heaps: each key's position is kept, so removing or re-ordering a user is O(log n) and
 * an item can never be in the heap twice. The writer keeps its queues in these (`SlotHeap`, over field slots),
 * which is how it guarantees at most one queue entry per user however many updates arrive.
 */

/**
 * Where each key stands in the `SlotHeap`s that share this (-1: in none). A key is in at most one of them at a
 * time (a writer field is queued or backing off, never both), so one column serves them all.
 */
export class HeapPositions {
  #array = new Int32Array(64).fill(-1);

  get(key: number): number {
    return key < this.#array.length ? this.#array[key]! : -1;
  }

  set(key: number, index: number): void {
    if (key >= this.#array.length) {
      const grown = new Int32Array(Math.max(key + 1, Math.ceil(this.#array.length * 1.5))).fill(-1);
      grown.set(this.#array);
      this.#array = grown;
    }
    this.#array[key] = index;
  }
}

/**
 * A min-heap over small integer keys (the writer's field slots), ordered by `before(a, b)` (true when `a` must
 * come out first): positions live in a `HeapPositions` column, maybe shared with other heaps, instead of a
 * property on an object per item, so a queued user costs a few bytes, not an object.
 */
export class SlotHeap {
  #keys = new Int32Array(64);
  #size = 0;
  readonly #positions: HeapPositions;
  readonly #before: (a: number, b: number) => boolean;

  constructor(before: (a: number, b: number) => boolean, positions = new HeapPositions()) {
    this.#before = before;
    this.#positions = positions;
  }

  get size(): number {
    return this.#size;
  }

  /** The first key, or -1 when empty. */
  peek(): number {
    return this.#size === 0 ? -1 : this.#keys[0]!;
  }

  has(key: number): boolean {
    const index = this.#positions.get(key);
    return index >= 0 && index < this.#size && this.#keys[index] === key;
  }

  /** The keys in heap order (not sorted), copied. */
  values(): number[] {
    return Array.from(this.#keys.subarray(0, this.#size));
  }

  /** Adds `key`; throws if it is already in this or a sharing heap (a second entry for one field would be a bug). */
  push(key: number): void {
    if (this.#positions.get(key) >= 0) throw new Error('item is already queued');
    if (this.#size === this.#keys.length) {
      const keys = new Int32Array(Math.ceil(this.#keys.length * 1.5));
      keys.set(this.#keys);
      this.#keys = keys;
    }
    const index = this.#size++;
    this.#keys[index] = key;
    this.#positions.set(key, index);
    this.#up(index);
  }

  /** Removes `key` if it is in the heap; returns whether it was. */
  remove(key: number): boolean {
    if (!this.has(key)) return false;
    const index = this.#positions.get(key);
    this.#positions.set(key, -1);
    const last = this.#keys[--this.#size]!;
    if (last !== key) {
      this.#keys[index] = last;
      this.#positions.set(last, index);
      this.#up(index);
      this.#down(this.#positions.get(last));
    }
    return true;
  }

  /** Restores order after `key`'s sort key changed. */
  update(key: number): void {
    if (!this.has(key)) return;
    this.#up(this.#positions.get(key));
    this.#down(this.#positions.get(key));
  }

  #up(index: number): void {
    const keys = this.#keys;
    const key = keys[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = keys[parentIndex]!;
      if (!this.#before(key, parent)) break;
      keys[index] = parent;
      this.#positions.set(parent, index);
      index = parentIndex;
    }
    keys[index] = key;
    this.#positions.set(key, index);
  }

  #down(index: number): void {
    const keys = this.#keys;
    const length = this.#size;
    const key = keys[index]!;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && this.#before(keys[right]!, keys[left]!)) child = right;
      if (!this.#before(keys[child]!, key)) break;
      keys[index] = keys[child]!;
      this.#positions.set(keys[index]!, index);
      index = child;
    }
    keys[index] = key;
    this.#positions.set(key, index);
  }
}
