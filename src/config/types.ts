/**
 * The validated, defaulted and resolved EXAS configuration. Field meanings and defaults are in
 * schemas/config.schema.json and docs/config.md; paths here are absolute and secrets are `Secret`s.
 */
import type { Secret } from './secret.ts';

export type StatSourceKind = 'statistics-api' | 'bridge';
export type IdentityKey = 'externalId' | 'username' | 'email' | 'employeeId';
export type WriteMode = 'inject' | 'per-user';
export type DriftPolicy = 're-assert' | 'report' | 'off';
export type ScopeSource = 'gc' | 'list' | 'file';

export interface GcClientCredentials {
  readonly clientId: string;
  readonly clientSecret: Secret;
}

export interface ExasConfig {
  /** The config file this came from (absolute), or `<inline>`. */
  readonly file: string;
  readonly statServer: {
    readonly source: StatSourceKind;
    readonly endpoints: ReadonlyArray<{ readonly baseUrl: string }>;
    /** Bridge listen mode: where EXAS listens for the bridge; null: EXAS dials `endpoints`. */
    readonly bridgeListen: { readonly host: string; readonly port: number } | null;
    readonly apiKey: Secret | null;
    readonly bearerToken: Secret | null;
    readonly reasonKey: string;
    readonly settleMs: number;
    readonly batchSize: number;
    /** Statistics API: seconds between attempts to open agents Stat Server refused (default 300). */
    readonly refusedRetrySeconds: number;
    readonly reconnect: { readonly initialDelayMs: number; readonly maxDelayMs: number };
  };
  readonly gc: {
    readonly region: string;
    readonly baseUrl: string | null;
    readonly loginUrl: string | null;
    readonly clients: readonly GcClientCredentials[];
    readonly requestsPerMinute: number;
    readonly headroom: number;
    readonly timeoutMs: number;
    readonly presenceSourceName: string;
    readonly primarySource: 'off' | 'check' | 'fix';
  };
  readonly identity: {
    readonly key: IdentityKey;
    readonly authority: string;
    readonly mode: 'auto' | 'list' | 'lookup';
    readonly cachePath: string;
    readonly refreshIntervalSeconds: number;
  };
  readonly scope: {
    readonly source: ScopeSource;
    readonly agents: readonly string[];
    readonly file: string;
    readonly refreshIntervalSeconds: number;
  };
  readonly rules: { readonly file: string; readonly watch: boolean; readonly testOnReload: boolean; readonly maxFileBytes: number };
  readonly writer: {
    readonly mode: WriteMode;
    readonly batchSize: number;
    readonly keepFallback: string;
  };
  readonly drift: {
    readonly policy: DriftPolicy;
    readonly maxReasserts: number;
    readonly windowSeconds: number;
    readonly echoWindowSeconds: number;
    readonly topicsPerChannel: number;
    readonly channelsPerClient: number;
    readonly channelRenewSeconds: number;
    readonly bulkReadIntervalSeconds: number;
  };
  readonly store: { readonly path: string; readonly saveIntervalSeconds: number };
  readonly http: {
    readonly host: string;
    readonly port: number;
    /** Admin token (reload, pause, resume, and all the read token sees). */
    readonly token: Secret | null;
    /** Read-only token (status API, /agents, live data in dry runs). */
    readonly readToken: Secret | null;
    readonly allowedHosts: readonly string[];
    readonly allowUnauthenticated: boolean;
    readonly maxConcurrentDryRuns: number;
    readonly maxDryRunEvents: number;
    readonly maxConnections: number;
  };
  readonly lifecycle: {
    readonly shutdownGraceSeconds: number;
    readonly retryInitialDelayMs: number;
    readonly retryMaxDelayMs: number;
  };
  readonly log: { readonly level: 'debug' | 'info' | 'warn' | 'error' };
  /** Active/standby with a lease (null: a single instance that always writes). */
  readonly ha: HaConfig | null;
}

export interface HaConfig {
  /** This instance's name in the lease (and in its GC User-Agent). */
  readonly identity: string;
  readonly lease: {
    readonly backend: 'kubernetes' | 'etcd';
    readonly name: string;
    readonly durationSeconds: number;
    readonly renewSeconds: number;
    /** Null kubeconfig: the pod's service account; null namespace: the account's (or context's). */
    readonly kubernetes: { readonly kubeconfig: string | null; readonly namespace: string | null };
    /** Set when the backend is etcd. TLS paths are absolute. */
    readonly etcd: {
      readonly endpoints: readonly string[];
      readonly tls: { readonly caFile: string | null; readonly certFile: string | null; readonly keyFile: string | null } | null;
      readonly username: string | null;
      readonly password: Secret | null;
    } | null;
  };
}
