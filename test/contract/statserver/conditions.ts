/**
 * Helpers the Stat Server adapter contract tests share: waiting on a condition re-checked whenever the source
 * reports something (no polling, no sleeps), and the comparable view of an observation.
 */
import type { AgentObservation } from '../../../src/statserver/index.ts';

/** Conditions to wait on; call `notify()` from the source's listeners. */
export class Conditions {
  readonly #checks = new Set<() => void>();

  /** Re-checks every pending condition. */
  notify(): void {
    for (const check of [...this.#checks]) check();
  }

  /** Resolves when `predicate` holds, re-checked on every `notify()`. */
  until(predicate: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (!predicate()) return;
        this.#checks.delete(check);
        resolve();
      };
      this.#checks.add(check);
      check();
    });
  }
}

/** A snapshot as `{ agentId, state, callType, reason }` (what the emulators show); other observations as they are. */
export function view(observation: AgentObservation | undefined) {
  if (observation?.kind !== 'snapshot') return observation;
  const { agentId, state, callType, reason } = observation.snapshot;
  return { agentId, state, callType, reason };
}
