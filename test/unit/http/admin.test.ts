import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLogSink, type LogSink } from '../../../src/log.ts';
import { createOperatorApp } from '../../../src/http/index.ts';
import { createFakeDeps } from './fake-deps.ts';
import { CANDIDATE_BROKEN, CANDIDATE_BUSY, json } from './request.ts';

const TOKEN = 'secret-admin-token';
const post = { method: 'POST' } as const;

const logLines: string[] = [];
let previousSink: LogSink;
beforeAll(() => {
  previousSink = setLogSink((line) => logLines.push(line));
});
afterAll(() => {
  setLogSink(previousSink);
});

describe('POST /-/reload', () => {
  it('installs a good rules file and answers its hash; the metrics count the reload', async () => {
    const deps = createFakeDeps();
    deps.nextRulesText = CANDIDATE_BUSY;
    const app = createOperatorApp(deps);
    const response = await app.request('/-/reload', post);
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body).toEqual({ ok: true, hash: deps.rules()?.hash });
    expect(deps.rules()?.rules.map((rule) => rule.name)).toEqual(['everyone-busy']);
    const metrics = await (await app.request('/metrics')).text();
    expect(metrics).toContain('exas_rules_reloads_total{result="success"} 2');
    expect(metrics).toContain('exas_rules_reload_success 1');
  });

  it('rejects a bad file with 400 and its errors, and the last good rules stay live', async () => {
    const deps = createFakeDeps();
    const before = deps.rules();
    deps.nextRulesText = CANDIDATE_BROKEN;
    const app = createOperatorApp(deps);
    const response = await app.request('/-/reload', post);
    expect(response.status).toBe(400);
    const body = await json<{ error: string; details: unknown[] }>(response);
    expect(body.error).toBe('the rules file has 2 errors; the last good rules stay live');
    expect(body.details).toEqual([
      { line: 5, column: 20, message: expect.stringContaining('Sleeping') },
      { line: 6, column: 5, message: expect.stringContaining('colour') },
    ]);
    expect(deps.rules()).toBe(before);
    expect(logLines.map((line) => JSON.parse(line) as Record<string, unknown>)).toContainEqual(
      expect.objectContaining({ component: 'http', msg: 'operator action', action: 'reload', result: 'rejected' }),
    );
    const metrics = await (await app.request('/metrics')).text();
    expect(metrics).toContain('exas_rules_reloads_total{result="failure"} 1');
    expect(metrics).toContain('exas_rules_reload_success 0');
    // A dry run still uses the last good rules.
    const dry = await app.request('/dry-run', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [{ agentId: 'a', state: 'Ready' }] }) });
    expect((await json<{ results: Array<{ rule: { name: string } }> }>(dry)).results[0]?.rule.name).toBe('ready-idle');
  });

  it('accepts only POST', async () => {
    expect((await createOperatorApp(createFakeDeps()).request('/-/reload')).status).toBe(404);
  });
});

describe('POST /-/pause and /-/resume', () => {
  it('pause stops writes: /readyz answers 503 naming notPaused and exas_paused is 1; resume undoes it', async () => {
    const deps = createFakeDeps();
    const app = createOperatorApp(deps);
    expect(await json(await app.request('/-/pause', post))).toEqual({ paused: true });
    expect(deps.calls.pause).toBe(1);
    const ready = await app.request('/readyz');
    expect(ready.status).toBe(503);
    expect((await json(ready))['notReady']).toEqual(['notPaused']);
    expect(await (await app.request('/metrics')).text()).toContain('exas_paused 1');

    expect(await json(await app.request('/-/resume', post))).toEqual({ paused: false });
    expect((await app.request('/readyz')).status).toBe(200);
    expect(await (await app.request('/metrics')).text()).toContain('exas_paused 0');
  });
});

describe('admin auth', () => {
  const deps = createFakeDeps();
  const app = createOperatorApp(deps, { adminToken: TOKEN });

  it('refuses reload, pause, resume and the summary without the token, with 401 and a Bearer challenge, and calls nothing', async () => {
    for (const [path, init] of [['/-/reload', post], ['/-/pause', post], ['/-/resume', post], ['/api/summary', {}]] as const) {
      const response = await app.request(path, init);
      expect(response.status, path).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await json(response))['error']).toMatch(/^unauthorized/);
    }
    expect(deps.calls).toEqual({ reload: 0, pause: 0, resume: 0 });
  });

  it('refuses a wrong token with 401 and a malformed header with 400', async () => {
    expect((await app.request('/-/pause', { method: 'POST', headers: { authorization: 'Bearer not-it' } })).status).toBe(401);
    expect((await app.request('/-/pause', { method: 'POST', headers: { authorization: 'Basic abc' } })).status).toBe(400);
    expect(deps.calls.pause).toBe(0);
  });

  it('allows them with the token', async () => {
    const headers = { authorization: `Bearer ${TOKEN}` };
    expect((await app.request('/-/pause', { method: 'POST', headers })).status).toBe(200);
    expect((await app.request('/-/resume', { method: 'POST', headers })).status).toBe(200);
    expect((await app.request('/-/reload', { method: 'POST', headers })).status).toBe(200);
    expect(deps.calls).toEqual({ reload: 1, pause: 1, resume: 1 });
  });

  it('leaves every endpoint open when no token is configured (the demo)', async () => {
    const open = createOperatorApp(createFakeDeps());
    expect((await open.request('/-/pause', post)).status).toBe(200);
    expect((await open.request('/api/summary')).status).toBe(200);
  });
});

describe('body limit on admin endpoints', () => {
  it('answers 413 to an oversized body on /-/reload without reloading', async () => {
    const deps = createFakeDeps();
    const app = createOperatorApp(deps, { bodyLimitBytes: 10 });
    const response = await app.request('/-/reload', { method: 'POST', body: 'x'.repeat(100) });
    expect(response.status).toBe(413);
    expect(deps.calls.reload).toBe(0);
  });
});
