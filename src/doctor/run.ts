/**
 * Runs the doctor's checks in the order the sidecar meets them at start: rules → GC access → presences and
 * source → scope and identity → primary source → notification channel → Stat Server → go-live impact. Every
 * check runs even when an earlier one failed (each says what it could not see), so one run lists every cause.
 */
import type { ExasConfig } from '../config/index.ts';
import type { GcClient } from '../gc/index.ts';
import { formatDiagnostic, loadRulesFile } from '../rules/index.ts';
import { nothingBlocks, type Check, type DoctorReport } from './checklist.ts';
import { createDoctorContext, plural, type DoctorContext, type DoctorOptions } from './context.ts';
import { checkGcAccess } from './gc-access.ts';
import { checkChannels } from './gc-channels.ts';
import { checkScopeAndIdentity } from './gc-identity.ts';
import { checkPresences, checkPresenceSource } from './gc-presences.ts';
import { checkPrimarySource } from './gc-primary-source.ts';
import { checkImpact } from './impact.ts';
import { checkStatServer } from './statserver.ts';

async function checkRules(context: DoctorContext): Promise<Check[]> {
  const file = context.config.rules.file;
  const loaded = await loadRulesFile(file);
  if (loaded.program === null) {
    return [
      {
        id: 'config.rules',
        group: 'config',
        status: 'fail',
        summary: `rules file ${file} has ${plural(loaded.errors.length, 'error')}`,
        details: loaded.errors.slice(0, 5).map((error) => formatDiagnostic(error)),
        remedy: `run exas check ${file} and fix what it reports`,
      },
    ];
  }
  context.program = loaded.program;
  return [
    {
      id: 'config.rules',
      group: 'config',
      status: 'pass',
      summary: `config and rules load (${loaded.program.rules.length} rules${loaded.warnings.length > 0 ? `, ${loaded.warnings.length} lint warnings` : ''})`,
    },
  ];
}

/**
 * Runs every check against the config's GC org and Stat Server. Read-only unless `options.fix`.
 *
 * @example
 * const report = await runDoctor(config, { fix: false });
 * process.stdout.write(formatChecklist(report));
 * process.exitCode = exitCodeOf(report);
 */
export async function runDoctor(config: ExasConfig, options: DoctorOptions, clients?: readonly GcClient[]): Promise<DoctorReport> {
  const context = createDoctorContext(config, options, clients);
  const startedAt = context.now();
  const checks: Check[] = [];
  const stages: Array<(context: DoctorContext) => Promise<Check[]>> = [
    checkRules,
    checkGcAccess,
    checkPresences,
    checkPresenceSource,
    checkScopeAndIdentity,
    checkPrimarySource,
    checkChannels,
    checkStatServer,
    checkImpact,
  ];
  for (const stage of stages) {
    checks.push(...(await stage(context)));
    // Interrupted (Ctrl-C): what ran is reported; the primary-source stage has saved its progress.
    if (options.signal?.aborted) break;
  }
  return {
    config: config.file,
    startedAt: new Date(startedAt).toISOString(),
    durationMs: context.now() - startedAt,
    ok: nothingBlocks(checks) && !options.signal?.aborted,
    fix: options.fix,
    gcRequests: context.clients.map((client) => client.stats().requests),
    checks,
  };
}
