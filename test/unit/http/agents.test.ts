import { describe, expect, it } from 'vitest';
import { createOperatorApp, type AgentView } from '../../../src/http/index.ts';
import { AGENTS, createFakeDeps } from './fake-deps.ts';
import { json } from './request.ts';

const TOKEN = 'secret-admin-token';

describe('GET /agents/{agentId}', () => {
  it("shows the agent's Engage snapshot, the decision with its rule, desired and acknowledged GC state, last error and timestamps", async () => {
    const response = await createOperatorApp(createFakeDeps()).request('/agents/1003');
    expect(response.status).toBe(200);
    const agent = await json<AgentView>(response);
    expect(agent).toEqual(AGENTS[2]);
    expect(agent.decision?.rule).toEqual({ name: 'ready-other-call', file: 'exas.rules.yaml', line: 55 });
    expect(agent.lastError?.message).toBe('GC rejected the event');
  });

  it('answers 404 for an agent not in scope', async () => {
    const response = await createOperatorApp(createFakeDeps()).request('/agents/9999');
    expect(response.status).toBe(404);
    expect(await json(response)).toEqual({ error: 'agent 9999 is not in scope' });
  });

  it('finds agent ids that need URL encoding', async () => {
    const deps = createFakeDeps();
    const seen: string[] = [];
    deps.agent = (agentId) => (seen.push(agentId), undefined);
    await createOperatorApp(deps).request(`/agents/${encodeURIComponent('emp 7/a')}`);
    expect(seen).toEqual(['emp 7/a']);
  });
});

describe('GET /agents', () => {
  const app = createOperatorApp(createFakeDeps());

  it('lists agents by sync status', async () => {
    for (const status of ['pending', 'error', 'unknown', 'in-sync'] as const) {
      const body = await json<{ total: number; items: AgentView[] }>(await app.request(`/agents?status=${status}`));
      expect(body.total).toBe(1);
      expect(body.items.map((agent) => agent.syncStatus)).toEqual([status]);
    }
  });

  it('paginates with offset and limit', async () => {
    const first = await json<{ total: number; offset: number; limit: number; items: AgentView[] }>(await app.request('/agents?limit=3'));
    expect(first).toMatchObject({ total: 4, offset: 0, limit: 3 });
    expect(first.items.map((agent) => agent.agentId)).toEqual(['1001', '1002', '1003']);
    const second = await json<{ items: AgentView[] }>(await app.request('/agents?offset=3&limit=3'));
    expect(second.items.map((agent) => agent.agentId)).toEqual(['1004']);
  });

  it('filters by agent id text with q, together with the status', async () => {
    const some = await json<{ total: number; items: AgentView[] }>(await app.request('/agents?q=00'));
    expect(some.total).toBe(4);
    const one = await json<{ total: number; items: AgentView[] }>(await app.request('/agents?q=1003'));
    expect(one.items.map((agent) => agent.agentId)).toEqual(['1003']);
    const none = await json<{ total: number; items: AgentView[] }>(await app.request('/agents?q=1003&status=in-sync'));
    expect(none).toMatchObject({ total: 0, items: [] });
    expect((await app.request(`/agents?q=${'x'.repeat(201)}`)).status).toBe(400);
  });

  it('answers 400 for an unknown status or a bad page parameter, naming it', async () => {
    const status = await app.request('/agents?status=happy');
    expect(status.status).toBe(400);
    expect((await json(status))['field']).toBe('status');
    const limit = await app.request('/agents?limit=0');
    expect(limit.status).toBe(400);
    expect((await json(limit))['field']).toBe('limit');
    expect((await app.request('/agents?offset=-1')).status).toBe(400);
    expect((await app.request('/agents?limit=100000')).status).toBe(400);
  });
});

describe('agent endpoints with an admin token', () => {
  it('require the bearer token', async () => {
    const app = createOperatorApp(createFakeDeps(), { adminToken: TOKEN });
    expect((await app.request('/agents')).status).toBe(401);
    expect((await app.request('/agents/1001')).status).toBe(401);
    expect((await app.request('/agents/1001', { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await app.request('/agents', { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });
});
