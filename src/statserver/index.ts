/**
 * @module
 * The Stat Server side of EXAS: the `StatSource` contract, the Statistics API v3 adapter, the bridge adapter
 * for Platform-SDK-only sites, and the pure normalizer that folds CurrentState + CurrentStateReason into an
 * `AgentSnapshot`. The rest of EXAS depends only on `StatSource`.
 */
export type { AgentObservation, ConnectionEvent, StatisticsRefusal, StatSource, StatSourceStats } from './stat-source.ts';
export {
  createStatisticsApiSource,
  statisticIds,
  StatisticsApiError,
  type StatisticsApiSourceOptions,
  type StatisticsSelection,
} from './statistics-api-source.ts';
export { createBridgeSource, type BridgeSourceOptions } from './bridge-source.ts';
export {
  DEFAULT_NORMALIZER_OPTIONS,
  foldAgentSnapshot,
  parseAgentStatus,
  stateFromActions,
  type FoldResult,
  type NormalizerOptions,
  type ParsedAgentStatus,
  type StatisticReading,
  type UnknownKind,
} from './normalize.ts';
export { readServiceState, readStatisticItems, type StatisticItem } from './messages.ts';
export { readBridgeMessages, type BridgeMessage } from './bridge-messages.ts';
export { createSettleWindow, realScheduler, type Scheduler, type SettleWindow } from './settle-window.ts';
