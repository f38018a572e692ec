/**
 * scripts/audit.mjs: fails the build on high/critical advisories in production dependencies when the audit
 * endpoint answers; says SKIPPED with the reason, and passes, when it does not. Runs against a fake npm, so the
 * test needs no network.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../scripts/audit.mjs', import.meta.url));
const FAKE_NPM = fileURLToPath(new URL('./fixtures/fake-npm.mjs', import.meta.url));

function audit(fake: { stdout?: unknown; stderr?: string; exit?: number; hang?: boolean }): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [SCRIPT], {
    encoding: 'utf8',
    timeout: 20_000,
    env: {
      PATH: process.env['PATH'] ?? '',
      EXAS_AUDIT_NPM_CLI: FAKE_NPM,
      EXAS_AUDIT_TIMEOUT_MS: '1500',
      FAKE_NPM_STDOUT: typeof fake.stdout === 'string' ? fake.stdout : JSON.stringify(fake.stdout ?? ''),
      FAKE_NPM_STDERR: fake.stderr ?? '',
      FAKE_NPM_EXIT: String(fake.exit ?? 0),
      FAKE_NPM_HANG: fake.hang ? '1' : '0',
    },
  });
  return { status: run.status, output: run.stdout + run.stderr };
}

const counts = (high: number, critical: number, moderate = 0) => ({ info: 0, low: 0, moderate, high, critical, total: high + critical + moderate });

describe('scripts/audit.mjs', () => {
  it('passes when the endpoint answers with no high or critical advisory', () => {
    const result = audit({ stdout: { auditReportVersion: 2, vulnerabilities: {}, metadata: { vulnerabilities: counts(0, 0, 2), dependencies: { prod: 42 } } } });
    expect(result.status).toBe(0);
    expect(result.output).toMatch(/^audit: passed — no high or critical advisories .*0 critical, 0 high, 2 moderate.*42 packages/);
  });

  it('fails and lists each package when the endpoint reports a high or critical advisory', () => {
    const report = {
      auditReportVersion: 2,
      vulnerabilities: {
        'left-pad': { name: 'left-pad', severity: 'critical', range: '<1.3.1', via: [{ title: 'Prototype pollution', url: 'https://advisories.invalid/1' }], fixAvailable: true },
        chalk: { name: 'chalk', severity: 'moderate', range: '*', via: ['ansi-regex'] },
        'ansi-regex': { name: 'ansi-regex', severity: 'high', range: '<5.0.1', via: [{ title: 'ReDoS', url: 'https://advisories.invalid/2' }], fixAvailable: false },
      },
      metadata: { vulnerabilities: counts(1, 1, 1) },
    };
    const result = audit({ stdout: report, exit: 1 });
    expect(result.status).toBe(1);
    expect(result.output).toMatch(/^audit: FAILED — production dependencies have high or critical advisories \(1 critical, 1 high, 1 moderate/);
    expect(result.output).toContain('critical left-pad <1.3.1 — Prototype pollution https://advisories.invalid/1 (fix available)');
    expect(result.output).toContain('high     ansi-regex <5.0.1 — ReDoS https://advisories.invalid/2');
    expect(result.output).not.toContain('chalk');
  });

  it('is SKIPPED, naming the reason, when the endpoint refuses the request (a mirror without the audit API)', () => {
    const result = audit({
      stdout: { message: '405 Method Not Allowed - POST https://registry.invalid/-/npm/v1/security/advisories/bulk', statusCode: 405 },
      stderr: 'npm warn audit 405 Method Not Allowed\nnpm error audit endpoint returned an error\nnpm error A complete log of this run can be found in: /tmp/x.log\n',
      exit: 1,
    });
    expect(result.status).toBe(0);
    expect(result.output).toMatch(/^audit: SKIPPED — the registry's audit endpoint did not answer \(405 Method Not Allowed .*audit endpoint returned an error\); not failing the build for it/);
    expect(result.output).not.toContain('complete log');
  });

  it('is SKIPPED when the registry cannot be reached (offline CI)', () => {
    const result = audit({
      stdout: { error: { code: 'ENOTFOUND', summary: 'request to https://registry.invalid/-/npm/v1/security/advisories/bulk failed, reason: getaddrinfo ENOTFOUND registry.invalid', detail: '' } },
      stderr: 'npm error code ENOTFOUND\n',
      exit: 1,
    });
    expect(result.status).toBe(0);
    expect(result.output).toMatch(/^audit: SKIPPED — .*ENOTFOUND/);
  });

  it('is SKIPPED when npm audit does not finish in time', () => {
    const result = audit({ hang: true });
    expect(result.status).toBe(0);
    expect(result.output).toMatch(/^audit: SKIPPED — .*timed out/);
  });

  it('is SKIPPED when npm prints no report at all', () => {
    const result = audit({ stdout: 'not json', exit: 1 });
    expect(result.status).toBe(0);
    expect(result.output).toMatch(/^audit: SKIPPED — .*exited 1 without a report/);
  });
});
