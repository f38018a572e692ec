/**
 * Options of the operator app, with defaults filled in one place and checked at construction time.
 */
import type { ExasMetrics } from '../metrics/index.ts';
import { sameSecret, TOKEN_PATTERN } from './auth.ts';
import type { OperatorJobPool } from './jobs.ts';

export interface OperatorAppOptions {
  /**
   * Bearer token for everything: admin endpoints (/-/reload, /-/pause, /-/resume) and what the read token sees.
   * Unset: every endpoint is open (loopback only unless the config allows more on purpose).
   */
  adminToken?: string;
  /**
   * Bearer token that only reads: /api/summary, /agents, and live data in /dry-run (acknowledged presences, GC
   * requests, file paths, candidate rules and the impact preview). Needs `adminToken`.
   */
  readToken?: string;
  /** Also require a token (read or admin) on /livez, /readyz and /metrics (default false: probes and scrapes stay open). */
  protectProbes?: boolean;
  /**
   * The address the server is bound to: the UI, API and admin routes answer requests for it, loopback names and
   * `allowedHosts` only (default 127.0.0.1).
   */
  listenHost?: string;
  /** Further host names the UI, API and admin routes answer to (e.g. a Service name); probes answer any Host. */
  allowedHosts?: readonly string[];
  /** Most events in one dry run (default 10 000). */
  maxDryRunEvents?: number;
  /** Largest dry-run answer in bytes (default 8 MiB). */
  maxResponseBytes?: number;
  /** Most dry runs evaluated at once (default 2); more get 429 with Retry-After. */
  maxConcurrentDryRuns?: number;
  /** Worker threads for dry runs (default: the app makes its own pool of `maxConcurrentDryRuns` workers). */
  jobs?: OperatorJobPool;
  /** Largest accepted request body in bytes (default 1 MiB); larger bodies get 413. */
  bodyLimitBytes?: number;
  /**
   * Longest a request body may take to arrive, ms (default 30 000); a slower body gets 408. The `node:http`
   * server (Node and Deno) also limits slow headers and whole requests itself (`serve`).
   */
  bodyTimeoutMs?: number;
  /**
   * The metric set to render at /metrics (the connector passes the one it records latency and decisions into).
   * Without it the app makes its own. Either way the app binds its pulled values to `deps.metrics` and its
   * readiness gauges to `deps.readiness`.
   */
  metrics?: ExasMetrics;
  /** Most agents `GET /agents` returns per page (default 500). */
  maxPageSize?: number;
  /** Agents listed as examples in an impact preview (default 20). */
  impactSampleSize?: number;
}

export interface ResolvedOperatorAppOptions {
  readonly adminToken: string | undefined;
  readonly readToken: string | undefined;
  readonly protectProbes: boolean;
  readonly listenHost: string;
  readonly allowedHosts: readonly string[];
  readonly maxDryRunEvents: number;
  readonly maxResponseBytes: number;
  readonly maxConcurrentDryRuns: number;
  readonly jobs: OperatorJobPool | undefined;
  readonly bodyLimitBytes: number;
  readonly bodyTimeoutMs: number;
  readonly metrics: ExasMetrics | undefined;
  readonly maxPageSize: number;
  readonly impactSampleSize: number;
}

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_DRY_RUN_EVENTS = 10_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_CONCURRENT_DRY_RUNS = 2;

export function resolveOptions(options: OperatorAppOptions): ResolvedOperatorAppOptions {
  const adminToken = options.adminToken === '' ? undefined : options.adminToken;
  const readToken = options.readToken === '' ? undefined : options.readToken;
  for (const [name, token] of [['adminToken', adminToken], ['readToken', readToken]] as const) {
    // A Bearer header carries only RFC 6750 token characters; a token no header can carry would lock operators out.
    if (token !== undefined && !TOKEN_PATTERN.test(token)) throw new Error(`${name}: use only letters, digits and -._~+/ (optionally ending in =)`);
  }
  if (readToken !== undefined && adminToken === undefined) throw new Error('readToken: needs adminToken too (a read token alone would leave reload and pause open)');
  if (readToken !== undefined && adminToken !== undefined && sameSecret(readToken, adminToken)) throw new Error('readToken: must differ from adminToken');
  const positive = (name: string, value: number): number => {
    if (!Number.isInteger(value) || value <= 0) throw new Error(`${name}: must be a positive integer`);
    return value;
  };
  if (options.protectProbes && adminToken === undefined) {
    // Without a token there is nothing to protect the probes with; failing loudly beats a false sense of safety.
    throw new Error('protectProbes: needs adminToken to be set');
  }
  const bodyLimitBytes = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  if (!Number.isInteger(bodyLimitBytes) || bodyLimitBytes <= 0) throw new Error('bodyLimitBytes: must be a positive integer');
  const bodyTimeoutMs = options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  if (!Number.isInteger(bodyTimeoutMs) || bodyTimeoutMs <= 0) throw new Error('bodyTimeoutMs: must be a positive integer');
  const maxPageSize = options.maxPageSize ?? 500;
  if (!Number.isInteger(maxPageSize) || maxPageSize <= 0) throw new Error('maxPageSize: must be a positive integer');
  const impactSampleSize = options.impactSampleSize ?? 20;
  if (!Number.isInteger(impactSampleSize) || impactSampleSize < 0) throw new Error('impactSampleSize: must be a non-negative integer');
  return {
    adminToken,
    readToken,
    protectProbes: options.protectProbes ?? false,
    listenHost: options.listenHost ?? '127.0.0.1',
    allowedHosts: [...(options.allowedHosts ?? [])],
    maxDryRunEvents: positive('maxDryRunEvents', options.maxDryRunEvents ?? DEFAULT_MAX_DRY_RUN_EVENTS),
    maxResponseBytes: positive('maxResponseBytes', options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES),
    maxConcurrentDryRuns: positive('maxConcurrentDryRuns', options.maxConcurrentDryRuns ?? DEFAULT_MAX_CONCURRENT_DRY_RUNS),
    jobs: options.jobs,
    bodyLimitBytes,
    bodyTimeoutMs,
    metrics: options.metrics,
    maxPageSize,
    impactSampleSize,
  };
}
