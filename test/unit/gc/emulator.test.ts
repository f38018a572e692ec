import { describe, expect, it } from 'vitest';
import { emulatedAgentIds } from '../../../src/emulators/agent-ids.ts';
import { startGcEmulator, validateAgainstComponent } from '../../../src/emulators/gc/index.ts';
import {
  createGcClient,
  createIdentityResolver,
  createNotificationChannel,
  createPresenceCatalog,
  ensurePrimarySource,
  type PresenceNotification,
  type RoutingStatusNotification,
} from '../../../src/gc/index.ts';
import { SYSTEM_DEFINITIONS } from '../../../src/emulators/gc/presence-definitions.ts';
import { PURECLOUD_SOURCE_ID } from '../../../src/emulators/gc/state.ts';
import { started } from '../../helpers/servers.ts';

const gc = await started(() => startGcEmulator({ usersCount: 1200, budget: 100_000, heartbeatMs: 0 }));
const basic = `Basic ${Buffer.from('exas-demo:exas-demo-secret').toString('base64')}`;

async function token(url = gc.url): Promise<string> {
  const response = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  return ((await response.json()) as { access_token: string }).access_token;
}
const bearer = await token();

function api(path: string, init: { method?: string; body?: unknown; raw?: string; token?: string; url?: string } = {}): Promise<Response> {
  return fetch(`${init.url ?? gc.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${init.token ?? bearer}`, 'content-type': 'application/json' },
    ...(init.raw !== undefined ? { body: init.raw } : init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
}

const userId = gc.userIds()[0] as string;
// Routing-status inject events must name a presence source (as presence events do).
const sourceId = ((await (await api('/api/v2/presence/sources', { method: 'POST', body: { name: 'EXAS emulator test' } })).json()) as { id: string }).id;
const definitionId = (label: string): string => SYSTEM_DEFINITIONS.find((definition) => definition.label === label)!.id;
const event = (overrides: Record<string, unknown> = {}) => ({
  eventId: crypto.randomUUID(),
  eventDateTime: new Date().toISOString(),
  agentId: userId,
  status: 'Idle',
  sourceId,
  ...overrides,
});

describe('GC emulator: users from the shared agent id scheme', () => {
  it('derives external id, username, email and employee id from the Engage agent id', async () => {
    const response = await api(`/api/v2/users/externalid/engage/1001?expand=employerInfo`);
    const user = (await response.json()) as Record<string, unknown>;
    expect(user).toMatchObject({ id: userId, username: 'agent1001@exas.example', email: 'agent1001@exas.example' });
    const page = (await (await api('/api/v2/users?pageSize=2&expand=employerInfo')).json()) as { entities: Array<{ employerInfo: { employeeId: string } }> };
    expect(page.entities.map((entity) => entity.employerInfo.employeeId)).toEqual(['1001', '1002']);
    expect(gc.users()[0]).toEqual({ userId, externalId: '1001', presence: 'Offline', routingStatus: 'OffQueue' });
  });

  it('answers user pages that match the spec', async () => {
    const page = await (await api('/api/v2/users?pageSize=500&pageNumber=3&expand=presence&expand=routingStatus')).json();
    expect(validateAgainstComponent('UserEntityListing', page)).toEqual([]);
    expect(page).toMatchObject({ pageSize: 500, pageNumber: 3, total: 1200, pageCount: 3 });
    expect((page as { entities: unknown[] }).entities).toHaveLength(200);
  });
});

describe('GC emulator: request validation', () => {
  const post = (body: unknown) => api('/api/v2/events/users/routingstatus', { method: 'POST', body });

  it.each([
    ['an empty event list', { userRoutingStatusEvents: [] }],
    ['no event list at all', {}],
    ['an unknown top-level field', { userRoutingStatusEvents: [event()], extra: true }],
    ['a wrong routing status enum', { userRoutingStatusEvents: [event({ status: 'IDLE' })] }],
    ['a missing required event field', { userRoutingStatusEvents: [{ ...event(), sourceId: undefined }] }],
    ['an event id that is not a UUID', { userRoutingStatusEvents: [event({ eventId: 'e-1' })] }],
    ['a malformed eventDateTime', { userRoutingStatusEvents: [event({ eventDateTime: 'yesterday' })] }],
  ])('rejects an inject request with %s as 400 in GC error body shape', async (_name, body) => {
    const response = await post(body);
    expect(response.status).toBe(400);
    const error = (await response.json()) as Record<string, unknown>;
    expect(error).toMatchObject({ code: 'bad.request', status: 400 });
    expect(typeof error['contextId']).toBe('string');
    expect(response.headers.get('inin-correlation-id')).toBe(error['contextId']);
    expect(validateAgainstComponent('ErrorBody', error)).toEqual([]);
  });

  it('rejects a batch over the maximum (101 events) and accepts exactly 100', async () => {
    const ids = gc.userIds().slice(0, 101);
    const over = await post({ userRoutingStatusEvents: ids.map((agentId) => event({ agentId })) });
    expect(over.status).toBe(400);
    const atLimit = await post({ userRoutingStatusEvents: ids.slice(0, 100).map((agentId) => event({ agentId })) });
    expect(atLimit.status).toBe(200);
    expect(await atLimit.json()).toEqual({ errors: [] });
  });

  it('rejects an oversize body with 413 and a body that is not JSON with 400', async () => {
    const big = await post({ userRoutingStatusEvents: [event({ padding: 'x'.repeat(1_100_000) })] });
    expect(big.status).toBe(413);
    const broken = await api('/api/v2/events/users/routingstatus', { method: 'POST', raw: '{"userRoutingStatusEvents": [' });
    expect(broken.status).toBe(400);
  });

  it('reports unknown users per event, not for the whole batch', async () => {
    const good = event();
    const bad = event({ agentId: '00000000-0000-4000-8000-00000000beef' });
    const response = await post({ userRoutingStatusEvents: [good, bad] });
    const body = (await response.json()) as { errors: Array<{ eventId: string; retryable: boolean }> };
    expect(validateAgainstComponent('BatchEventResponse', body)).toEqual([]);
    expect(body.errors).toEqual([expect.objectContaining({ eventId: bad.eventId, retryable: false })]);
  });

  it('stores presence and routing status independently', async () => {
    const user = gc.userIds()[5] as string;
    gc.setUserState(user, { presence: 'Meal' });
    await post({ userRoutingStatusEvents: [event({ agentId: user, status: 'Interacting' })] });
    expect(gc.user(user)).toMatchObject({ presence: 'Meal', routingStatus: 'Interacting' });
  });

  it('lets a client PUT only OFF_QUEUE or IDLE as routing status', async () => {
    const user = gc.userIds()[6] as string;
    expect((await api(`/api/v2/users/${user}/routingstatus`, { method: 'PUT', body: { status: 'IDLE' } })).status).toBe(200);
    expect((await api(`/api/v2/users/${user}/routingstatus`, { method: 'PUT', body: { status: 'INTERACTING' } })).status).toBe(400);
    expect(gc.user(user)?.routingStatus).toBe('Idle');
  });
});

describe('GC emulator: auth, budget and faults', () => {
  it('answers 401 without a valid bearer', async () => {
    expect((await api('/api/v2/presence/definitions', { token: 'nope' })).status).toBe(401);
    const wrong = await fetch(`${gc.url}/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('exas-demo:wrong').toString('base64')}` },
      body: 'grant_type=client_credentials',
    });
    expect(wrong.status).toBe(401);
  });

  it('allows the budget per token in a sliding 60 s window and answers 429 with Retry-After after that', async () => {
    const small = await started(() => startGcEmulator({ usersCount: 1, budget: 5 }));
    const own = await token(small.url);
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let index = 0; index < 7; index += 1) {
      last = await api('/api/v2/presence/definitions', { token: own, url: small.url });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const retryAfter = Number(last?.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(50);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await last?.json()).toMatchObject({ code: 'too.many.requests.retry.after', status: 429 });
    expect(small.stats()).toMatchObject({ rateLimited: 2 });
    // Another token has its own budget.
    expect((await api('/api/v2/presence/definitions', { token: await token(small.url), url: small.url })).status).toBe(200);
  });

  it('injects outages, errors and revoked tokens, and {} clears them', async () => {
    const faulty = await started(() => startGcEmulator({ usersCount: 1 }));
    const own = await token(faulty.url);
    const control = (body: unknown) => fetch(`${faulty.url}/emulator/faults`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    expect((await control({ outageSeconds: 30 })).status).toBe(200);
    expect((await api('/api/v2/presence/definitions', { token: own, url: faulty.url })).status).toBe(503);
    await control({ errorRate: 1 });
    expect((await api('/api/v2/presence/definitions', { token: own, url: faulty.url })).status).toBe(503);
    await control({});
    expect((await api('/api/v2/presence/definitions', { token: own, url: faulty.url })).status).toBe(200);
    await control({ revokeTokens: true });
    expect((await api('/api/v2/presence/definitions', { token: own, url: faulty.url })).status).toBe(401);
    expect((await control({ errorRate: 2 })).status).toBe(400);
    const stats = (await (await fetch(`${faulty.url}/emulator/stats`)).json()) as { byStatus: Record<string, number>; byRoute: Record<string, number> };
    expect(stats.byStatus['503']).toBe(2);
    expect(stats.byRoute['GET /api/v2/presence/definitions']).toBe(4);
  });

  it('inject batches refuse a repeated eventId, and an emulated transient failure is retryable and changes nothing', async () => {
    const faulty = await started(() => startGcEmulator({ usersCount: 1 }));
    const own = await token(faulty.url);
    const [user] = faulty.userIds() as [string];
    const inject = async (endpoint: 'presence' | 'routingstatus', body: unknown) =>
      ((await (await api(`/api/v2/events/users/${endpoint}`, { method: 'POST', body, token: own, url: faulty.url })).json()) as { errors: Array<{ eventId: string; message: string; retryable: boolean }> }).errors;
    const presence = { eventId: crypto.randomUUID(), eventDateTime: new Date().toISOString(), userId: user, sourceId: PURECLOUD_SOURCE_ID, presenceDefinitionId: definitionId('Break') };
    const routing = event({ agentId: user, status: 'Interacting', sourceId: PURECLOUD_SOURCE_ID });
    expect(await inject('presence', { userPresenceEvents: [presence, presence] })).toEqual([{ eventId: presence.eventId, message: 'Duplicate eventId in batch', retryable: false }]);
    expect(await inject('routingstatus', { userRoutingStatusEvents: [routing, routing] })).toEqual([{ eventId: routing.eventId, message: 'Duplicate eventId in batch', retryable: false }]);
    expect(faulty.user(user)).toMatchObject({ presence: 'Break', routingStatus: 'Interacting' });

    await fetch(`${faulty.url}/emulator/faults`, { method: 'POST', body: JSON.stringify({ eventErrorRate: 1 }), headers: { 'content-type': 'application/json' } });
    const meal = { ...presence, eventId: crypto.randomUUID(), presenceDefinitionId: definitionId('Meal') };
    const idle = event({ agentId: user, status: 'Idle', sourceId: PURECLOUD_SOURCE_ID });
    const unknown = event({ agentId: '00000000-0000-4000-8000-00000000beef', sourceId: PURECLOUD_SOURCE_ID });
    expect(await inject('presence', { userPresenceEvents: [meal] })).toEqual([{ eventId: meal.eventId, message: 'Transient failure processing event (emulated)', retryable: true }]);
    // A refused event is refused for what it is, not reported as transient.
    expect(await inject('routingstatus', { userRoutingStatusEvents: [idle, unknown] })).toEqual([
      { eventId: idle.eventId, message: 'Transient failure processing event (emulated)', retryable: true },
      { eventId: unknown.eventId, message: `User ${unknown.agentId} not found`, retryable: false },
    ]);
    expect(faulty.user(user)).toMatchObject({ presence: 'Break', routingStatus: 'Interacting' });
  });

  it('the client recovers from revoked tokens by logging in again', async () => {
    const client = createGcClient({ baseUrl: gc.url, clientId: 'exas-demo', clientSecret: 'exas-demo-secret' });
    await client.getPresenceSources();
    const other = await started(() => startGcEmulator({ usersCount: 1 }));
    const otherClient = createGcClient({ baseUrl: other.url, clientId: 'exas-demo', clientSecret: 'exas-demo-secret' });
    await otherClient.getPresenceSources();
    other.setFaults({ revokeTokens: true });
    await expect(otherClient.getPresenceSources()).resolves.toEqual([]);
    expect(otherClient.stats().tokenRequests).toBe(2);
  });
});

