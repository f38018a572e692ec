import type { Ask, DriftGuard } from '../../src/sync/drift.ts';
import type { GcUserState } from '../../src/vocabulary.ts';

/**
 * Notes asks the way the connector does: each with the one before it for that user (its state and when it was
 * asked), so tests can write `ask('u1', ready); ask('u1', onBreak)`.
 */
export function askInOrder(drift: DriftGuard, now: () => number): (userId: string, state: GcUserState) => void {
  const last = new Map<string, Ask>();
  return (userId, state) => {
    drift.noteDesired(userId, state, last.get(userId));
    last.set(userId, { state, at: now() });
  };
}
