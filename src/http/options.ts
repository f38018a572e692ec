/**
 * Options of the operator app, with defaults filled in one place and checked at construction time.
 */
import type { ExasMetrics } from '../metrics/index.ts';

export interface OperatorAppOptions {
  /** Bearer token for admin endpoints (/-/reload, /-/pause, /-/resume, /agents, /api, /dry-run with candidate rules). Unset: open. */
  adminToken?: string;
  /** Also require the token on /livez, /readyz and /metrics (default false: probes and scrapes stay open). */
  protectProbes?: boolean;
  /** Largest accepted request body in bytes (default 1 MiB); larger bodies get 413. */
  bodyLimitBytes?: number;
  /**
   * Longest a request body may take to arrive, ms (default 30 000); a slower body gets 408. The Node server also
   * limits slow headers and bodies itself (`serve`); under Deno (`Deno.serve`) this is the slow-body limit.
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
  readonly protectProbes: boolean;
  readonly bodyLimitBytes: number;
  readonly bodyTimeoutMs: number;
  readonly metrics: ExasMetrics | undefined;
  readonly maxPageSize: number;
  readonly impactSampleSize: number;
}

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;

export function resolveOptions(options: OperatorAppOptions): ResolvedOperatorAppOptions {
  const adminToken = options.adminToken === '' ? undefined : options.adminToken;
  if (adminToken !== undefined && !/^[A-Za-z0-9._~+/-]+=*$/.test(adminToken)) {
    // Hono's bearerAuth accepts only RFC 6750 token characters; a token it can never match would lock operators out.
    throw new Error('adminToken: use only letters, digits and -._~+/ (optionally ending in =)');
  }
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
    protectProbes: options.protectProbes ?? false,
    bodyLimitBytes,
    bodyTimeoutMs,
    metrics: options.metrics,
    maxPageSize,
    impactSampleSize,
  };
}
