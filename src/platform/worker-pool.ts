/**
 * @module
 * Runs CPU-heavy jobs (rules parsing, linting, compiling, dry-run evaluation) on worker threads, so the thread
 * that talks to Stat Server and GC is never held up by them. `node:worker_threads` under Node and Deno alike.
 *
 * A job may ask the thread that started it a question while it runs (`ask`): the live data it needs, read where
 * it lives. Jobs are plain data both ways (structured clone; byte arrays can be transferred).
 *
 * Where no worker can be started (Node running the TypeScript sources, as the test runner does) the same
 * handler runs on the calling thread, after yielding once; `isolated` says which it is.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

/** The handler a worker runs for each job: the job, and a way to ask the starting thread a question. */
export type JobHandler<Job, Result, Question, Answer> = (job: Job, ask: (question: Question) => Promise<Answer>) => Promise<Result>;

export interface JobPool<Job, Result, Question, Answer> {
  /** Runs `job` on a free worker (queued when all are busy); `onAsk` answers the job's questions. */
  run(job: Job, options?: { transfer?: ArrayBuffer[]; onAsk?: (question: Question) => Answer | Promise<Answer> }): Promise<Result>;
  /** True when jobs run on worker threads, false when on the calling thread. */
  readonly isolated: boolean;
  /** Jobs running or queued now. */
  pending(): number;
  /** Stops every worker; queued and running jobs fail. */
  close(): Promise<void>;
}

/** Where a worker starts: a module URL, and the `workerData` that tells it to serve jobs. */
export interface WorkerEntry {
  readonly url: URL;
  readonly workerData?: unknown;
}

export interface JobPoolOptions<Job, Result, Question, Answer> {
  /** Worker module, or null to run jobs on the calling thread. */
  readonly entry: WorkerEntry | null;
  /** The handler, for the calling-thread fallback (the worker module serves the same one). */
  readonly handler: JobHandler<Job, Result, Question, Answer>;
  /** Most workers alive at once (default 2); they start on first use. */
  readonly size?: number;
  /** Heap limit of each worker in MiB (Node only; default 512): a hostile job kills its worker, not EXAS. */
  readonly maxHeapMb?: number;
  readonly name?: string;
  /** Called once if a worker cannot start at all; jobs then run on the calling thread. */
  readonly onStartFailure?: (error: Error) => void;
}

type ToWorker = { readonly id: number; readonly job: unknown } | { readonly id: number; readonly answer: unknown } | { readonly id: number; readonly askError: string };
type FromWorker = { readonly id: number; readonly result: unknown } | { readonly id: number; readonly error: string } | { readonly id: number; readonly ask: unknown };

interface Running {
  resolve(value: unknown): void;
  reject(error: Error): void;
  onAsk?: ((question: unknown) => unknown) | undefined;
}


interface Slot {
  readonly worker: Worker;
  busy: number | null;
  /** The worker's module loaded and said so (a failure before that means workers cannot start here). */
  online: boolean;
}

let nextId = 1;

