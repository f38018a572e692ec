/** Chaos profiles: how many agents, how hard the storm, how long each fault, which faults alone and combined. */

export interface ChaosProfile {
  readonly name: string;
  readonly agents: number;
  /** Engage changes per second across the crowd while a phase runs. */
  readonly eventsPerSecond: number;
  /** Storm before the fault starts. */
  readonly warmMs: number;
  /** How long each fault lasts. */
  readonly faultMs: number;
  /** Retry-After of the 429 storm. */
  readonly retryAfterSeconds: number;
  /** GC budget: the emulator enforces it, EXAS paces itself under it (gc.requestsPerMinute). */
  readonly requestsPerMinute: number;
  readonly gcTimeoutMs: number;
  /** Each phase: faults applied together. */
  readonly phases: readonly (readonly string[])[];
}

const ALONE = [
  ['gc-503'],
  ['gc-refused'],
  ['gc-timeouts'],
  ['gc-slow'],
  ['429-storm'],
  ['token-revoked'],
  ['stat-drops'],
  ['stat-refused'],
  ['stat-backup-switch'],
  ['stat-invalid'],
  ['stat-unknown-agents'],
  ['exas-sigkill'],
  ['store-corrupt'],
  ['drift'],
  ['rules-reload'],
] as const;

const COMBINED = [
  ['gc-503', 'stat-drops', 'rules-reload'],
  ['gc-slow', 'drift', 'stat-invalid'],
  ['exas-sigkill', 'stat-backup-switch', 'rules-reload'],
  ['token-revoked', 'stat-refused', 'drift'],
  ['429-storm', 'stat-drops', 'drift'],
  ['gc-refused', 'store-corrupt', 'stat-invalid'],
  ['gc-timeouts', 'token-revoked', 'stat-backup-switch', 'rules-reload'],
] as const;

export const PROFILES: Readonly<Record<string, ChaosProfile>> = {
  /** CI: every fault alone and two combinations, about 3 minutes on 2 cores. */
  short: {
    name: 'short',
    agents: 2000,
    eventsPerSecond: 40,
    warmMs: 1000,
    faultMs: 3000,
    retryAfterSeconds: 5,
    requestsPerMinute: 300,
    gcTimeoutMs: 2500,
    phases: [...ALONE, COMBINED[0], COMBINED[2]],
  },
  /** Every fault alone and seven combinations, longer faults, more agents. */
  full: {
    name: 'full',
    agents: 5000,
    eventsPerSecond: 80,
    warmMs: 3000,
    faultMs: 12_000,
    retryAfterSeconds: 30,
    requestsPerMinute: 300,
    gcTimeoutMs: 3000,
    phases: [...ALONE, ...COMBINED],
  },
};
