/**
 * Fault injection for the GC emulator, set through `POST /emulator/faults` or `GcEmulator.setFaults`:
 * a full outage for N seconds, added latency, a share of 5xx answers, a share of 429 answers, a share of
 * inject events rejected as retryable, and token revocation.
 */

export interface GcFaults {
  /** Every API and token request fails with 503 for this many seconds from now. */
  outageSeconds?: number;
  /** Each API request waits this long before it is handled. */
  latencyMs?: number;
  /** Share (0..1) of API requests answered 503. */
  errorRate?: number;
  /** Share (0..1) of API requests answered 429 (Retry-After `retryAfterSeconds`) even within budget. */
  status429Rate?: number;
  /** Retry-After of the emulated 429s of `status429Rate` (default 1): a long one makes a 429 storm. */
  retryAfterSeconds?: number;
  /** Share (0..1) of inject events reported failed with `retryable: true`. */
  eventErrorRate?: number;
  /** Drops every issued token now (later calls with them get 401) and closes notification sockets. */
  revokeTokens?: boolean;
}

export interface ActiveFaults {
  outageUntil: number;
  latencyMs: number;
  errorRate: number;
  status429Rate: number;
  retryAfterSeconds: number;
  eventErrorRate: number;
}

export function noFaults(): ActiveFaults {
  return { outageUntil: 0, latencyMs: 0, errorRate: 0, status429Rate: 0, retryAfterSeconds: 1, eventErrorRate: 0 };
}

/** Checks a faults request; returns an error message or undefined. */
export function checkFaults(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'expected a JSON object';
  const known = new Set(['outageSeconds', 'latencyMs', 'errorRate', 'status429Rate', 'retryAfterSeconds', 'eventErrorRate', 'revokeTokens']);
  for (const [key, inner] of Object.entries(value)) {
    if (!known.has(key)) return `unknown fault '${key}' (known: ${[...known].join(', ')})`;
    if (key === 'revokeTokens') {
      if (typeof inner !== 'boolean') return 'revokeTokens must be a boolean';
    } else if (typeof inner !== 'number' || !Number.isFinite(inner) || inner < 0) return `${key} must be a number ≥ 0`;
    else if (key.endsWith('Rate') && inner > 1) return `${key} must be between 0 and 1`;
  }
  return undefined;
}

/** `{}` clears every fault; otherwise the given faults replace the active ones (unnamed ones are cleared). */
export function applyFaults(faults: GcFaults, now: number): ActiveFaults {
  return {
    outageUntil: faults.outageSeconds ? now + faults.outageSeconds * 1000 : 0,
    latencyMs: faults.latencyMs ?? 0,
    errorRate: faults.errorRate ?? 0,
    status429Rate: faults.status429Rate ?? 0,
    retryAfterSeconds: faults.retryAfterSeconds ?? 1,
    eventErrorRate: faults.eventErrorRate ?? 0,
  };
}
