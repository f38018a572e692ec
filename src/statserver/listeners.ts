/**
 * The listener set behind `StatSource.onObservation` / `onConnection`: subscribe returns its unsubscribe, and
 * a listener that throws is logged and skipped, so one bad subscriber cannot stop the others from hearing an
 * event, nor break the socket or timer that delivered it.
 */
import type { Logger } from '../log.ts';

/** Listeners of one kind of event (`what` names it in the log). */
export class Listeners<Event> {
  private readonly listeners = new Set<(event: Event) => void>();

  constructor(
    private readonly what: string,
    private readonly log: Logger,
  ) {}

  /** Adds a listener; returns the function that removes it. */
  add(listener: (event: Event) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: Event): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.log.error(`${this.what} listener threw`, { error });
      }
    }
  }
}
