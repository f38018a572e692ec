/**
 * The writer: keeps, per GC user, the desired and the last acknowledged state and sends only what differs,
 * within each GC client's request budget (DESIGN.md "The Genesys Cloud side", issue 6 part 3).
 *
 * This face only wires the parts; each holds one policy and is tested alone (issue 17 part 1):
 * - ledger.ts: per user, desired and acknowledged value per field, versions, places, in dense columns;
 * - ordering.ts: fairness (oldest change first) and presence first;
 * - dispatcher.ts: which client sends the next batch, when (budget slots, pool spacing) and with whom;
 * - failure-policy.ts: classify, back off, park, outage rounds, 429 / Retry-After;
 * - field-lifecycle.ts: a field's moves between its places; settle.ts: what a request's end does to them;
 * - intake.ts: setDesired / seedAcknowledged / forget / retryFailed and the read side;
 * - send-loop.ts: when the dispatcher runs; start, pause, flush, stop, onIdle.
 *
 * @example
 * const writer = createWriter({ targets: [target], onAcknowledged: (id, state, version) => acknowledged.set(id, state, version) });
 * writer.start();
 * writer.setDesired(userId, { presence: 'OnQueue', routingStatus: 'Idle' });
 */
import { createLogger } from '../../log.ts';
import type { GcUserState, RoutingStatus } from '../../vocabulary.ts';
import { defaultClassifyError, describeError } from '../classify-error.ts';
import { Dispatcher } from './dispatcher.ts';
import { FailurePolicy } from './failure-policy.ts';
import { FieldLifecycle } from './field-lifecycle.ts';
import { WriterIntake } from './intake.ts';
import { WriterLedger } from './ledger.ts';
import { WriterOrdering } from './ordering.ts';
import { SendLoop } from './send-loop.ts';
import { settleAnswer, settleThrow, type SettleDeps } from './settle.ts';
import { zeroCounters, type Writer, type WriterOptions, type WriterTimers } from './types.ts';

export { defaultClassifyError, describeError } from '../classify-error.ts';
export type { ClassifyError, ErrorClassification } from '../classify-error.ts';
export { emptyWriterStats } from './types.ts';
export type { Writer, WriterGate, WriterOptions, WriterStats, WriterTimers, WriterUserView } from './types.ts';

const DEFAULTS = { batchSize: 100, maxRetryDelayMs: 60_000, baseRetryDelayMs: 1_000, maxInFlightPerTarget: 2 };

/**
 * Creates a writer over a pool of GC write targets. Call `start()` to begin sending.
 *
 * @example
 * const writer = createWriter({ targets, batchSize: 100, onAcknowledged: store.record });
 * for (const [userId, entry] of loaded.entries) writer.seedAcknowledged(userId, entry.state, entry.version);
 * writer.start();
 */
