/**
 * Wires the writer's parts the way createWriter does, without the face, so each part's tests can drive it
 * through its own interface and look at the others' state.
 */
import type { GcWriteTarget, RequestBudget, WriteOutcome } from '../../../../src/gc/ports.ts';
import { afterAll, beforeAll } from 'vitest';
import { createLogger, setLogSink, type LogSink } from '../../../../src/log.ts';
import type { GcUserState, RoutingStatus } from '../../../../src/vocabulary.ts';
import { defaultClassifyError } from '../../../../src/sync/classify-error.ts';
import { Dispatcher, type Batch } from '../../../../src/sync/writer/dispatcher.ts';
import { FailurePolicy } from '../../../../src/sync/writer/failure-policy.ts';
import { FieldLifecycle } from '../../../../src/sync/writer/field-lifecycle.ts';
import { fieldKey, PRESENCE, ROUTING, WriterLedger } from '../../../../src/sync/writer/ledger.ts';
import { WriterOrdering } from '../../../../src/sync/writer/ordering.ts';
import { zeroCounters } from '../../../../src/sync/writer/types.ts';

/** Silences the log for the calling test file (the parts log warnings the tests provoke on purpose). */
export function quietLogs(): void {
  let previousSink: LogSink;
  beforeAll(() => {
    previousSink = setLogSink(() => undefined);
  });
  afterAll(() => {
    setLogSink(previousSink);
  });
}

/** 40 days after 2026-01-01: far beyond 2^31 ms of uptime for any packed time. */
export const FORTY_DAYS_MS = 40 * 24 * 3600 * 1000;

/** A budget with a slot at `nextSlot` that records its pauses. */
export class StubBudget implements RequestBudget {
  nextSlot = 0;
  free = 10;
  readonly pauses: number[] = [];
  readonly limit: number;
  constructor(limit = 300) {
    this.limit = limit;
  }
  take(): Promise<void> {
    return Promise.resolve();
  }
  available(): number {
    return this.free;
  }
  sentInWindow(): number {
    return 0;
  }
  nextSlotAt(): number {
    return this.nextSlot;
  }
  pauseFor(seconds: number): void {
    this.pauses.push(seconds);
  }
}

/** A write target whose requests stay open until the test answers them. */
export class StubTarget implements GcWriteTarget {
  readonly budget: StubBudget;
  readonly requests: Array<{ endpoint: 'presence' | 'routing'; userIds: string[]; answer: (outcomes: WriteOutcome[]) => void; fail: (error: unknown) => void }> = [];
  constructor(
    readonly name: string,
    readonly maxBatchSize = 100,
    readonly canSet: (status: RoutingStatus) => boolean = () => true,
  ) {
    this.budget = new StubBudget();
  }
  canSetRoutingStatus(status: RoutingStatus): boolean {
    return this.canSet(status);
  }
  writePresence(items: ReadonlyArray<{ userId: string }>): Promise<WriteOutcome[]> {
    return this.#open('presence', items);
  }
  writeRoutingStatus(items: ReadonlyArray<{ userId: string }>): Promise<WriteOutcome[]> {
    return this.#open('routing', items);
  }
  #open(endpoint: 'presence' | 'routing', items: ReadonlyArray<{ userId: string }>): Promise<WriteOutcome[]> {
    return new Promise((answer, fail) => this.requests.push({ endpoint, userIds: items.map((item) => item.userId), answer, fail }));
  }
}

export function parts(options: { targets?: StubTarget[]; start?: number; batchSize?: number; maxInFlightPerTarget?: number } = {}) {
  const clock = { time: options.start ?? 1_767_225_600_000 + FORTY_DAYS_MS };
  const now = (): number => clock.time;
  const counters = zeroCounters();
  const log = createLogger('test.writer');
  const ledger = new WriterLedger();
  const ordering = new WriterOrdering(ledger);
  const failure = new FailurePolicy({ ledger, ordering, classifyError: defaultClassifyError, baseRetryDelayMs: 1000, maxRetryDelayMs: 60_000, random: () => 0.5, now, counters, log });
  const acknowledged: Array<{ userId: string; state: GcUserState; version: number }> = [];
  const lifecycle = new FieldLifecycle({
    ledger,
    ordering,
    delayed: failure.delayed,
    backOff: (key, classification, wholeRequest) => failure.backOff(key, classification, wholeRequest),
    canSetRoutingStatus: () => true,
    onUnmirrorable: () => undefined,
    counters,
    onAcknowledged: (userId, state, version) => acknowledged.push({ userId, state, version }),
    onFieldAcknowledged: () => undefined,
    onFailed: () => undefined,
    onRejected: () => undefined,
    now,
  });
  const targets = options.targets ?? [new StubTarget('t0')];
  const answered: Array<{ target: GcWriteTarget; batch: Batch }> = [];
  const dispatcher = new Dispatcher({
    targets,
    batchSize: options.batchSize ?? 100,
    maxInFlightPerTarget: options.maxInFlightPerTarget ?? 2,
    ledger,
    ordering,
    lifecycle,
    counters,
    now,
    log,
    onAnswered: (target, batch) => answered.push({ target, batch }),
    onThrew: () => undefined,
    onSettled: () => undefined,
  });

  /** Tracks `userId` with `desired` (GC holding `acknowledged`, default nothing) and places both fields. */
  function user(userId: string, desired: GcUserState, at = clock.time, acknowledgedState?: GcUserState): number {
    const slot = ledger.slotOf(userId) === -1 ? ledger.add(userId) : ledger.slotOf(userId);
    if (acknowledgedState !== undefined) {
      ledger.setAcknowledged(fieldKey(slot, PRESENCE), acknowledgedState.presence);
      ledger.setAcknowledged(fieldKey(slot, ROUTING), acknowledgedState.routingStatus);
    }
    ledger.setDesired(slot, desired);
    ledger.version[slot] = ledger.version[slot]! + 1;
    lifecycle.place(fieldKey(slot, PRESENCE), at);
    lifecycle.place(fieldKey(slot, ROUTING), at);
    return slot;
  }

  return { clock, now, counters, ledger, ordering, failure, lifecycle, dispatcher, targets, answered, acknowledged, user };
}
