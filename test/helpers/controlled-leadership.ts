/**
 * A leadership the test flips, for one sidecar in standby mode against the emulators: `set(true)` takes the lease
 * (transition listeners, then the writer gate opens), `set(false)` loses it, `setProblem` makes the lease service
 * unreachable as the view reports it. Its transitions behave like the real leadership's (src/ha).
 */
import type { Leadership, LeaseView, Transition } from '../../src/ha/index.ts';

export type ControlledLeadership = Leadership & { set(next: boolean): void; setProblem(next: string | undefined): void };

export function controlledLeadership(identity: string): ControlledLeadership {
  let leader = false;
  let transitions = 0;
  let holder: string | null = 'other-instance';
  let problem: string | undefined;
  const onOpen = new Set<() => void>();
  const onTransition = new Set<(transition: Transition) => void>();
  const leadership: ControlledLeadership = {
    identity,
    overdueMarginMs: 5_000,
    isOpen: () => leader,
    onOpen(listener) {
      onOpen.add(listener);
      return () => onOpen.delete(listener);
    },
    start() {},
    async stop() {
      leader = false;
    },
    view(): LeaseView {
      return { role: leader ? 'leader' : 'standby', identity, holder, reachable: problem === undefined, transitions, healthy: problem === undefined, ...(problem === undefined ? {} : { unhealthyReason: problem }) };
    },
    onTransition(listener) {
      onTransition.add(listener);
      return () => onTransition.delete(listener);
    },
    setProblem(next) {
      problem = next;
    },
    set(next) {
      if (next === leader) return;
      leader = next;
      holder = next ? identity : 'other-instance';
      transitions += 1;
      const transition: Transition = { role: next ? 'leader' : 'standby', reason: next ? 'lease acquired' : 'lease held by another instance', at: Date.now(), previousHolder: null };
      for (const listener of onTransition) listener(transition);
      if (next) for (const listener of onOpen) listener();
    },
  };
  return leadership;
}