export function createJobPool<Job, Result, Question, Answer>(options: JobPoolOptions<Job, Result, Question, Answer>): JobPool<Job, Result, Question, Answer> {
  const size = options.size ?? 2;
  if (!Number.isInteger(size) || size < 1) throw new Error('worker pool size: must be a positive integer');
  if (options.entry === null) return inlinePool(options.handler);
  const entry = options.entry;
  // Where a worker cannot start at all (e.g. Deno without read permission on its module), jobs run on the
  // calling thread instead of failing: slower to share, but reloads and dry runs keep working.
  const fallback = inlinePool(options.handler);
  let startFailed: string | undefined;
  const slots: Slot[] = [];
  const running = new Map<number, Running>();
  const queue: Array<{ id: number; job: unknown; transfer: ArrayBuffer[] }> = [];
  let closed = false;

  const spawn = (): Slot => {
    const deno = 'Deno' in globalThis;
    const worker = new Worker(entry.url, {
      workerData: entry.workerData,
      ...(deno ? {} : { resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb ?? 512 } }),
      // The worker's own stdout/stderr are the process's; nothing of it is read here.
      stdout: false,
      stderr: false,
      ...(options.name === undefined ? {} : { name: options.name }),
    });
    const slot: Slot = { worker, busy: null, online: false };

    worker.on('message', (message: FromWorker | { readonly ready: true }) => {
      // The worker's module loaded and serves jobs: a failure from now on is a job's, not the runtime's.
      if ('ready' in message) {
        slot.online = true;
        return;
      }
      const job = running.get(message.id);
      if (job === undefined) return;
      if ('ask' in message) {
        void Promise.resolve()
          .then(() => {
            if (job.onAsk === undefined) throw new Error('this job may not ask questions');
            return job.onAsk(message.ask);
          })
          .then(
            (answer) => worker.postMessage({ id: message.id, answer } satisfies ToWorker),
            (error: unknown) => worker.postMessage({ id: message.id, askError: error instanceof Error ? error.message : String(error) } satisfies ToWorker),
          );
        return;
      }
      running.delete(message.id);
      jobsById.delete(message.id);
      slot.busy = null;
      if ('error' in message) job.reject(new Error(message.error));
      else job.resolve(message.result);
      worker.unref();
      pump();
    });
    const fail = (error: Error): void => {
      const index = slots.indexOf(slot);
      if (index >= 0) slots.splice(index, 1);
      if (!slot.online && !closed) {
        const given = slot.busy;
        slot.busy = null;
        cannotStart(error, given === null ? [] : [given]);
        return;
      }
      if (slot.busy !== null) {
        running.get(slot.busy)?.reject(new WorkerFailedError(`the worker stopped: ${error.message}`));
        running.delete(slot.busy);
        slot.busy = null;
      }
      pump();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    worker.unref();
    slots.push(slot);
    return slot;
  };

  /** Workers cannot start here: say so once, and run `given` and every queued job on this thread instead. */
  const cannotStart = (error: Error, given: readonly number[]): void => {
    if (startFailed === undefined) {
      startFailed = error.message;
      options.onStartFailure?.(error);
    }
    for (const id of given) rerunInline(id);
    while (queue.length > 0) rerunInline(queue.shift()!.id);
  };

  const jobsById = new Map<number, unknown>();
  const rerunInline = (id: number): void => {
    const job = running.get(id);
    const payload = jobsById.get(id);
    running.delete(id);
    jobsById.delete(id);
    if (job === undefined) return;
    fallback.run(payload as Job, { onAsk: job.onAsk as ((question: Question) => Answer | Promise<Answer>) | undefined }).then(job.resolve, job.reject);
  };

  const pump = (): void => {
    while (!closed && queue.length > 0) {
      let slot = slots.find((candidate) => candidate.busy === null);
      if (slot === undefined && slots.length < size) {
        try {
          slot = spawn();
        } catch (error) {
          // Deno refuses a worker module it may not read at once (no --allow-read for it), not with an event.
          cannotStart(error instanceof Error ? error : new Error(String(error)), []);
          return;
        }
      }
      if (slot === undefined) return;
      const next = queue.shift()!;
      slot.busy = next.id;
      // A busy worker keeps the process alive until its job is done (a reload at shutdown finishes).
      slot.worker.ref();
      slot.worker.postMessage({ id: next.id, job: next.job } satisfies ToWorker, next.transfer);
    }
  };

  return {
    pending: () => running.size,
    get isolated() {
      return startFailed === undefined;
    },
    run(job, runOptions = {}) {
      if (closed) return Promise.reject(new Error('the worker pool is closed'));
      if (startFailed !== undefined) return fallback.run(job, runOptions);
      const id = nextId++;
      jobsById.set(id, job);
      return new Promise<Result>((resolve, reject) => {
        running.set(id, { resolve: resolve as (value: unknown) => void, reject, onAsk: runOptions.onAsk as Running['onAsk'] });
        queue.push({ id, job, transfer: runOptions.transfer ?? [] });
        pump();
      });
    },
    async close() {
      closed = true;
      for (const job of running.values()) job.reject(new Error('the worker pool is closed'));
      running.clear();
      queue.length = 0;
      await Promise.all(slots.splice(0).map((slot) => slot.worker.terminate()));
    },
  };
}

/** A worker died (out of memory, crashed) while running a job; the pool replaces it. */
export class WorkerFailedError extends Error {
  override readonly name = 'WorkerFailedError';
}

