import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createOperatorApp } from '../../../src/http/index.ts';
import { createExasMetrics, emptyMetricsSnapshot, isReady } from '../../../src/metrics/index.ts';
import { createFakeDeps } from './fake-deps.ts';

const PROMTOOL = '/usr/bin/promtool';
const samples = (text: string): string[] => text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
const refused = { endpoint: 'POST /api/v2/events/users/presence', permissions: ['presence:userPresence:inject'], since: 1_764_500_000_000 };

function deniedSnapshot() {
  const empty = emptyMetricsSnapshot();
  return {
    ...empty,
    gc: {
      ...empty.gc,
      permissions: {
        denied: [
          { endpoint: 'POST /api/v2/events/users/presence', count: 7 },
          { endpoint: 'GET /api/v2/presence/users/{userId}/primarysource', count: 1 },
        ],
        missing: ['presence:userPresence:inject', 'presence:userPrimarySource:view'],
      },
    },
  };
}

describe('missing GC permissions on /metrics and /readyz', () => {
  it('counts 403s per endpoint and shows each missing permission, with no per-agent label', async () => {
    const lines = samples(await createExasMetrics({ source: deniedSnapshot, processMetrics: false }).render());
    expect(lines).toEqual(
      expect.arrayContaining([
        'exas_gc_permission_denied_total{endpoint="POST /api/v2/events/users/presence"} 7',
        'exas_gc_permission_denied_total{endpoint="GET /api/v2/presence/users/{userId}/primarysource"} 1',
        'exas_gc_permission_missing{permission="presence:userPresence:inject"} 1',
        'exas_gc_permission_missing{permission="presence:userPrimarySource:view"} 1',
      ]),
    );
    // Nothing missing: no series, not a zero per permission ever seen.
    const clean = samples(await createExasMetrics({ source: emptyMetricsSnapshot, processMetrics: false }).render());
    expect(clean.filter((line) => line.startsWith('exas_gc_permission'))).toEqual([]);
  });

  it('/readyz is 503 naming gcPermissions and the refused endpoint while a permission is missing', async () => {
    const deps = createFakeDeps();
    deps.readinessState = { ...deps.readinessState, gcMissingPermissions: [refused] };
    const app = createOperatorApp(deps);
    const response = await app.request('/readyz');
    expect(response.status).toBe(503);
    const body = (await response.json()) as { notReady: string[]; checks: { gcMissingPermissions: unknown[] } };
    expect(body.notReady).toEqual(['gcPermissions']);
    expect(body.checks.gcMissingPermissions).toEqual([refused]);
    expect(samples(await (await app.request('/metrics')).text())).toContain('exas_readiness_check{check="gc_permissions"} 0');
    const summary = (await (await app.request('/api/summary')).json()) as { readiness: { ready: boolean } };
    expect(summary.readiness.ready).toBe(false);

    deps.readinessState = { ...deps.readinessState, gcMissingPermissions: [] };
    expect((await app.request('/readyz')).status).toBe(200);
    expect(isReady(deps.readinessState)).toBe(true);
    expect(samples(await (await app.request('/metrics')).text())).toContain('exas_readiness_check{check="gc_permissions"} 1');
  });

  it.runIf(existsSync(PROMTOOL))('passes promtool check metrics', async () => {
    const text = await createExasMetrics({ source: deniedSnapshot }).render();
    const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });
});