describe('identity, primary source and notifications against the emulator', () => {
  const client = createGcClient({ baseUrl: gc.url, clientId: 'exas-demo', clientSecret: 'exas-demo-secret', requestsPerMinute: 100_000 });

  it('maps 1,200 agents by employee id with 3 listing requests, not 1,200', async () => {
    const identity = createIdentityResolver(client, { key: 'employeeId' });
    const agents = emulatedAgentIds(1200);
    const users = await identity.resolve([...agents, '999999']);
    expect(users.size).toBe(1200);
    expect(users.get('1001')).toBe(userId);
    expect(identity.unmatched()).toEqual(['999999']);
    expect(identity.stats().requests).toBe(3);
  });

  it('maps by username with the user search, 100 agents per request', async () => {
    const identity = createIdentityResolver(client, { key: 'username', mode: 'lookup', keyOf: (agentId) => `agent${agentId}@exas.example` });
    const users = await identity.resolve(emulatedAgentIds(150));
    expect(users.size).toBe(150);
    expect(identity.stats().requests).toBe(2);
  });

  it('pays for an external id lookup once, persisting answers across restarts', async () => {
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const cachePath = `${await mkdtemp(`${tmpdir()}/exas-identity-`)}/identity.json`;
    const first = createIdentityResolver(client, { key: 'externalId', cachePath });
    expect((await first.resolve(['1001', '1002', '424242'])).size).toBe(2);
    expect(first.stats().requests).toBe(3);
    const second = createIdentityResolver(client, { key: 'externalId', cachePath });
    const again = await second.resolve(['1001', '1002', '424242']);
    expect(again.get('1002')).toBe(gc.userIds()[1]);
    expect(second.stats()).toMatchObject({ requests: 0, cacheHits: 3 });
  });

  it('makes EXAS presence source primary where it is not, and injected presence then shows', async () => {
    const strict = await started(() => startGcEmulator({ usersCount: 3, enforcePrimarySource: true }));
    const strictClient = createGcClient({ baseUrl: strict.url, clientId: 'exas-demo', clientSecret: 'exas-demo-secret' });
    const catalog = createPresenceCatalog(strictClient);
    await catalog.load();
    const source = await strictClient.ensurePresenceSource('EXAS');
    expect((await strictClient.ensurePresenceSource('EXAS')).id).toBe(source.id);
    const [first] = strict.userIds() as [string];
    await strictClient.injectPresence([{ userId: first, presenceDefinitionId: catalog.resolve('Break'), sourceId: source.id }]);
    expect(strict.user(first)?.presence).toBe('Offline');
    const checkOnly = await ensurePrimarySource(strictClient, strict.userIds(), source.id, { fix: false });
    expect(checkOnly.notPrimary).toHaveLength(3);
    const report = await ensurePrimarySource(strictClient, strict.userIds(), source.id);
    expect(report).toMatchObject({ checked: 3, madePrimary: 3, alreadyPrimary: 0 });
    expect(strict.user(first)?.presence).toBe('Break');
    expect((await ensurePrimarySource(strictClient, [first], source.id)).alreadyPrimary).toBe(1);
  });

  it('delivers presence and routing status changes made by someone else over the notification channel', async () => {
    const catalog = createPresenceCatalog(client);
    await catalog.load();
    const channel = createNotificationChannel(client, { catalog });
    const watched = gc.userIds()[1100] as string; // untouched by the tests above
    const presence = new Promise<PresenceNotification>((resolve) => channel.on('presence', resolve));
    const routing = new Promise<RoutingStatusNotification>((resolve) => channel.on('routingStatus', resolve));
    await channel.open();
    await channel.subscribe([watched]);
    expect(channel.capacity).toBe(499);
    const response = await fetch(`${gc.url}/emulator/users/${watched}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ presence: 'Coaching', routingStatus: 'Idle' }),
    });
    expect(response.status).toBe(200);
    expect(await presence).toMatchObject({ userId: watched, presence: 'Coaching', systemPresence: 'Training' });
    expect(await routing).toMatchObject({ userId: watched, routingStatus: 'Idle' });
    const heartbeat = new Promise((resolve) => channel.on('heartbeat', resolve));
    gc.sendHeartbeats();
    await heartbeat;
    await channel.close();
  });

  it('enforces 1,000 topics per channel and 20 channels per client', async () => {
    const response = await api('/api/v2/notifications/channels', { method: 'POST' });
    const { id } = (await response.json()) as { id: string };
    const topics = gc.userIds().slice(0, 501).flatMap((user) => [{ id: `v2.users.${user}.presence` }, { id: `v2.users.${user}.routingStatus` }]);
    const over = await api(`/api/v2/notifications/channels/${id}/subscriptions`, { method: 'PUT', body: topics });
    expect(over.status).toBe(400);
    const fits = await api(`/api/v2/notifications/channels/${id}/subscriptions`, { method: 'PUT', body: topics.slice(0, 1000) });
    expect(fits.status).toBe(200);
    for (let index = 0; index < 20; index += 1) await api('/api/v2/notifications/channels', { method: 'POST' });
    expect((await api(`/api/v2/notifications/channels/${id}`, { method: 'HEAD' })).status).toBe(404);
    expect(gc.channels().channels).toBeLessThanOrEqual(21);
  });
});

describe('scope from GC and from a file', () => {
  it('lists every user by employee id in pages of 500', async () => {
    const { listUsersByKey } = await import('../../../src/gc/index.ts');
    const client = createGcClient({ baseUrl: gc.url, clientId: 'exas-demo', clientSecret: 'exas-demo-secret', requestsPerMinute: 100_000 });
    const users = await listUsersByKey(client, 'employeeId');
    expect(users.size).toBe(1200);
    expect(users.get('1001')).toBe(userId);
    expect(client.stats().byEndpoint['GET /api/v2/users']?.requests).toBe(3);
  });

  it('reads agent ids from a scope file: one per line with comments, or a JSON array', async () => {
    const { loadScopeFile } = await import('../../../src/gc/index.ts');
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(`${tmpdir()}/exas-scope-`);
    await writeFile(`${dir}/agents.txt`, '# synced by EXCS\n1001\n1002  # team A\n\n1003\n');
    await writeFile(`${dir}/agents.json`, '["1001", 1002]');
    expect(await loadScopeFile(`${dir}/agents.txt`)).toEqual(['1001', '1002', '1003']);
    expect(await loadScopeFile(`${dir}/agents.json`)).toEqual(['1001', '1002']);
  });
});

describe('token lifetime against the emulator', () => {
  it('fetches a new token before the emulator would refuse the old one, so no call sees a 401', async () => {
    let clock = Date.now();
    const shortLived = await started(() => startGcEmulator({ usersCount: 1, tokenTtlSeconds: 100, heartbeatMs: 0, now: () => clock }));
    const client = createGcClient({ baseUrl: shortLived.url, clientId: 'exas-demo', clientSecret: 'exas-demo-secret', now: () => clock });
    await client.getPresenceSources();
    clock += 91_000;
    await client.getPresenceSources();
    clock += 91_000;
    await client.getPresenceSources();
    expect(client.stats()).toMatchObject({ tokenRequests: 3, retries: 0 });
    expect(shortLived.stats().byStatus['401']).toBeUndefined();
  });
});

describe('emulator notification channels', () => {
  it('points connectUri at the host the client reached (a proxy in front of the emulator), else at the emulator', async () => {
    const { request } = await import('node:http');
    const viaProxy = await new Promise<{ connectUri: string }>((resolve, reject) => {
      const url = new URL(`${gc.url}/api/v2/notifications/channels`);
      const req = request(url, { method: 'POST', headers: { host: '127.0.0.1:4711', authorization: `Bearer ${bearer}` } }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => resolve(JSON.parse(text) as { connectUri: string }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(viaProxy.connectUri).toMatch(/^ws:\/\/127\.0\.0\.1:4711\/channels\/[\w-]+$/);
    const direct = (await (await api('/api/v2/notifications/channels', { method: 'POST' })).json()) as { connectUri: string };
    expect(direct.connectUri.startsWith(`${gc.url.replace('http://', 'ws://')}/channels/`)).toBe(true);
  });
});

describe('emulator change times', () => {
  it('tells when each field of what a user shows last changed: applied time, not the event time the writer sent', async () => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const timed = await started(() => startGcEmulator({ usersCount: 2, now: () => clock }));
    const own = await token(timed.url);
    const [user, other] = timed.userIds() as [string, string];
    const started0 = clock;
    expect(timed.changedAt(user)).toEqual({ presence: started0, routingStatus: started0 });
    expect(timed.changedAt('00000000-0000-4000-8000-00000000beef')).toBeUndefined();

    clock += 1_000;
    // The event claims an hour-old time; the change time is when the emulator applied it.
    const presence = { eventId: crypto.randomUUID(), eventDateTime: new Date(clock - 3_600_000).toISOString(), userId: user, sourceId: PURECLOUD_SOURCE_ID, presenceDefinitionId: definitionId('Break') };
    await api('/api/v2/events/users/presence', { method: 'POST', body: { userPresenceEvents: [presence] }, token: own, url: timed.url });
    expect(timed.changedAt(user)).toEqual({ presence: started0 + 1_000, routingStatus: started0 });

    clock += 1_000;
    const routing = event({ agentId: user, status: 'Interacting', sourceId: PURECLOUD_SOURCE_ID });
    await api('/api/v2/events/users/routingstatus', { method: 'POST', body: { userRoutingStatusEvents: [routing] }, token: own, url: timed.url });
    expect(timed.changedAt(user)).toEqual({ presence: started0 + 1_000, routingStatus: started0 + 2_000 });

    // Writing what the user already shows changes nothing; someone else's change counts like an inject.
    clock += 1_000;
    timed.setUserState(user, { presence: 'Break', routingStatus: 'Interacting' });
    expect(timed.changedAt(user)).toEqual({ presence: started0 + 1_000, routingStatus: started0 + 2_000 });
    timed.setUserState(other, { presence: 'Meal' });
    expect(timed.changedAt(other)).toEqual({ presence: started0 + 3_000, routingStatus: started0 });
  });
});

describe('emulator request counting', () => {
  it('counts a request whose client left mid-body as 499 (client closed request), not as a 400 bad request', async () => {
    const { connect } = await import('node:net');
    const before = (await (await fetch(`${gc.url}/emulator/stats`)).json()) as { byStatus: Record<string, number> };
    const socket = connect(Number(new URL(gc.url).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const head = `POST /api/v2/events/users/presence HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${bearer}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n`;
    await new Promise((resolve) => socket.write(`${head}{"userPresenceEvents":[`, resolve));
    socket.destroy();
    const counted = async (): Promise<Record<string, number>> => ((await (await fetch(`${gc.url}/emulator/stats`)).json()) as { byStatus: Record<string, number> }).byStatus;
    let after = await counted();
    // The emulator counts the request once the server notices the closed socket; poll its stats for that.
    for (let attempt = 0; attempt < 100 && (after['499'] ?? 0) === (before.byStatus['499'] ?? 0); attempt += 1) {
      await new Promise((resolve) => setImmediate(resolve));
      after = await counted();
    }
    expect((after['499'] ?? 0) - (before.byStatus['499'] ?? 0)).toBe(1);
    expect(after['400'] ?? 0).toBe(before.byStatus['400'] ?? 0);
  });
});

describe('emulator payloads match the spec subset', () => {
  it('token answers match OAuthTokenResponse', async () => {
    const response = await fetch(`${gc.url}/oauth/token`, { method: 'POST', headers: { authorization: basic }, body: 'grant_type=client_credentials' });
    expect(validateAgainstComponent('OAuthTokenResponse', await response.json())).toEqual([]);
  });

  it('notification frames match NotificationEnvelope and their topic payload schemas', async () => {
    const { WebSocket } = await import('ws');
    const channel = (await (await api('/api/v2/notifications/channels', { method: 'POST' })).json()) as { id: string; connectUri: string };
    const watched = gc.userIds()[1150] as string;
    await api(`/api/v2/notifications/channels/${channel.id}/subscriptions`, { method: 'PUT', body: [{ id: `v2.users.${watched}?presence&routingStatus` }] });
    const socket = new WebSocket(channel.connectUri);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const frames: Array<{ topicName: string; eventBody: unknown }> = [];
    const three = new Promise<void>((resolve) =>
      socket.on('message', (data) => {
        frames.push(JSON.parse(String(data)) as { topicName: string; eventBody: unknown });
        if (frames.length === 3) resolve();
      }),
    );
    gc.setUserState(watched, { presence: 'OnQueue', routingStatus: 'Idle' });
    socket.send(JSON.stringify({ message: 'ping' }));
    await three;
    socket.close();
    const byTopic = new Map(frames.map((frame) => [frame.topicName, frame]));
    for (const frame of frames) expect(validateAgainstComponent('NotificationEnvelope', frame)).toEqual([]);
    const presence = byTopic.get(`v2.users.${watched}.presence`);
    expect(validateAgainstComponent('PresenceEventUserPresence', presence?.eventBody)).toEqual([]);
    expect(presence?.eventBody).toMatchObject({ presenceDefinition: { systemPresence: 'ON_QUEUE' }, source: 'PURECLOUD', primary: true });
    const routing = byTopic.get(`v2.users.${watched}.routingStatus`);
    expect(validateAgainstComponent('UserRoutingStatusUserRoutingStatus', routing?.eventBody)).toEqual([]);
    expect(routing?.eventBody).toMatchObject({ id: watched, routingStatus: { status: 'IDLE' } });
    expect(byTopic.get('channel.metadata')?.eventBody).toEqual({ message: 'pong' });
  });
});
