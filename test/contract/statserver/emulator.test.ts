/** The Stat Server emulator's own surface: control API, auth, subscription validation, value depth, faults. */
import { beforeAll, describe, expect, it } from 'vitest';
import { Crowd, startStatServerEmulator, type StatServerEmulator } from '../../../src/emulators/statserver/index.ts';
import { started } from '../../helpers/servers.ts';
import examples from '../../unit/statserver/fixtures/examples.json' with { type: 'json' };

let emulator: StatServerEmulator;
const auth = { 'x-api-key': 'exas-demo', authorization: 'Bearer exas-demo', 'content-type': 'application/json' };

beforeAll(async () => {
  emulator = await started(() => startStatServerEmulator({ agents: 12, seed: 9 }));
});

async function json(path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${emulator.url}${path}`, init);
  return { status: response.status, body: await response.json() };
}

function subscribe(statistics: object[]) {
  return json('/statistics/v3/subscriptions?verbose=INFO', {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ operationId: crypto.randomUUID(), data: { statistics } }),
  });
}

describe('Stat Server emulator', () => {
  it('serves deterministic agent ids 1001.. and a crowd that a seed reproduces', async () => {
    const { body } = await json('/emulator/agents');
    expect((body as Array<{ agentId: string }>).map((agent) => agent.agentId)).toEqual(
      Array.from({ length: 12 }, (_, index) => String(1001 + index)),
    );
    const a = new Crowd(50, 4);
    const b = new Crowd(50, 4);
    for (let step = 0; step < 100; step += 1) {
      a.step();
      b.step();
    }
    expect(a.agents.map((agent) => a.view(agent))).toEqual(b.agents.map((agent) => b.view(agent)));
    expect(new Crowd(50, 5).agents.map((agent) => agent.state)).not.toEqual(new Crowd(50, 4).agents.map((agent) => agent.state));
  });

  it('PUT /emulator/agents/{id} sets an agent and validates its body', async () => {
    const put = (id: string, body: unknown) => json(`/emulator/agents/${id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(await put('1001', { state: 'NotReady', callType: 'Internal', reason: 'Break' })).toEqual({
      status: 200,
      body: { agentId: '1001', state: 'NotReady', callType: 'Internal', reason: 'Break' },
    });
    expect(emulator.agent('1001')).toEqual({ agentId: '1001', state: 'NotReady', callType: 'Internal', reason: 'Break' });
    expect((await put('1001', { state: 'Busy' })).status).toBe(400);
    expect((await put('1001', { state: 'Ready', callType: 'Video' })).status).toBe(400);
    expect((await put('1001', { state: 'Ready', reason: 3 })).status).toBe(400);
    expect((await put('9999', { state: 'Ready' })).status).toBe(404);
    // A logged-off agent has no call and no reason; Ready keeps no reason.
    expect((await put('1002', { state: 'LoggedOff', callType: 'Inbound', reason: 'Meal' })).body).toMatchObject({ callType: 'None', reason: null });
  });

  it('POST /emulator/simulation and /emulator/faults validate and apply', async () => {
    const post = (path: string, body: unknown) => json(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(await post('/emulator/simulation', { running: true, eventsPerSecond: 5 })).toEqual({ status: 200, body: { running: true, eventsPerSecond: 5 } });
    expect(await post('/emulator/simulation', { running: false })).toEqual({ status: 200, body: { running: false, eventsPerSecond: 5 } });
    expect((await post('/emulator/simulation', { eventsPerSecond: 5 })).status).toBe(400);
    expect((await post('/emulator/faults', { teleport: true })).status).toBe(400);
    expect((await post('/emulator/faults', { invalidAgents: ['1003'] })).status).toBe(200);
    const values = await subscribe([{ statisticId: 'x', objectId: '1003', objectType: 'Agent', name: 'CurrentState' }]);
    expect((values.body as { data: { statistics: Array<{ value: unknown }> } }).data.statistics[0]!.value).toBeNull();
    expect((await post('/emulator/faults', {})).status).toBe(200);
    const after = await subscribe([{ statisticId: 'x', objectId: '1003', objectType: 'Agent', name: 'CurrentState' }]);
    expect((after.body as { data: { statistics: Array<{ value: unknown }> } }).data.statistics[0]!.value).not.toBeNull();
    const status = (await json('/emulator/status')).body as { agents: number; servers: unknown[] };
    expect(status.agents).toBe(12);
    expect(status.servers).toHaveLength(1);
  });

  it('refuses Statistics API calls without the API key and bearer token', async () => {
    expect((await json('/statistics/v3/subscriptions', { method: 'POST', body: '{}' })).status).toBe(401);
    expect((await json('/statistics/v3/subscriptions', { method: 'POST', headers: { ...auth, authorization: 'Bearer nope' }, body: '{}' })).status).toBe(401);
    expect((await fetch(`${emulator.url}/statistics/v3/notifications/handshake`, { method: 'POST' })).status).toBe(401);
  });

  it('accepts the documented subscription request of examples.json (object id mapped to an emulated agent)', async () => {
    const request = examples.statisticsApiV3.createSubscription.request.body;
    const statistics = request.data.statistics.map((statistic) => ({ ...statistic, objectId: '1006' }));
    const { status, body } = await subscribe(statistics);
    expect(status).toBe(200);
    const response = body as { data: { statistics: Array<{ statisticId: string; value: unknown }> }; status: { code: number } };
    expect(response.status.code).toBe(0);
    expect(response.data.statistics.map((item) => item.statisticId)).toEqual(['stat-currentstate-jdoe', 'stat-currentstatereason-jdoe']);
  });

  it('refuses a batch with any statistic Stat Server cannot open, as a whole and without naming it', async () => {
    const good = { statisticId: 'ok', objectId: '1004', objectType: 'Agent', definition: { category: 'CurrentState', subject: 'DNAction', notificationMode: 'Immediate' } };
    for (const bad of [
      { statisticId: 'no-agent', objectId: 'nobody', objectType: 'Agent', name: 'CurrentState' },
      { statisticId: 'bad-category', objectId: '1004', objectType: 'Agent', definition: { category: 'TotalTime', subject: 'DNStatus' } },
      { statisticId: 'bad-mode', objectId: '1004', objectType: 'Agent', definition: { category: 'CurrentState', subject: 'DNStatus', notificationMode: 'Periodical' } },
      { statisticId: 'bad-name', objectId: '1004', objectType: 'Agent', name: 'Nope' },
      { statisticId: 'queue', objectId: '1004', objectType: 'Queue', name: 'CurrentState' },
      { statisticId: 'bad-objects', objectId: '1004', objectType: 'Agent', definition: { category: 'CurrentState', subject: 'DNStatus', objects: 'Queue' } },
    ]) {
      const before = emulator.statisticCount().primary;
      const { status, body } = await subscribe([good, bad]);
      expect(status).toBe(200);
      expect(body).toEqual({ status: { code: 2, detail: {}, message: expect.any(String) }, path: '/statistics/v3/subscriptions' });
      expect(JSON.stringify(body)).not.toContain(bad.statisticId);
      expect(emulator.statisticCount().primary).toBe(before);
    }
    expect((await subscribe(undefined as never)).status).toBe(400);
  });

  it('renders DNStatus without actions and DNAction with actions and reasons (the subject sets the depth)', async () => {
    emulator.setAgent('1005', { state: 'NotReady', callType: 'Inbound', reason: 'Meal' });
    const { body } = await subscribe([
      { statisticId: 's', objectId: '1005', objectType: 'Agent', definition: { category: 'CurrentState', subject: 'DNStatus' } },
      { statisticId: 'a', objectId: '1005', objectType: 'Agent', definition: { category: 'CurrentStateReasons', subject: 'DNAction' } },
    ]);
    const [status, actions] = (body as { data: { statistics: Array<{ value: { status: number; place: { dnStatuses: Array<Record<string, unknown>> } } }> } }).data.statistics;
    expect(status!.value.status).toBe(22);
    expect(status!.value.place.dnStatuses[0]).not.toHaveProperty('actions');
    expect(actions!.value.place.dnStatuses[0]!['actions']).toEqual([
      { action: 'NotReadyForNextCall', time: expect.any(Number), actionDataType: 'NoData', connectionId: null, reasons: { ReasonCode: 'Meal' } },
      { action: 'CallInbound', time: expect.any(Number), actionDataType: 'NoData', connectionId: expect.any(String) },
    ]);
  });
});
