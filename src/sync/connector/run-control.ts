/**
 * The connector's life: whether it runs, its timers, its abort signal, and the retry loop start-up work uses
 * while a dependency is down. Every part schedules through this, so `stop()` clears every timer and settles
 * every wait at once (a retry loop waiting for its next try must not hold up `ready()` or shutdown).
 */
import type { Logger } from '../../log.ts';
import { sharedAbortController } from '../../platform/abort.ts';
import { retryDelayMs } from '../backoff.ts';

export interface ConnectorTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Thrown into start-up work and waits once the connector stops; never logged as a failure. */
export class StoppedError extends Error {
  constructor() {
    super('connector stopped');
    this.name = 'StoppedError';
  }
}

export interface RunControl {
  readonly stopped: boolean;
  readonly signal: AbortSignal;
  /** Runs `task` after `ms` unless stopped first. */
  schedule(ms: number, task: () => void): void;
  /** Resolves after `ms`; rejects with `StoppedError` if the connector stops first. */
  wait(ms: number): Promise<void>;
  /** Runs `task` until it succeeds, backing off between tries; rejects only when the connector stops. */
  retrying<T>(what: string, task: () => Promise<T>): Promise<T>;
  /** Stops: aborts the signal and clears every pending timer. */
  stop(): void;
}

export interface RunControlOptions {
  readonly timers: ConnectorTimers;
  readonly retry: { initialDelayMs: number; maxDelayMs: number };
  readonly random: () => number;
  readonly log: Logger;
}

export function createRunControl({ timers, retry, random, log }: RunControlOptions): RunControl {
  let stopped = false;
  const pendingTimers = new Set<unknown>();
  const abort = sharedAbortController();

  const wait = (ms: number): Promise<void> =>
    new Promise((resolve, reject) => {
      if (stopped) return reject(new StoppedError());
      const handle = timers.setTimeout(() => {
        pendingTimers.delete(handle);
        abort.signal.removeEventListener('abort', onStop);
        if (stopped) reject(new StoppedError());
        else resolve();
      }, ms);
      // stop() clears pending timers: without this a retry loop waiting here would never settle, nor would ready().
      const onStop = (): void => reject(new StoppedError());
      abort.signal.addEventListener('abort', onStop, { once: true });
      pendingTimers.add(handle);
    });

  return {
    get stopped() {
      return stopped;
    },
    signal: abort.signal,
    schedule(ms, task) {
      if (stopped) return;
      const handle = timers.setTimeout(() => {
        pendingTimers.delete(handle);
        if (!stopped) task();
      }, ms);
      pendingTimers.add(handle);
    },
    wait,
    async retrying(what, task) {
      for (let attempt = 1; ; attempt += 1) {
        if (stopped) throw new StoppedError();
        try {
          return await task();
        } catch (error) {
          if (stopped) throw new StoppedError();
          const delay = retryDelayMs(attempt, { baseMs: retry.initialDelayMs, maxMs: retry.maxDelayMs, random });
          log.warn(`${what} failed; retrying`, { reason: describe(error), attempt, retryInMs: delay });
          await wait(delay);
        }
      }
    },
    stop() {
      stopped = true;
      abort.abort(new StoppedError());
      for (const handle of pendingTimers) timers.clearTimeout(handle);
      pendingTimers.clear();
    },
  };
}

export function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
