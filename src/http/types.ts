/**
 * What the operator surface needs from a running EXAS and the records it serves. They are defined by the operator
 * read model (src/operator/types.ts) and, for records the sync stage produces, by sync; re-exported here so the
 * HTTP code names them from one place.
 */
export type {
  AgentDecisionView,
  AgentErrorView,
  AgentFilter,
  AgentView,
  GcRequestPreview,
  LiveAgent,
  OperatorDeps,
  ReadinessChecks,
  RecentChange,
  ReloadResult,
  StatusSummary,
  SyncStatus,
} from '../operator/types.ts';
