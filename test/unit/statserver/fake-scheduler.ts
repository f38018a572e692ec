/** A manual clock and timer queue for settle-window tests: `advance(ms)` runs what falls due, no sleeps. */
import type { Scheduler } from '../../../src/statserver/settle-window.ts';

export interface FakeScheduler extends Scheduler {
  advance(ms: number): void;
  readonly pending: number;
}

export function fakeScheduler(start = 1_000_000): FakeScheduler {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, { due: number; callback: () => void }>();
  return {
    now: () => now,
    setTimer(callback, ms) {
      const id = nextId++;
      timers.set(id, { due: now + ms, callback });
      return id;
    },
    clearTimer(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      const until = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, timer]) => timer.due <= until).sort((a, b) => a[1].due - b[1].due)[0];
        if (due === undefined) break;
        timers.delete(due[0]);
        now = due[1].due;
        due[1].callback();
      }
      now = until;
    },
    get pending() {
      return timers.size;
    },
  };
}
