/**
 * `OperatorDeps` for EXAS without a live connector (e.g. serving the dry-run playground for a rules file):
 * rules only, no agents, never ready (nothing is being synced), no GC request previews.
 */
import { emptyMetricsSnapshot, type MetricsSnapshot } from '../metrics/index.ts';
import type { Diagnostic, RulesProgram } from './rules-engine.ts';
import type { OperatorDeps } from './types.ts';

export interface OfflineDepsOptions {
  /** The rules to serve. */
  rules: RulesProgram | null;
  /** Reloads the rules (e.g. reads the file again); without it, reload answers with the current hash. */
  reload?: () => Promise<{ program: RulesProgram | null; errors: readonly Diagnostic[] }>;
}

/** Creates deps that serve rules but no live agents. */
export function createOfflineDeps(options: OfflineDepsOptions): OperatorDeps {
  let rules = options.rules;
  let paused = false;
  let reloads = { success: rules ? 1 : 0, failure: 0 };
  let lastReloadOk = rules !== null;
  let loadedAt = rules ? Date.now() : undefined;
  return {
    rules: () => rules,
    readiness: () => ({ rulesLoaded: rules !== null, statServerConnected: false, gcTokenValid: false, gcReachable: false, initialResyncDone: false, paused }),
    async reload() {
      if (!options.reload) return rules ? { ok: true, hash: rules.hash } : { ok: false, errors: [] };
      const loaded = await options.reload();
      if (loaded.program === null || loaded.errors.length > 0) {
        reloads = { ...reloads, failure: reloads.failure + 1 };
        lastReloadOk = false;
        return { ok: false, errors: loaded.errors };
      }
      rules = loaded.program;
      loadedAt = Date.now();
      reloads = { ...reloads, success: reloads.success + 1 };
      lastReloadOk = true;
      return { ok: true, hash: rules.hash };
    },
    pause: () => void (paused = true),
    resume: () => void (paused = false),
    agent: () => undefined,
    agents: () => ({ total: 0, items: [] }),
    summary: () => ({
      generatedAt: Date.now(),
      agents: { total: 0, bySyncStatus: { 'in-sync': 0, pending: 0, unknown: 0, error: 0 } },
      budget: { limit: 0, available: 0, inUse: 0 },
      writer: { usersPending: 0, oldestPendingAgeSeconds: 0 },
      rules: rules ? { file: rules.file, hash: rules.hash, ...(loadedAt !== undefined ? { loadedAt } : {}) } : null,
      recentChanges: [],
    }),
    metrics: (): MetricsSnapshot => {
      const empty = emptyMetricsSnapshot();
      return {
        ...empty,
        rules: { reloadSuccess: lastReloadOk, reloads, hash: rules?.hash ?? null, ...(loadedAt !== undefined ? { lastSuccessAt: loadedAt } : {}) },
      };
    },
  };
}