export function createWriter(options: WriterOptions): Writer {
  if (!Array.isArray(options.targets) || options.targets.length === 0) {
    throw new Error('writer option targets must hold at least one GcWriteTarget');
  }
  const targets = [...options.targets];
  const batchSize = positiveInteger('batchSize', options.batchSize, DEFAULTS.batchSize);
  const maxInFlightPerTarget = positiveInteger('maxInFlightPerTarget', options.maxInFlightPerTarget, DEFAULTS.maxInFlightPerTarget);
  const maxRetryDelayMs = nonNegative('maxRetryDelayMs', options.maxRetryDelayMs, DEFAULTS.maxRetryDelayMs);
  const baseRetryDelayMs = nonNegative('baseRetryDelayMs', options.baseRetryDelayMs, DEFAULTS.baseRetryDelayMs);
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const timers: WriterTimers = options.timers ?? {
    setTimeout: (callback, ms) => setTimeout(callback, ms),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
  const log = options.logger ?? createLogger('sync.writer');
  const callbacks = guardedCallbacks(options, log);
  const counters = zeroCounters();
  const unmirrorableLogged = new Set<RoutingStatus>();

  const ledger = new WriterLedger();
  const ordering = new WriterOrdering(ledger);
  const failure = new FailurePolicy({ ledger, ordering, classifyError: options.classifyError ?? defaultClassifyError, baseRetryDelayMs, maxRetryDelayMs, random, now, counters, log });
  const canSetRoutingStatus = (status: RoutingStatus): boolean => targets.some((target) => target.canSetRoutingStatus(status));
  const lifecycle = new FieldLifecycle({
    ledger,
    ordering,
    delayed: failure.delayed,
    backOff: (key, classification, wholeRequest) => failure.backOff(key, classification, wholeRequest),
    canSetRoutingStatus,
    onUnmirrorable: (userId, routingStatus) => {
      counters.routingStatusNotMirrorable += 1;
      if (unmirrorableLogged.has(routingStatus)) return;
      unmirrorableLogged.add(routingStatus);
      log.warn('routing status cannot be mirrored by any GC client; writing presence only', { routingStatus, userId });
    },
    counters,
    ...callbacks,
    onRejected: (userId, endpoint, error) => log.warn('GC rejected a write; waiting for a new desired state', { userId, endpoint, error }),
    now,
  });
  const settle: SettleDeps = { ledger, lifecycle, failure, counters };
  const gateOpen = (): boolean => options.gate?.isOpen() ?? true;
  const dispatcher = new Dispatcher({
    targets,
    batchSize,
    maxInFlightPerTarget,
    ledger,
    ordering,
    lifecycle,
    counters,
    now,
    log,
    onAnswered: (target, batch, outcomes) => settleAnswer(settle, target, batch, outcomes),
    onThrew: (target, batch, error, aborted, sentAt) => settleThrow(settle, target, batch, error, aborted, sentAt),
    // `sendLoop` is made below; a request settles long after this function returned.
    onSettled: () => {
      sendLoop.schedule();
      sendLoop.checkIdle();
    },
  });
  const sendLoop = new SendLoop({ ledger, ordering, lifecycle, failure, dispatcher, counters, timers, now, gateOpen });
  const intake = new WriterIntake({ ledger, ordering, lifecycle, failure, counters, now, wake: () => sendLoop.schedule(), checkIdle: () => sendLoop.checkIdle() });
  options.gate?.onOpen(() => sendLoop.schedule());

  return {
    setDesired: (userId, desired, changedAt) => intake.setDesired(userId, desired, changedAt),
    seedAcknowledged: (userId, state, version, observed) => intake.seedAcknowledged(userId, state, version, observed),
    forget: (userId) => intake.forget(userId),
    get: (userId) => intake.get(userId),
    retryFailed: (limit) => intake.retryFailed(limit),
    gcAnswers: () => {
      failure.gcAnswers();
      sendLoop.schedule();
    },
    start: () => sendLoop.start(),
    stop: () => sendLoop.stop(),
    flush: (deadlineMs) => sendLoop.flush(deadlineMs),
    pause: () => sendLoop.pause(),
    resume: () => sendLoop.resume(),
    get paused() {
      return sendLoop.paused;
    },
    stats: () => intake.stats(),
    requestRetries: () => ({ ...failure.requestRetries }),
    onIdle: () => sendLoop.onIdle(),
  };
}

/** The caller's callbacks, each guarded: a throwing callback must not strand the rest of a batch in flight. */
function guardedCallbacks(options: WriterOptions, log: ReturnType<typeof createLogger>) {
  const guard =
    <A extends unknown[]>(name: string, callback: ((...args: A) => void) | undefined) =>
    (...args: A): void => {
      try {
        callback?.(...args);
      } catch (error) {
        log.error(`${name} callback threw`, { userId: args[0], error: describeError(error) });
      }
    };
  return {
    onAcknowledged: guard<[string, GcUserState, number]>('onAcknowledged', options.onAcknowledged),
    onFieldAcknowledged: guard<[string, keyof GcUserState, string]>('onFieldAcknowledged', options.onFieldAcknowledged),
    onFailed: guard<[string, string, boolean, boolean]>('onFailed', options.onFailed),
  };
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`writer option ${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new Error(`writer option ${name} must be a non-negative number, got ${value}`);
  return value;
}
