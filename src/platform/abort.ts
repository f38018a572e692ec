/**
 * An `AbortController` whose signal many concurrent operations listen to at once (a stop signal shared by every
 * budget wait and GC read of a large resync). Each operation removes its listener when it settles, so many
 * listeners are not a leak; Node's default cap of 10 would only print `MaxListenersExceededWarning`.
 *
 * @example
 * const abort = sharedAbortController();
 * await Promise.all(batches.map((batch) => budget.take(abort.signal)));
 */
import { setMaxListeners } from 'node:events';

export function sharedAbortController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
