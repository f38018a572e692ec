/**
 * @module
 * Prometheus metrics of EXAS: a pulled snapshot (`MetricsSource`) plus a few push instruments, rendered as
 * text exposition that passes `promtool check metrics`. No metric carries a per-agent label.
 */
export {
  createExasMetrics,
  isReady,
  LATENCY_BUCKETS_SECONDS,
  MAX_LABEL_VALUES,
  OTHER_LABEL,
  UNMATCHED_LABEL,
  type ExasMetrics,
  type ExasMetricsOptions,
} from './exas-metrics.ts';
export {
  createMetricsHistory,
  HISTORY_CAPACITY,
  HISTORY_INTERVAL_MS,
  type HistorySample,
  type MetricsHistory,
  type MetricsHistoryOptions,
} from './history.ts';
export {
  emptyMetricsSnapshot,
  SYNC_STATUSES,
  type GcStatusClass,
  type MetricsSnapshot,
  type MetricsSource,
  type MissingGcPermission,
  type ReadinessChecks,
  type SyncStatus,
} from './snapshot.ts';
