/**
 * The demo's progress line: how many agents GC shows in sync, what is still owed, and what GC saw (requests,
 * 429s) — the numbers that show EXAS keeping up within the budget.
 */
import type { GcEmulator } from '../emulators/gc/index.ts';
import type { Sidecar } from '../sidecar/index.ts';

export interface DemoProgress {
  readonly agents: number;
  /** Agents whose GC state equals their mapped Engage state (EXAS's view). */
  readonly inSync: number;
  /** Agents with a change not yet acknowledged by GC. */
  readonly pending: number;
  /** Agents whose Engage state cannot be known (e.g. an invalid statistic). */
  readonly unknown: number;
  /** Events received from Stat Server so far. */
  readonly events: number;
  /** Requests the GC emulator answered (EXAS's and anyone else's). */
  readonly gcRequests: number;
  /** Requests the GC emulator answered with 429. */
  readonly gcRateLimited: number;
  /** Users whose primary presence source is EXAS's (confirmed by EXAS), while some are not yet (a fresh org). */
  readonly primarySource?: { readonly confirmed: number; readonly fixed: number };
}

export function demoProgress(sidecar: Sidecar, gc: GcEmulator, agents: number): DemoProgress {
  const snapshot = sidecar.connector.metricsSnapshot();
  const stats = gc.stats();
  const byStatus = snapshot.agents.bySyncStatus;
  return {
    agents,
    inSync: byStatus['in-sync'],
    pending: byStatus.pending,
    unknown: byStatus.unknown,
    events: Object.values(snapshot.statServer.eventsReceived).reduce((sum, count) => sum + count, 0),
    gcRequests: stats.requests,
    gcRateLimited: stats.rateLimited,
    ...primarySourceProgress(sidecar, agents),
  };
}

/** The first-run migration's progress, while it runs (a fresh org); nothing once every user is confirmed. */
function primarySourceProgress(sidecar: Sidecar, agents: number): Pick<DemoProgress, 'primarySource'> {
  const stats = sidecar.primarySource?.stats();
  if (stats === undefined || stats.fixed === 0 || stats.confirmed >= agents) return {};
  return { primarySource: { confirmed: stats.confirmed, fixed: stats.fixed } };
}

/** One human line for stderr. */
export function formatProgress(progress: DemoProgress): string {
  return (
    `exas demo: ${progress.inSync}/${progress.agents} agents in sync, ${progress.pending} pending` +
    (progress.unknown > 0 ? `, ${progress.unknown} unknown` : '') +
    `; ${progress.events} Stat Server events; GC saw ${progress.gcRequests} requests, ${progress.gcRateLimited} answered 429` +
    (progress.primarySource === undefined ? '' : `; EXAS's presence source primary for ${progress.primarySource.confirmed}/${progress.agents} users (${progress.primarySource.fixed} made primary so far)`)
  );
}
