import { describe, expect, it } from 'vitest';
import { createOperatorApp } from '../../../src/http/index.ts';
import { createFakeDeps } from './fake-deps.ts';
import { json } from './request.ts';

const TOKEN = 'secret-admin-token';

describe('GET /livez', () => {
  it('answers 200 while the process is alive, even when nothing else is ready', async () => {
    const deps = createFakeDeps();
    deps.readinessState = { rulesLoaded: false, statServerConnected: false, gcTokenValid: false, gcReachable: false, initialResyncDone: false, paused: true };
    const response = await createOperatorApp(deps).request('/livez');
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({ status: 'alive' });
  });
});

describe('GET /readyz', () => {
  it('answers 200 with every check when rules are loaded, Stat Server connected, the GC token valid, the initial resync done and not paused', async () => {
    const response = await createOperatorApp(createFakeDeps()).request('/readyz');
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({
      ready: true,
      checks: { rulesLoaded: true, statServerConnected: true, gcTokenValid: true, gcReachable: true, initialResyncDone: true, paused: false },
      notReady: [],
    });
  });

  it('answers 503 naming each condition that is not met', async () => {
    const deps = createFakeDeps();
    deps.readinessState = { rulesLoaded: true, statServerConnected: false, gcTokenValid: true, gcReachable: true, initialResyncDone: false, paused: false };
    const response = await createOperatorApp(deps).request('/readyz');
    expect(response.status).toBe(503);
    expect((await json(response))['notReady']).toEqual(['statServerConnected', 'initialResyncDone']);
  });

  it('names a GC outage gcReachable, apart from a token GC refuses (gcTokenValid)', async () => {
    const deps = createFakeDeps();
    deps.readinessState = { ...deps.readinessState, gcReachable: false };
    const outage = await createOperatorApp(deps).request('/readyz');
    expect(outage.status).toBe(503);
    expect((await json(outage))['notReady']).toEqual(['gcReachable']);
    deps.readinessState = { ...deps.readinessState, gcReachable: true, gcTokenValid: false };
    expect((await json(await createOperatorApp(deps).request('/readyz')))['notReady']).toEqual(['gcTokenValid']);
  });

  it('answers 503 with notPaused while writes are paused', async () => {
    const deps = createFakeDeps();
    deps.pause();
    const response = await createOperatorApp(deps).request('/readyz');
    expect(response.status).toBe(503);
    expect((await json(response))['notReady']).toEqual(['notPaused']);
  });
});

describe('probe protection', () => {
  it('leaves /livez, /readyz and /metrics open by default even when an admin token is set', async () => {
    const app = createOperatorApp(createFakeDeps(), { adminToken: TOKEN });
    for (const path of ['/livez', '/readyz', '/metrics']) expect((await app.request(path)).status).toBe(200);
  });

  it('requires the token on /livez, /readyz and /metrics with protectProbes', async () => {
    const app = createOperatorApp(createFakeDeps(), { adminToken: TOKEN, protectProbes: true });
    for (const path of ['/livez', '/readyz', '/metrics']) {
      const denied = await app.request(path);
      expect(denied.status).toBe(401);
      expect(denied.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await app.request(path, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    }
  });
});

describe('unknown endpoints', () => {
  it('answer 404 with a JSON error naming the method and path', async () => {
    const response = await createOperatorApp(createFakeDeps()).request('/nope', { method: 'DELETE' });
    expect(response.status).toBe(404);
    expect(await json(response)).toEqual({ error: 'no such endpoint: DELETE /nope' });
  });
});

describe('options', () => {
  it('rejects a body limit that is not a positive integer, naming the option', () => {
    expect(() => createOperatorApp(createFakeDeps(), { bodyLimitBytes: 0 })).toThrow(/bodyLimitBytes/);
  });

  it('rejects protectProbes without an admin token', () => {
    expect(() => createOperatorApp(createFakeDeps(), { protectProbes: true })).toThrow(/protectProbes/);
  });

  it('rejects an admin token bearer auth could never match', () => {
    expect(() => createOperatorApp(createFakeDeps(), { adminToken: 'has space' })).toThrow(/adminToken/);
  });
});
