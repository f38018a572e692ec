/** The heap the writer's queues use, over field slots (positions in a typed array, no object per item). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SlotHeap } from '../../../../src/sync/pending-queue.ts';

describe('slot heap', () => {
  it('pops in order after any mix of pushes, removals and key changes, holding each key once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('push', 'remove', 'update', 'pop'), fc.nat(300), fc.integer({ min: -50, max: 50 })), { maxLength: 300 }),
        (operations) => {
          const sortKey = new Map<number, number>();
          const heap = new SlotHeap((a, b) => sortKey.get(a)! < sortKey.get(b)! || (sortKey.get(a) === sortKey.get(b) && a < b));
          const model = new Set<number>();
          for (const [operation, key, value] of operations) {
            if (operation === 'push' && !model.has(key)) {
              sortKey.set(key, value);
              heap.push(key);
              model.add(key);
            } else if (operation === 'remove') {
              expect(heap.remove(key)).toBe(model.delete(key));
            } else if (operation === 'update' && model.has(key)) {
              sortKey.set(key, value);
              heap.update(key);
            } else if (operation === 'pop') {
              const first = heap.peek();
              const expected = [...model].sort((a, b) => sortKey.get(a)! - sortKey.get(b)! || a - b)[0] ?? -1;
              expect(first).toBe(expected);
              if (first !== -1) heap.remove(first);
              model.delete(first);
            }
            expect(heap.size).toBe(model.size);
            expect(heap.values().sort((a, b) => a - b)).toEqual([...model].sort((a, b) => a - b));
          }
        },
      ),
    );
  });

  it('refuses to hold the same key twice', () => {
    const heap = new SlotHeap(() => false);
    heap.push(3);
    expect(heap.has(3)).toBe(true);
    expect(() => heap.push(3)).toThrow(/already queued/);
  });
});
