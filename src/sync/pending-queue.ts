/**
 * An indexed binary min-heap: each item knows its own position (`heapIndex`), so removing or re-ordering a
 * user is O(log n) and an item can never be in the heap twice. The writer keeps its queues in these, which is
 * how it guarantees at most one queue entry per user however many updates arrive.
 */

/** Anything the heap can hold: it writes the item's position into `heapIndex` (-1 when not in a heap). */
export interface HeapItem {
  heapIndex: number;
}

/** A min-heap ordered by `before(a, b)` (true when `a` must come out first). */
export class IndexedHeap<T extends HeapItem> {
  readonly #items: T[] = [];
  readonly #before: (a: T, b: T) => boolean;

  constructor(before: (a: T, b: T) => boolean) {
    this.#before = before;
  }

  get size(): number {
    return this.#items.length;
  }

  /** The first item, without removing it. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** The items in heap order (not sorted); for scans such as "oldest pending age". */
  values(): readonly T[] {
    return this.#items;
  }

  /** Adds `item`; throws if it is already in a heap (a second entry for one user would be a bug). */
  push(item: T): void {
    if (item.heapIndex !== -1) throw new Error('item is already queued');
    item.heapIndex = this.#items.length;
    this.#items.push(item);
    this.#up(item.heapIndex);
  }

  /** Removes and returns the first item. */
  pop(): T | undefined {
    const first = this.#items[0];
    if (first === undefined) return undefined;
    this.remove(first);
    return first;
  }

  /** Removes `item` if it is in this heap; returns whether it was. */
  remove(item: T): boolean {
    const index = item.heapIndex;
    if (index < 0 || this.#items[index] !== item) return false;
    const last = this.#items.pop()!;
    item.heapIndex = -1;
    if (last !== item) {
      this.#items[index] = last;
      last.heapIndex = index;
      this.#up(index);
      this.#down(last.heapIndex);
    }
    return true;
  }

  /** Restores order after `item`'s key changed. */
  update(item: T): void {
    if (item.heapIndex < 0 || this.#items[item.heapIndex] !== item) return;
    this.#up(item.heapIndex);
    this.#down(item.heapIndex);
  }

  #up(index: number): void {
    const items = this.#items;
    const item = items[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex]!;
      if (!this.#before(item, parent)) break;
      items[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    items[index] = item;
    item.heapIndex = index;
  }

  #down(index: number): void {
    const items = this.#items;
    const length = items.length;
    const item = items[index]!;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && this.#before(items[right]!, items[left]!)) child = right;
      if (!this.#before(items[child]!, item)) break;
      items[index] = items[child]!;
      items[index]!.heapIndex = index;
      index = child;
    }
    items[index] = item;
    item.heapIndex = index;
  }
}
