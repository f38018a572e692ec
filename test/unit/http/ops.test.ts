import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PROMTOOL = '/usr/bin/promtool';
const OPS = fileURLToPath(new URL('../../../ops/', import.meta.url));

function promtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync(PROMTOOL, args, { cwd: OPS, encoding: 'utf8' });
  return { status: run.status, output: run.stdout + run.stderr };
}

describe.runIf(existsSync(PROMTOOL))('ops/ Prometheus files', () => {
  it('the alert rules pass promtool check rules', () => {
    const result = promtool('check', 'rules', 'exas-alerts.yml');
    expect(result.output).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  it('the alert rules pass their promtool unit tests', () => {
    const result = promtool('test', 'rules', 'exas-alerts.test.yml');
    expect(result.output).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  it('the example scrape config passes promtool check config', () => {
    const result = promtool('check', 'config', 'prometheus.yml');
    expect(result.status, result.output).toBe(0);
  });
});

describe.skipIf(existsSync(PROMTOOL))('ops/ Prometheus files (skipped: /usr/bin/promtool is not installed; CI installs the Debian prometheus package)', () => {
  it('are checked only where promtool exists', () => {
    console.warn('skipping promtool checks of ops/: /usr/bin/promtool not found (apt-get install prometheus)');
  });
});
