/**
 * What every doctor check shares: the config, the options, the GC clients (built as the sidecar builds them,
 * with the same paced budgets, so the doctor never spends faster than the sidecar would) and the findings of
 * earlier checks that later ones build on (the catalog, EXAS's presence source, the resolved users).
 */
import type { ExasConfig } from '../config/index.ts';
import { createGcClient, createSlidingWindowBudget, PACED_BURST_SHARE, type GcClient, type PresenceLookup } from '../gc/index.ts';
import type { RulesProgram } from '../rules/index.ts';
import type { AgentObservation } from '../statserver/index.ts';

export interface DoctorOptions {
  /** Make EXAS's presence source exist and primary for the synced users (the only change the doctor makes). */
  readonly fix: boolean;
  /** Check only the first N agents of the scope (Stat Server statistics, primary source, impact). */
  readonly sample?: number;
  /** Where `--fix` remembers the users it made primary (default: beside the store, `<store.path>.primary-source.json`). */
  readonly progressFile?: string;
  /** How long to wait for each Stat Server endpoint to connect (default 10 s). */
  readonly statServerTimeoutMs?: number;
  /** Progress lines (long checks: the primary-source count and `--fix`). */
  readonly progress?: (line: string) => void;
  /** Stops the doctor (Ctrl-C): what `--fix` did so far is kept in the progress file. */
  readonly signal?: AbortSignal;
  readonly now?: () => number;
}

export interface DoctorContext {
  readonly config: ExasConfig;
  readonly options: DoctorOptions;
  readonly clients: readonly GcClient[];
  readonly now: () => number;
  /** The rules, once loaded without errors. */
  program: RulesProgram | null;
  /** The org's presence catalog, once read. */
  catalog: PresenceLookup | null;
  /** EXAS's presence source id when it exists (inject mode). */
  sourceId: string | null;
  /** Agent ids in scope (sampled with `--sample`), once read. */
  scope: readonly string[] | null;
  /** Agent id → GC user id for the agents that resolve. */
  users: ReadonlyMap<string, string> | null;
  /** Stat Server's observation of each opened agent (from the first endpoint that connected). */
  observations: ReadonlyMap<string, AgentObservation> | null;
}

/** The GC clients of `config`, one paced budget each, exactly as the sidecar creates them. */
export function createDoctorClients(config: ExasConfig): GcClient[] {
  return config.gc.clients.map((credentials, index) =>
    createGcClient({
      ...(config.gc.baseUrl === null ? { region: config.gc.region } : { baseUrl: config.gc.baseUrl }),
      ...(config.gc.loginUrl === null ? {} : { loginUrl: config.gc.loginUrl }),
      clientId: credentials.clientId,
      clientSecret: () => credentials.clientSecret.reveal(),
      budget: createSlidingWindowBudget({ requestsPerMinute: config.gc.requestsPerMinute, headroom: config.gc.headroom, burstShare: PACED_BURST_SHARE }),
      timeoutMs: config.gc.timeoutMs,
      name: `client-${index}`,
    }),
  );
}

export function createDoctorContext(config: ExasConfig, options: DoctorOptions, clients: readonly GcClient[] = createDoctorClients(config)): DoctorContext {
  return { config, options, clients, now: options.now ?? Date.now, program: null, catalog: null, sourceId: null, scope: null, users: null, observations: null };
}

/** A short, secret-free description of an error for a checklist line. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** "1 user" / "2 users". */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}
