/**
 * Records, through the GC emulator's change hook, every change of what each user shows, in the order GC
 * applied it; writes the chaos suite makes itself as the "foreign writer" (drift) are tagged.
 */
import type { GcEmulator } from '../../src/emulators/gc/index.ts';
import type { GcEntry } from './oracle.ts';

export class GcHistory {
  readonly byUser = new Map<string, GcEntry[]>();
  private foreignDepth = 0;
  private readonly unsubscribe: () => void;
  writes = 0;

  constructor(gc: GcEmulator) {
    this.unsubscribe = gc.onUserChange((userId, part, view) => {
      let entries = this.byUser.get(userId);
      if (entries === undefined) this.byUser.set(userId, (entries = []));
      entries.push({ at: Date.now(), part, value: part === 'presence' ? view.presence : view.routingStatus, foreign: this.foreignDepth > 0 });
      this.writes += 1;
    });
  }

  /** Runs `write` (synchronous) with its GC changes tagged foreign. */
  foreign(write: () => void): void {
    this.foreignDepth += 1;
    try {
      write();
    } finally {
      this.foreignDepth -= 1;
    }
  }

  close(): void {
    this.unsubscribe();
  }

  /** Forgets the history (the soak does it after each converged check, so memory stays flat). */
  clear(): void {
    this.byUser.clear();
  }
}
