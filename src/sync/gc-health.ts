/**
 * Notices a GC outage from the writer's outcomes: `threshold` retryable failures in a row with no success mark
 * GC down; the next success marks it up again and asks for a resync (what changed in GC during the outage is
 * unknown, and writes may have been refused).
 */

export interface GcHealth {
  /** A write succeeded; returns true when this ends an outage (the caller then resyncs). */
  success(): boolean;
  /** A write failed; only retryable failures (429, 5xx, network) count towards an outage. */
  failure(retryable: boolean): void;
  readonly down: boolean;
  readonly outages: number;
}

export function createGcHealth(threshold = 3): GcHealth {
  let failuresInRow = 0;
  let down = false;
  let outages = 0;
  return {
    success() {
      failuresInRow = 0;
      if (!down) return false;
      down = false;
      return true;
    },
    failure(retryable) {
      if (!retryable) return;
      failuresInRow += 1;
      if (!down && failuresInRow >= threshold) {
        down = true;
        outages += 1;
      }
    },
    get down() {
      return down;
    },
    get outages() {
      return outages;
    },
  };
}
