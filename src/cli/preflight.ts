/**
 * What `exas run` checks before it connects anywhere, in one place, so `exas run --check` runs exactly the same
 * checks and can never approve a config that `run` then rejects. Each check has a name (`exas run --check`
 * prints them) and either passes or says what is wrong. No network: nothing here connects to Stat Server or GC.
 */
import type { ExasConfig } from '../config/index.ts';
import { checkOperatorServerOptions } from '../http/index.ts';
import { formatDiagnostic, readRulesText, vetRules } from '../rules/index.ts';
import { createSidecar, operatorServerOptions } from '../sidecar/index.ts';

export interface PreflightCheck {
  readonly name: string;
  /** Null when the check passed, else what is wrong. */
  readonly problem: string | null;
}

/** The checks, in the order `run` meets them. */
export const PREFLIGHT_CHECKS = [
  // The config file itself (schema, secrets, listen addresses, token warnings) is loaded before any of these.
  'operator server: tokens, limits, listen address',
  'sidecar parts: Stat Server source, GC clients, identity, scope, store, writer',
  'rules file: readable, within rules.maxFileBytes, loads, passes its own tests',
] as const;

/** Runs every check on `config`; builds but never starts anything. */
export async function preflight(config: ExasConfig): Promise<PreflightCheck[]> {
  const checks: PreflightCheck[] = [];
  const attempt = async (name: (typeof PREFLIGHT_CHECKS)[number], check: () => void | string | null | Promise<void | string | null>): Promise<void> => {
    try {
      checks.push({ name, problem: (await check()) ?? null });
    } catch (error) {
      checks.push({ name, problem: error instanceof Error ? error.message : String(error) });
    }
  };
  await attempt(PREFLIGHT_CHECKS[0], () => checkOperatorServerOptions(operatorServerOptions(config)));
  // Building the sidecar runs every constructor's own checks (e.g. the Statistics API key); nothing is started.
  await attempt(PREFLIGHT_CHECKS[1], () => void createSidecar(config, { http: false }));
  await attempt(PREFLIGHT_CHECKS[2], async () => {
    const read = await readRulesText(config.rules.file, config.rules.maxFileBytes);
    if ('error' in read) return formatDiagnostic(read.error);
    const vetted = vetRules(read.text, config.rules.file, config.rules.testOnReload);
    if (vetted.ok) return null;
    const first = vetted.errors.slice(0, 5).map(formatDiagnostic).join('\n  ');
    return `${vetted.reason === 'tests' ? "its own tests fail (rules.testOnReload)" : 'it has errors'}:\n  ${first}`;
  });
  return checks;
}
