/**
 * @module
 * The sync stage: the connector (Stat Server observations → rules → desired GC state per user, resyncs,
 * scope changes, drift), the writer (coalesced, budget-paced GC writes) and the store of acknowledged states.
 * The sidecar that wires them with everything else (`exas run`) is src/sidecar, downstream of this stage.
 */
export {
  createConnector,
  type AgentRecordView,
  type RecentChange,
  type Connector,
  type ConnectorOptions,
  type ConnectorTimers,
  type GcStateReader,
  type IdentityLookup,
  type StatePersistence,
} from './connector/index.ts';
export { desiredFor, resolveKeep, sameState, NEVER_KEPT, type CurrentPresence, type DesiredOutcome, type KeepSource } from './desired-state.ts';
export { createDriftGuard, type DriftGuard, type DriftGuardOptions, type DriftPolicy, type DriftVerdict, type StatePart } from './drift.ts';
export { startDriftWatcher, type DriftWatcher, type DriftWatcherOptions, type NotificationChannels, type SocketLike } from './drift-watcher.ts';
export { planWatch, parseUserTopic, topicsFor, type ChannelAssignment, type WatchLimits, type WatchPlan } from './watch-plan.ts';
export { createResyncTracker, type ResyncProgress, type ResyncReason, type ResyncTracker } from './resync.ts';
export { createRulesHolder, type RulesHolder, type RulesHolderOptions, type RulesReloadResult, type RulesStatus } from './rules-holder.ts';
export { diffScope, fileScope, listScope, parseScopeText, type ScopeChange, type ScopeProvider } from './scope.ts';
export { deferredWriteTarget, gcMetrics, gcStateReader, previewWrites, type GcRequestPreview, type GcWriteSetup } from './gc-adapters.ts';
export { createGcHealth, type GcHealth } from './gc-health.ts';
export { createWriter, type Writer, type WriterOptions, type WriterStats, type WriterUserView } from './writer/index.ts';
export { createFileStore, type AcknowledgedEntries, type AcknowledgedEntry, type AcknowledgedStore, type StoreLoadResult } from './store.ts';
