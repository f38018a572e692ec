/**
 * The doctor's result: a list of checks, each passed (✓), failed (✗: blocks going live) or noted (!: not a
 * failure, e.g. something the sidecar does itself at start), with a one-line remedy. Printed as a readable
 * checklist or as JSON; the exit code is 1 when any check failed.
 */

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

/** Which part of the set-up a check looks at (the checklist's sections, in this order). */
export type CheckGroup = 'config' | 'gc' | 'statserver' | 'impact';

export interface Check {
  /** Stable id for scripts (`gc.permissions.client-0`, `statserver.endpoint.0`, …). */
  readonly id: string;
  readonly group: CheckGroup;
  readonly status: CheckStatus;
  /** One line: what was checked and what was found. */
  readonly summary: string;
  /** One line: what to do about it (failed and noted checks). */
  readonly remedy?: string;
  /** Further lines (examples, distributions), indented under the summary. */
  readonly details?: readonly string[];
  /** Machine-readable findings for `--format json`. */
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface DoctorReport {
  /** The config file checked. */
  readonly config: string;
  readonly startedAt: string;
  readonly durationMs: number;
  /** True when no check failed: nothing blocks going live. */
  readonly ok: boolean;
  /** Whether `--fix` was given (the only mode that changes anything in GC). */
  readonly fix: boolean;
  /** GC requests the doctor made, per client (token requests excluded). */
  readonly gcRequests: readonly number[];
  readonly checks: readonly Check[];
}

const MARK: Record<CheckStatus, string> = { pass: '✓', fail: '✗', warn: '!', skip: '-' };
const GROUP_TITLE: Record<CheckGroup, string> = { config: 'Config and rules', gc: 'Genesys Cloud', statserver: 'Stat Server', impact: 'Go-live impact' };
const GROUPS: readonly CheckGroup[] = ['config', 'gc', 'statserver', 'impact'];

/** The exit code of a report: 0 when nothing blocks going live, 1 otherwise. */
export function exitCodeOf(report: DoctorReport): number {
  return report.ok ? 0 : 1;
}

/** True when none of `checks` failed. */
export function nothingBlocks(checks: readonly Check[]): boolean {
  return checks.every((check) => check.status !== 'fail');
}

export type Painter = (colour: 'red' | 'yellow' | 'green' | 'dim', text: string) => string;

/** The readable checklist (no colour unless `paint` adds it). */
export function formatChecklist(report: DoctorReport, paint: Painter = (_colour, text) => text): string {
  const colourOf: Record<CheckStatus, 'red' | 'yellow' | 'green' | 'dim'> = { pass: 'green', fail: 'red', warn: 'yellow', skip: 'dim' };
  const lines: string[] = [`exas doctor: ${report.config}${report.fix ? ' (--fix)' : ''}`];
  for (const group of GROUPS) {
    const checks = report.checks.filter((check) => check.group === group);
    if (checks.length === 0) continue;
    lines.push('', GROUP_TITLE[group]);
    for (const check of checks) {
      lines.push(`  ${paint(colourOf[check.status], MARK[check.status])} ${check.summary}`);
      for (const detail of check.details ?? []) lines.push(`      ${detail}`);
      if (check.remedy !== undefined && check.status !== 'pass') lines.push(`      ${paint('dim', '→')} ${check.remedy}`);
    }
  }
  const count = (status: CheckStatus): number => report.checks.filter((check) => check.status === status).length;
  const requests = report.gcRequests.reduce((sum, value) => sum + value, 0);
  lines.push(
    '',
    `${count('pass')} passed, ${count('fail')} failed, ${count('warn')} to note; ${requests} GC ${requests === 1 ? 'request' : 'requests'}, ${(report.durationMs / 1000).toFixed(1)} s`,
    report.ok ? paint('green', 'Nothing blocks going live.') : paint('red', 'Going live is blocked: fix the ✗ items above.'),
  );
  return lines.join('\n') + '\n';
}

/** The report as JSON (`--format json`). */
export function formatJson(report: DoctorReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}
