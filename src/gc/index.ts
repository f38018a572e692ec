/**
 * @module
 * The Genesys Cloud side of EXAS: OAuth client credentials, a typed client that spends one per-client request
 * budget, the org's presence catalog, Engage agent → GC user identity, the write target the writer uses
 * (`ports.ts`), primary presence source checks, notification channels for drift, and typed errors.
 * Conversion from DESIGN.md's vocabulary to GC's spellings and ids happens in this folder and nowhere else.
 */
export type { GcWriteTarget, RequestBudget, WriteOutcome } from './ports.ts';
export { createSlidingWindowBudget, PACED_BURST_SHARE, type SlidingWindowBudgetOptions } from './budget.ts';
export {
  createGcClient,
  createGcClientPool,
  type GcClient,
  type GcClientOptions,
  type GcClientStats,
  type PresenceEventInput,
  type RoutingStatusEventInput,
  type RequestOptions,
  type UserSearchField,
} from './client.ts';
export { createTokenProvider, type TokenProvider, type TokenProviderOptions } from './auth.ts';
export { REGION_HOSTS, resolveEndpoints, type GcEndpoints } from './regions.ts';
export {
  GcError,
  RateLimitedError,
  GcAuthError,
  GcPermissionError,
  GcNotFoundError,
  GcConflictError,
  GcValidationError,
  GcServerError,
  GcNetworkError,
  isRetryable,
  isNotSetUp,
  NOT_SET_UP,
  errorFromResponse,
  parseRetryAfter,
  type GcErrorBody,
} from './errors.ts';
export {
  createPresenceCatalog,
  buildPresenceLookup,
  validatePresencesAgainstCatalog,
  UnknownPresenceError,
  type PresenceCatalog,
  type PresenceCatalogEntry,
  type PresenceCatalogOptions,
  type PresenceLookup,
  type PresenceValidationError,
} from './catalog.ts';
export {
  createIdentityResolver,
  listUsersByKey,
  listUserPages,
  loadScopeFile,
  type IdentityKey,
  type IdentityPage,
  type IdentityMode,
  type IdentityResolver,
  type IdentityResolverOptions,
  type IdentityStats,
} from './identity.ts';
export { ensurePrimarySource, type PrimarySourceReport } from './primary-source.ts';
export {
  createPermissionMonitor,
  missingPermissionsOf,
  REQUIRED_PERMISSIONS,
  type MissingPermission,
  type PermissionMonitor,
  type PermissionStats,
} from './permissions.ts';
export { createGcWriteTarget, type GcWriteMode, type GcWriteTargetOptions } from './write-target.ts';
export {
  fromWireRoutingStatus,
  normalizeSystemPresence,
  toRestRoutingStatus,
  type ObservedRoutingStatus,
  type RestRoutingStatus,
} from './wire.ts';
export type * from './types.ts';
export {
  createNotificationChannel,
  type NotificationChannel,
  type NotificationChannelOptions,
  type NotificationEventName,
  type NotificationEvents,
  type PresenceNotification,
  type RoutingStatusNotification,
} from './notifications.ts';