function inlinePool<Job, Result, Question, Answer>(handler: JobHandler<Job, Result, Question, Answer>): JobPool<Job, Result, Question, Answer> {
  let pending = 0;
  return {
    isolated: false,
    pending: () => pending,
    async run(job, runOptions = {}) {
      pending += 1;
      try {
        // Structured clone keeps the calling-thread path honest: a job sees only data, as a worker would.
        const copy = structuredClone(job);
        await new Promise<void>((resolve) => setTimeout(resolve, 0));
        const ask = async (question: Question): Promise<Answer> => {
          if (runOptions.onAsk === undefined) throw new Error('this job may not ask questions');
          return structuredClone(await runOptions.onAsk(structuredClone(question)));
        };
        return structuredClone(await handler(copy, ask));
      } finally {
        pending -= 1;
      }
    },
    async close() {},
  };
}

/** Buffers to transfer (not copy) with a job's result, by result object. */
const resultTransfers = new WeakMap<object, ArrayBuffer[]>();

/**
 * Marks `buffers` (the backing stores of typed arrays inside `result`) to be transferred to the thread that ran
 * the job instead of copied; the worker must not use them afterwards. Returns `result`. On the calling-thread
 * fallback it changes nothing.
 */
export function transferWith<T extends object>(result: T, buffers: readonly ArrayBuffer[]): T {
  resultTransfers.set(result, [...buffers]);
  return result;
}

/** True in a worker started by a pool whose entry's `workerData` carries `marker`. */
export function isPoolWorker(marker: string): boolean {
  return !isMainThread && typeof workerData === 'object' && workerData !== null && (workerData as Record<string, unknown>)['exasWorker'] === marker;
}

/** Nice value of worker threads: the lowest priority, so the thread serving the sync always runs first. */
export const WORKER_NICE = 19;

/**
 * Lowers this thread's CPU priority where the OS allows it per thread (Linux: a thread id is a process id to
 * setpriority). On a machine with few cores, busy workers would otherwise take CPU time from the sync thread
 * even though they never block its event loop. Best effort: returns false where it cannot.
 */
export function lowerThreadPriority(nice = WORKER_NICE): boolean {
  try {
    // Under Deno, only with the permissions already granted: asking would prompt on a terminal.
    const deno = (globalThis as { Deno?: { permissions: { querySync(descriptor: { name: string; path?: string; kind?: string }): { state: string } } } }).Deno;
    if (deno !== undefined) {
      const read = deno.permissions.querySync({ name: 'read', path: '/proc/thread-self' }).state;
      const sys = deno.permissions.querySync({ name: 'sys', kind: 'setPriority' }).state;
      if (read !== 'granted' || sys !== 'granted') return false;
    }
    const tid = Number(/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'))?.[1]);
    if (!Number.isInteger(tid) || tid <= 0) return false;
    setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}

/** In a worker: serves jobs with `handler` until the pool terminates the worker. */
export function serveJobs<Job, Result, Question, Answer>(handler: JobHandler<Job, Result, Question, Answer>): void {
  const port = parentPort;
  if (port === null) throw new Error('serveJobs: not in a worker thread');
  lowerThreadPriority();
  port.postMessage({ ready: true });
  const asks = new Map<number, { resolve(answer: Answer): void; reject(error: Error): void }>();
  port.on('message', (message: ToWorker) => {
    if ('answer' in message || 'askError' in message) {
      const waiting = asks.get(message.id);
      asks.delete(message.id);
      if ('answer' in message) waiting?.resolve(message.answer as Answer);
      else waiting?.reject(new Error(message.askError));
      return;
    }
    const ask = (question: Question): Promise<Answer> =>
      new Promise<Answer>((resolve, reject) => {
        asks.set(message.id, { resolve, reject });
        port.postMessage({ id: message.id, ask: question } satisfies FromWorker);
      });
    handler(message.job as Job, ask).then(
      (result) => port.postMessage({ id: message.id, result } satisfies FromWorker, typeof result === 'object' && result !== null ? (resultTransfers.get(result) ?? []) : []),
      (error: unknown) => port.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) } satisfies FromWorker),
    );
  });
}
