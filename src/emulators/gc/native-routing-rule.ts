/**
 * GC's native rule "routing status is Off Queue unless presence is On Queue" (Verint WFM adapter doc, see
 * gc-api/README.md "Added after the first build"), as an opt-in of the emulator: whether GC applies it to
 * *injected* state (which carries a `sourceId`) is not documented, so it is off by default. When on, a
 * routing status written while the user does not show On Queue is kept Off Queue, and a user whose shown
 * presence leaves On Queue drops to Off Queue (a presence notification, then a routing status one).
 */
import type { EmulatedUser, EmulatorState, RestRoutingStatus } from './state.ts';

/** Whether the rule lets `user` hold a routing status other than OFF_QUEUE now. */
export function mayLeaveOffQueue(state: EmulatorState, user: EmulatedUser): boolean {
  return state.shownDefinition(user).systemPresence === 'OnQueue';
}

/** The routing status GC keeps when `wanted` is written for `user` under the rule. */
export function routingStatusUnderRule(state: EmulatorState, user: EmulatedUser, wanted: RestRoutingStatus): RestRoutingStatus {
  return mayLeaveOffQueue(state, user) ? wanted : 'OFF_QUEUE';
}

/** Applies the rule after every presence change; returns the unsubscribe. */
export function enforceOffQueueUnlessOnQueue(state: EmulatorState): () => void {
  return state.onChange((change) => {
    if (change.kind !== 'presence' || change.user.routingStatus === 'OFF_QUEUE' || mayLeaveOffQueue(state, change.user)) return;
    state.setRoutingStatus(change.user, 'OFF_QUEUE');
  });
}
