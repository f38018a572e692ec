import { describe, expect, it } from 'vitest';
import { createOfflineDeps, createOperatorApp } from '../../../src/http/index.ts';
import { createExasMetrics } from '../../../src/metrics/index.ts';
import { createFakeDeps, defaultProgram } from './fake-deps.ts';
import { json } from './request.ts';

const JSON_TYPE = { 'content-type': 'application/json' } as const;

describe('status page', () => {
  const app = createOperatorApp(createFakeDeps());

  it('serves the page with secure headers and a CSP that allows only its own script and style', async () => {
    const response = await app.request('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    const html = await response.text();
    expect(html).toContain('<script src="page.js" defer></script>');
    expect(html).not.toMatch(/<script>(?!<)/);
  });

  it('serves its script and stylesheet with their content types', async () => {
    const script = await app.request('/page.js');
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await script.text()).toContain("api('api/summary')");
    expect((await app.request('/page.css')).headers.get('content-type')).toMatch(/^text\/css/);
  });
});

describe('GET /api/summary', () => {
  it('returns the summary with readiness for the page', async () => {
    const deps = createFakeDeps();
    const body = await json(await createOperatorApp(deps).request('/api/summary'));
    expect(body).toMatchObject({
      agents: { total: 4, bySyncStatus: { 'in-sync': 1, pending: 1, unknown: 1, error: 1 } },
      budget: { limit: 300, available: 240, inUse: 60 },
      readiness: { ready: true, checks: deps.readinessState },
    });
    expect(body['recentChanges']).toHaveLength(1);
  });
});

describe('createOfflineDeps', () => {
  it('serves the dry-run playground for a rules file without a connector: rules loaded, never ready, no agents', async () => {
    const app = createOperatorApp(createOfflineDeps({ rules: defaultProgram() }));
    const ready = await app.request('/readyz');
    expect(ready.status).toBe(503);
    expect((await json(ready))['notReady']).toEqual(['statServerConnected', 'gcTokenValid', 'gcReachable', 'initialResyncDone']);
    expect((await app.request('/agents/1001')).status).toBe(404);
    const dry = await app.request('/dry-run', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [{ agentId: 'a', state: 'LoggedOff' }] }) });
    const results = (await json<{ results: Array<Record<string, unknown>> }>(dry)).results;
    expect(results[0]).toMatchObject({ presence: 'Offline', routingStatus: 'OffQueue' });
    expect(results[0]).not.toHaveProperty('gcRequests');
    expect((await json(await app.request('/api/summary')))['rules']).toMatchObject({ file: 'exas.rules.yaml' });
  });

  it('reloads through its callback and keeps the last good rules on errors', async () => {
    const good = defaultProgram();
    let next: { program: typeof good | null; errors: Array<{ severity: 'error'; file: string; line: number; column: number; message: string }> } = {
      program: null,
      errors: [{ severity: 'error', file: 'exas.rules.yaml', line: 2, column: 3, message: 'bad' }],
    };
    const deps = createOfflineDeps({ rules: good, reload: async () => next });
    expect(await deps.reload()).toEqual({ ok: false, errors: next.errors });
    expect(deps.rules()).toBe(good);
    next = { program: good, errors: [] };
    expect(await deps.reload()).toEqual({ ok: true, hash: good.hash });
    expect(deps.metrics().rules.reloads).toEqual({ success: 2, failure: 1 });
  });
});

describe('status page assets and endpoints of the charts and the editor', () => {
  const app = createOperatorApp(createFakeDeps());

  it('serves the charts script and the bundled editor as scripts of the page itself', async () => {
    const html = await (await app.request('/')).text();
    expect(html).toContain('<script src="charts.js" defer></script>');
    expect(html).toContain('<script src="editor.js" defer></script>');
    for (const path of ['/charts.js', '/editor.js']) {
      const response = await app.request(path);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/javascript/);
    }
    expect(await (await app.request('/editor.js')).text()).toContain('ExasEditor');
  });

  it('GET /api/history answers the sampled history behind the charts', async () => {
    const metrics = createExasMetrics({ processMetrics: false });
    const withHistory = createOperatorApp(createFakeDeps(), { metrics });
    metrics.history.sample();
    const body = await json<{ intervalSeconds: number; capacity: number; samples: unknown[] }>(await withHistory.request('/api/history'));
    expect(body).toMatchObject({ intervalSeconds: 5, capacity: 180 });
    expect(body.samples).toEqual([expect.objectContaining({ usersPending: 0, statServerEventsPerSecond: null, gcClients: [] })]);
  });

  it('POST /rules/check answers every finding of a rules text with its line and column, and 400 for a bad body', async () => {
    const typo = 'version: 1\nrules:\n  - name: x\n    presence: Busy\n    routingStatus: OffQueu\n';
    const checked = await app.request('/rules/check', { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ rules: typo }) });
    expect(checked.status).toBe(200);
    expect(await json(checked)).toEqual({
      ok: false,
      findings: [{ severity: 'error', line: 5, column: 20, message: expect.stringContaining("unknown routing status 'OffQueu'") }],
    });
    const good = await json(await app.request('/rules/check', { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ rules: typo.replace('OffQueu', 'OffQueue') }) }));
    expect(good).toEqual({ ok: true, findings: [] });
    const wrong = await app.request('/rules/check', { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ rule: typo }) });
    expect(wrong.status).toBe(400);
    expect(await json(wrong)).toMatchObject({ field: 'rule' });
    expect((await app.request('/rules/check', { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ rules: 3 }) })).status).toBe(400);
  });

  it('POST /rules/check needs a token when one is set: the read token or the admin token', async () => {
    const guarded = createOperatorApp(createFakeDeps(), { adminToken: 'admin-token-0123456789', readToken: 'read-token-0123456789' });
    expect((await guarded.request('/rules/check', { method: 'POST', headers: JSON_TYPE, body: '{"rules":""}' })).status).toBe(401);
    expect((await guarded.request('/rules/check', { method: 'POST', body: '{"rules":""}', headers: { ...JSON_TYPE, authorization: 'Bearer read-token-0123456789' } })).status).toBe(200);
    expect((await guarded.request('/rules/check', { method: 'POST', body: '{"rules":""}', headers: { ...JSON_TYPE, authorization: 'Bearer admin-token-0123456789' } })).status).toBe(200);
    expect((await guarded.request('/rules/check', { method: 'POST', body: '{"rules":""}', headers: { 'content-type': 'text/plain', authorization: 'Bearer read-token-0123456789' } })).status).toBe(415);
  });
});
