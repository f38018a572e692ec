/**
 * The operator surface over raw sockets on both runtimes (see operator-surface.fixture.ts): body-less, chunked
 * and odd-method requests get a proper status (never 500), cross-site and DNS-rebinding requests are refused,
 * tokens are scoped, and an anonymous dry run shows no live data.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { probeOperatorSurface, RULES_PATH } from './operator-surface.fixture.ts';

const DENO = fileURLToPath(new URL('../../node_modules/.bin/deno', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./operator-surface.fixture.ts', import.meta.url));

function expectHardened(result: Record<string, unknown>): void {
  expect(result).toMatchObject({
    concurrentDryRun: { status: 429, retryAfter: '1' },
    firstDryRun: 200,
    pauseNoBody: { status: 200, paused: true },
    resumeChunkedEmpty: 200,
    pauseNoToken: 401,
    pauseReadToken: 403,
    pauseWrongToken: 401,
    pauseTextPlain: 415,
    pauseFormEncoded: 415,
    dryRunTextPlain: 415,
    pauseForeignOrigin: 403,
    pauseNullOrigin: 403,
    pauseOwnOrigin: 200,
    pauseCrossSiteFetch: 403,
    resume: 200,
    summaryForeignHost: 403,
    pageForeignHost: 403,
    summaryLocalhost: 200,
    summaryNoToken: 401,
    agentsReadToken: 200,
    livezForeignHost: 200,
    metricsForeignHost: 200,
    readyzForeignHost: 200,
    dryRunChunked: { status: 200, rule: 'ready-idle' },
    dryRunNoBody: 400,
    dryRunProto: { error: 'the key "__proto__" is not allowed in a request body', field: '__proto__' },
    dryRunNestedProto: 400,
    dryRunTooManyEvents: { error: 'too many events: 51; at most 50 per dry run', field: 'events' },
    // Anonymous: `keep` is not resolved from GC's acknowledged state, no GC requests, only the file's name.
    dryRunAnonymous: { status: 200, leaksPath: false, leaksUserId: false, result: { presence: null, rule: { name: 'acw', file: 'exas.rules.yaml' } } },
    dryRunRead: { status: 200, showsPath: true, showsUserId: true, presence: 'OnQueue' },
    candidateAnonymous: 401,
    candidateRead: 200,
    errorLogLines: 0,
  });
  const odd = result['oddMethods'] as Record<string, number>;
  for (const [request, status] of Object.entries(odd)) {
    expect({ request, status }).toEqual({ request, status: request === 'HEAD /livez' ? 200 : 404 });
  }
  expect(RULES_PATH.startsWith('/srv/exas')).toBe(true);
}

describe('the operator surface over raw sockets', () => {
  it('on Node (node:http)', async () => {
    const result = await probeOperatorSurface();
    expect(result['runtime']).toBe('node');
    expectHardened(result);
  });

  it.runIf(existsSync(DENO))('on Deno (node:http compat, worker threads from source)', () => {
    const run = spawnSync(DENO, ['run', '-A', FIXTURE], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } });
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
    expect(result).toMatchObject({ runtime: 'deno', isolated: true });
    expectHardened(result);
  });
});
