/**
 * Test doubles for the writer: a fake clock with timers driven by the test, a sliding-window RequestBudget on
 * that clock, and GC write targets that record what they receive and answer as the test says.
 */
import type { GcWriteTarget, RequestBudget, WriteOutcome } from '../../../src/gc/ports.ts';
import type { Writer, WriterTimers } from '../../../src/sync/writer/index.ts';
import type { PresenceName, RoutingStatus } from '../../../src/vocabulary.ts';

/** Lets every pending promise callback run (a real macrotask turn; no time passes on the fake clock). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface FakeTimer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/** A clock that moves only when the test says so; timers fire in due order as it moves. */
export class FakeClock {
  time: number;
  #timers: FakeTimer[] = [];
  #nextId = 1;

  constructor(start = 1_767_225_600_000) {
    this.time = start;
  }

  readonly now = (): number => this.time;

  readonly timers: WriterTimers = {
    setTimeout: (callback, ms) => {
      const timer = { id: this.#nextId++, at: this.time + Math.max(0, ms), callback };
      this.#timers.push(timer);
      return timer.id;
    },
    clearTimeout: (handle) => {
      this.#timers = this.#timers.filter((timer) => timer.id !== handle);
    },
  };

  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Moves to the earliest timer and fires it (and any due at the same time); false when none is set. */
  fireNext(): boolean {
    if (this.#timers.length === 0) return false;
    const at = Math.min(...this.#timers.map((timer) => timer.at));
    this.time = Math.max(this.time, at);
    const due = this.#timers.filter((timer) => timer.at <= this.time).sort((a, b) => a.at - b.at || a.id - b.id);
    this.#timers = this.#timers.filter((timer) => timer.at > this.time);
    for (const timer of due) timer.callback();
    return true;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, with promise callbacks run in between. */
  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    await settle();
    for (;;) {
      const next = this.#timers.filter((timer) => timer.at <= until).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (next === undefined) break;
      this.time = Math.max(this.time, next.at);
      this.#timers = this.#timers.filter((timer) => timer !== next);
      next.callback();
      await settle();
    }
    this.time = until;
    await settle();
  }
}

/**
 * Drives fake time until the writer has nothing queued, backing off or in flight. Throws when the writer
 * waits on nothing the clock can move (a stall) or after `maxSteps` timer firings.
 */
export async function runUntilIdle(clock: FakeClock, writer: Writer, maxSteps = 100_000): Promise<void> {
  let idle = false;
  void writer.onIdle().then(() => {
    idle = true;
  });
  for (let step = 0; step < maxSteps; step += 1) {
    await settle();
    if (idle) return;
    if (!clock.fireNext()) {
      await settle();
      if (idle) return;
      throw new Error(`writer stalled: ${JSON.stringify(writer.stats())}`);
    }
  }
  throw new Error(`writer not idle after ${maxSteps} timer steps: ${JSON.stringify(writer.stats())}`);
}

/** A sliding-window budget on the fake clock, like the one GC and its emulator enforce. */
export class FakeBudget implements RequestBudget {
  readonly takes: number[] = [];
  readonly pauses: Array<{ at: number; seconds: number }> = [];
  #pausedUntil = 0;

  constructor(
    private readonly clock: FakeClock,
    readonly limit = 300,
    private readonly windowMs = 60_000,
  ) {}

  #inWindow(): number[] {
    const from = this.clock.now() - this.windowMs;
    return this.takes.filter((at) => at > from);
  }

  available(): number {
    if (this.#pausedUntil > this.clock.now()) return 0;
    return Math.max(0, this.limit - this.#inWindow().length);
  }

  sentInWindow(): number {
    return this.#inWindow().length;
  }

  nextSlotAt(): number {
    const now = this.clock.now();
    const recent = this.#inWindow();
    const windowSlot = recent.length < this.limit ? now : recent[recent.length - this.limit]! + this.windowMs;
    return Math.max(now, windowSlot, this.#pausedUntil);
  }

  async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
      const slot = this.nextSlotAt();
      if (slot <= this.clock.now()) {
        this.takes.push(this.clock.now());
        return;
      }
      await new Promise<void>((resolve, reject) => {
        const handle = this.clock.timers.setTimeout(resolve, slot - this.clock.now());
        signal?.addEventListener('abort', () => {
          this.clock.timers.clearTimeout(handle);
          reject(new DOMException('aborted', 'AbortError'));
        });
      });
    }
  }

  pauseFor(seconds: number): void {
    this.pauses.push({ at: this.clock.now(), seconds });
    this.#pausedUntil = Math.max(this.#pausedUntil, this.clock.now() + seconds * 1000);
  }

  /** The most requests any 60 s window held. */
  maxInAnyWindow(): number {
    let most = 0;
    for (let i = 0; i < this.takes.length; i += 1) {
      let count = 0;
      for (let j = i; j < this.takes.length && this.takes[j]! < this.takes[i]! + this.windowMs; j += 1) count += 1;
      most = Math.max(most, count);
    }
    return most;
  }
}

export type Endpoint = 'presence' | 'routing';

/** One request a fake target received. */
export interface RecordedCall {
  readonly target: string;
  readonly endpoint: Endpoint;
  readonly at: number;
  readonly items: ReadonlyArray<{ userId: string; value: string }>;
}

/** What a fake target answers: outcomes (default all ok), or a thrown error for the whole request. */
export type Responder = (call: RecordedCall, callIndex: number) => WriteOutcome[] | Error | undefined;

/** The GC side shared by fake targets: what each user's presence and routing status now are. */
export class FakeGc {
  readonly presence = new Map<string, PresenceName>();
  readonly routing = new Map<string, RoutingStatus>();
  readonly calls: RecordedCall[] = [];
  /** `endpoint:userId` of each field inside an open request, across all targets (one request per user and field at a time). */
  readonly open = new Set<string>();
  readonly violations: string[] = [];
  /** A user's presence and routing-status requests open at once (the writer sends presence first, one at a time). */
  readonly userOverlaps: string[] = [];
}

export interface FakeTargetOptions {
  readonly name?: string;
  readonly budget?: FakeBudget;
  readonly maxBatchSize?: number;
  /** Fake milliseconds a request takes after its budget slot. Default 100. */
  readonly latencyMs?: number;
  readonly canSetRoutingStatus?: (status: RoutingStatus) => boolean;
  readonly respond?: Responder;
  readonly gc?: FakeGc;
  /** Called synchronously when a write starts, before the budget is taken. */
  readonly onWrite?: (endpoint: Endpoint, items: ReadonlyArray<{ userId: string; value: string }>) => void;
}

/** A GC write target that records calls, takes from its budget per request, and answers per `respond`. */
export class FakeTarget implements GcWriteTarget {
  readonly name: string;
  readonly budget: FakeBudget;
  readonly maxBatchSize: number;
  readonly gc: FakeGc;
  readonly calls: RecordedCall[] = [];
  respond: Responder;
  readonly #latencyMs: number;
  readonly #canSet: (status: RoutingStatus) => boolean;
  readonly #onWrite: FakeTargetOptions['onWrite'];

  constructor(
    private readonly clock: FakeClock,
    options: FakeTargetOptions = {},
  ) {
    this.name = options.name ?? 'target-0';
    this.budget = options.budget ?? new FakeBudget(clock);
    this.maxBatchSize = options.maxBatchSize ?? 100;
    this.gc = options.gc ?? new FakeGc();
    this.respond = options.respond ?? (() => undefined);
    this.#latencyMs = options.latencyMs ?? 100;
    this.#canSet = options.canSetRoutingStatus ?? (() => true);
    this.#onWrite = options.onWrite;
  }

  canSetRoutingStatus(status: RoutingStatus): boolean {
    return this.#canSet(status);
  }

  writePresence(items: ReadonlyArray<{ userId: string; presence: PresenceName }>, signal?: AbortSignal): Promise<WriteOutcome[]> {
    return this.#write('presence', items.map((item) => ({ userId: item.userId, value: item.presence })), signal);
  }

  writeRoutingStatus(items: ReadonlyArray<{ userId: string; routingStatus: RoutingStatus }>, signal?: AbortSignal): Promise<WriteOutcome[]> {
    return this.#write('routing', items.map((item) => ({ userId: item.userId, value: item.routingStatus })), signal);
  }

  async #write(endpoint: Endpoint, items: Array<{ userId: string; value: string }>, signal?: AbortSignal): Promise<WriteOutcome[]> {
    this.#onWrite?.(endpoint, items);
    for (const item of items) {
      const field = `${endpoint}:${item.userId}`;
      if (this.gc.open.has(field)) this.gc.violations.push(`${item.userId} ${endpoint} sent while in flight`);
      const otherField = `${endpoint === 'presence' ? 'routing' : 'presence'}:${item.userId}`;
      if (this.gc.open.has(otherField)) this.gc.userOverlaps.push(`${item.userId} ${endpoint} sent while its ${otherField.split(':')[0]} was in flight`);
      this.gc.open.add(field);
    }
    try {
      await this.budget.take(signal);
      const call: RecordedCall = { target: this.name, endpoint, at: this.clock.now(), items };
      const index = this.gc.calls.length;
      this.calls.push(call);
      this.gc.calls.push(call);
      if (this.#latencyMs > 0) {
        await new Promise<void>((resolve, reject) => {
          const handle = this.clock.timers.setTimeout(resolve, this.#latencyMs);
          signal?.addEventListener('abort', () => {
            this.clock.timers.clearTimeout(handle);
            reject(new DOMException('aborted', 'AbortError'));
          });
        });
      }
      const answer = this.respond(call, index);
      if (answer instanceof Error) throw answer;
      const outcomes: WriteOutcome[] = answer ?? items.map((item) => ({ userId: item.userId, ok: true as const }));
      for (const outcome of outcomes) {
        if (!outcome.ok) continue;
        const value = items.find((item) => item.userId === outcome.userId)?.value;
        if (value === undefined) continue;
        if (endpoint === 'presence') this.gc.presence.set(outcome.userId, value);
        else this.gc.routing.set(outcome.userId, value as RoutingStatus);
      }
      return outcomes;
    } finally {
      for (const item of items) this.gc.open.delete(`${endpoint}:${item.userId}`);
    }
  }
}

/** A typed-looking error like the GC client's: an HTTP status and, for 429, Retry-After. */
export class FakeHttpError extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterSeconds?: number,
  ) {
    super(`HTTP ${status}`);
    this.name = status === 429 ? 'RateLimitedError' : 'GcServerError';
  }
}
