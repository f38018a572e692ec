#!/usr/bin/env node
/**
 * Dependency audit for CI: `npm audit --omit=dev --audit-level=high`, with one difference. When the registry's
 * audit endpoint answers, a high or critical advisory in a production dependency fails the build (exit 1) and
 * each one is listed. When the endpoint does not answer (offline CI, a mirror or proxy without the audit API,
 * a timeout), the audit is reported as SKIPPED with the reason and the build is not failed for it (exit 0).
 *
 *   node scripts/audit.mjs            # exit 0: clean or skipped; 1: high/critical advisories; 2: npm could not run
 *
 * EXAS_AUDIT_NPM_CLI=/path/to/cli.js runs that script with node instead of `npm` (the tests use a fake npm).
 * EXAS_AUDIT_TIMEOUT_MS bounds the npm run (default 120000).
 */
import { spawnSync } from 'node:child_process';
import process from 'node:process';

const ARGS = ['audit', '--omit=dev', '--audit-level=high', '--json'];
const FAILING = ['high', 'critical'];

/** Runs npm audit and returns what it printed. */
function runAudit() {
  const cli = process.env.EXAS_AUDIT_NPM_CLI;
  const timeout = Number(process.env.EXAS_AUDIT_TIMEOUT_MS ?? 120_000);
  const [command, args] = cli ? [process.execPath, [cli, ...ARGS]] : [process.platform === 'win32' ? 'npm.cmd' : 'npm', ARGS];
  return spawnSync(command, args, { encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } });
}

/**
 * Reads npm's output: `{ kind: 'report', report }` when the endpoint answered (npm 7+ report with
 * `metadata.vulnerabilities`), else `{ kind: 'unanswered', reason }`.
 */
export function classify(run) {
  if (run.error?.code === 'ETIMEDOUT') return { kind: 'unanswered', reason: 'npm audit timed out' };
  if (run.error) return { kind: 'broken', reason: `npm could not be run: ${run.error.message}` };
  let parsed;
  try {
    parsed = JSON.parse(run.stdout || 'null');
  } catch {
    parsed = null;
  }
  if (parsed && typeof parsed === 'object' && parsed.metadata && typeof parsed.metadata.vulnerabilities === 'object') {
    return { kind: 'report', report: parsed };
  }
  const fromJson = parsed && typeof parsed === 'object' ? [parsed.error?.summary, parsed.message, parsed.code].filter((part) => typeof part === 'string' && part !== '') : [];
  const fromStderr = (run.stderr || '')
    .split('\n')
    .map((line) => line.replace(/^npm (error|ERR!|warn|WARN)\s*/, '').replace(/^audit\s+(?=\d{3}\s)/, '').trim())
    .filter((line) => line !== '' && !/complete log of this run/i.test(line));
  const reason = [...new Set([...fromJson, ...fromStderr])].join('; ') || `npm audit exited ${run.status} without a report`;
  // Keep registry addresses out of CI logs: the reason names the failure, not where it happened.
  return { kind: 'unanswered', reason: reason.replace(/\b(?:https?:\/\/)?[\w.-]+\.[a-z]{2,}(?::\d+)?(?:\/\S*)?/gi, '<registry>') };
}

/** The advisories at or above high: one line per package. */
export function failingPackages(report) {
  const out = [];
  for (const [name, entry] of Object.entries(report.vulnerabilities ?? {})) {
    if (!FAILING.includes(entry?.severity)) continue;
    const via = (Array.isArray(entry.via) ? entry.via : [])
      .map((item) => (typeof item === 'string' ? `via ${item}` : [item.title, item.url].filter(Boolean).join(' ')))
      .filter(Boolean);
    out.push(`${entry.severity.padEnd(8)} ${name}${entry.range ? ` ${entry.range}` : ''}${via.length > 0 ? ` — ${via.join('; ')}` : ''}${entry.fixAvailable ? ' (fix available)' : ''}`);
  }
  return out;
}

function main() {
  const outcome = classify(runAudit());
  if (outcome.kind === 'broken') {
    console.log(`audit: FAILED TO RUN — ${outcome.reason}`);
    return 2;
  }
  if (outcome.kind === 'unanswered') {
    console.log(`audit: SKIPPED — the registry's audit endpoint did not answer (${outcome.reason}); not failing the build for it`);
    return 0;
  }
  const counts = outcome.report.metadata.vulnerabilities;
  const summary = ['critical', 'high', 'moderate', 'low', 'info'].map((level) => `${counts[level] ?? 0} ${level}`).join(', ');
  const failing = failingPackages(outcome.report);
  // Counts decide (older report formats list advisories elsewhere); the per-package lines explain.
  if ((counts.high ?? 0) + (counts.critical ?? 0) > 0 || failing.length > 0) {
    console.log(`audit: FAILED — production dependencies have high or critical advisories (${summary}):`);
    for (const line of failing) console.log(`  ${line}`);
    return 1;
  }
  const dependencies = outcome.report.metadata.dependencies?.prod ?? outcome.report.metadata.dependencies?.total;
  console.log(`audit: passed — no high or critical advisories in production dependencies (${summary}${dependencies === undefined ? '' : `; ${dependencies} packages`})`);
  return 0;
}

// Run when executed (`node scripts/audit.mjs`), not when imported for its helpers.
if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replaceAll('\\', '/').split('/').pop())) process.exitCode = main();
