/**
 * The last minutes of a few metrics, kept in memory for the status page's charts: a ring buffer of samples
 * taken every `intervalMs` (default 5 s, 180 samples: 15 minutes). Each sample holds what an operator looks at
 * first: GC requests per client in the budget's 60 s window against its limit, event → GC latency p50/p99 of
 * the writes acknowledged since the last sample, users pending and Stat Server events per second. Nothing per
 * agent is kept, so its size does not grow with the deployment: a few hundred bytes a sample, under 100 kB in all.
 */
import type { MetricsSnapshot } from './snapshot.ts';

export const HISTORY_INTERVAL_MS = 5_000;
export const HISTORY_CAPACITY = 180;
/** Latencies kept per interval for the quantiles; beyond it a uniform sample (reservoir) stands for the rest. */
const LATENCY_RESERVOIR = 1_024;

/** One point in time of the history. */
export interface HistorySample {
  /** Epoch ms the sample was taken. */
  readonly at: number;
  /** Per GC client: requests sent in the last 60 s window (what GC counts) and its budget per minute. */
  readonly gcClients: ReadonlyArray<{ readonly client: string; readonly sent: number; readonly limit: number }>;
  /** Event → GC latency quantiles of the writes acknowledged since the previous sample; null when there were none. */
  readonly latencyP50Seconds: number | null;
  readonly latencyP99Seconds: number | null;
  /** Users whose desired GC state is not yet written. */
  readonly usersPending: number;
  /** Stat Server events per second since the previous sample; null for the first sample. */
  readonly statServerEventsPerSecond: number | null;
}

export interface MetricsHistoryOptions {
  /** Where sampled values come from; undefined while nothing is wired (the sample then holds zeros). */
  readonly source: () => MetricsSnapshot | undefined;
  readonly intervalMs?: number;
  readonly capacity?: number;
  /** Clock (epoch ms); tests inject one. */
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface MetricsHistory {
  readonly intervalMs: number;
  readonly capacity: number;
  /** Notes one event → GC latency (the connector's push instrument feeds it). */
  observeLatency(seconds: number): void;
  /** Takes one sample now (the timer calls this; tests call it directly). */
  sample(): void;
  /** The samples, oldest first. */
  samples(): HistorySample[];
  /** Samples now and every `intervalMs` until `stop()`; the timer does not hold the process open. */
  start(): void;
  stop(): void;
}

/**
 * Creates an empty history.
 *
 * @example
 * const history = createMetricsHistory({ source: () => connector.metricsSnapshot() });
 * history.start();
 * const points = history.samples().map((s) => [s.at, s.usersPending]);
 */
export function createMetricsHistory(options: MetricsHistoryOptions): MetricsHistory {
  const intervalMs = options.intervalMs ?? HISTORY_INTERVAL_MS;
  const capacity = options.capacity ?? HISTORY_CAPACITY;
  if (!Number.isInteger(intervalMs) || intervalMs <= 0) throw new Error(`intervalMs must be a positive integer (got ${String(intervalMs)})`);
  if (!Number.isInteger(capacity) || capacity <= 0) throw new Error(`capacity must be a positive integer (got ${String(capacity)})`);
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;

  const ring: Array<HistorySample | undefined> = new Array<HistorySample | undefined>(capacity);
  let next = 0;
  let size = 0;
  let latencies: number[] = [];
  let latenciesSeen = 0;
  let previousEvents: { at: number; total: number } | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;

  const history: MetricsHistory = {
    intervalMs,
    capacity,
    observeLatency(seconds) {
      if (!Number.isFinite(seconds) || seconds < 0) return;
      latenciesSeen += 1;
      if (latencies.length < LATENCY_RESERVOIR) latencies.push(seconds);
      else {
        // Reservoir sampling: every latency of the interval has the same chance to be kept.
        const slot = Math.floor(random() * latenciesSeen);
        if (slot < LATENCY_RESERVOIR) latencies[slot] = seconds;
      }
    },
    sample() {
      const at = now();
      const snapshot = options.source();
      const total = snapshot === undefined ? 0 : Object.values(snapshot.statServer.eventsReceived).reduce((sum, count) => sum + count, 0);
      const elapsed = previousEvents === undefined ? 0 : (at - previousEvents.at) / 1000;
      const eventsPerSecond = previousEvents === undefined || elapsed <= 0 ? null : Math.max(0, total - previousEvents.total) / elapsed;
      previousEvents = { at, total };
      const sorted = latencies.sort((a, b) => a - b);
      latencies = [];
      latenciesSeen = 0;
      ring[next] = {
        at,
        gcClients: (snapshot?.gc.budgets ?? []).map((budget) => ({ client: budget.client, sent: budget.sent, limit: budget.limit })),
        latencyP50Seconds: quantile(sorted, 0.5),
        latencyP99Seconds: quantile(sorted, 0.99),
        usersPending: snapshot?.writer.usersPending ?? 0,
        statServerEventsPerSecond: eventsPerSecond === null ? null : round(eventsPerSecond),
      };
      next = (next + 1) % capacity;
      size = Math.min(capacity, size + 1);
    },
    samples() {
      const out: HistorySample[] = [];
      for (let index = 0; index < size; index += 1) {
        const sample = ring[(next - size + index + capacity) % capacity];
        if (sample !== undefined) out.push(sample);
      }
      return out;
    },
    start() {
      if (timer !== undefined) return;
      history.sample();
      timer = setInterval(() => history.sample(), intervalMs);
      (timer as { unref?: () => void }).unref?.();
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
  return history;
}

/** The nearest-rank quantile of sorted values; null when there are none. */
function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? null;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
