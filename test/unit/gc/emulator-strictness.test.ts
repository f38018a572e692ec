import { describe, expect, it } from 'vitest';
import { EXAS_PERMISSIONS, startGcEmulator, validateAgainstComponent, type GcEmulatorOptions } from '../../../src/emulators/gc/index.ts';
import { SYSTEM_DEFINITIONS } from '../../../src/emulators/gc/presence-definitions.ts';
import { started } from '../../helpers/servers.ts';

const basic = (clientId: string, secret: string) => `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;

async function tokenOf(url: string, clientId = 'exas-demo', secret = 'exas-demo-secret'): Promise<string> {
  const response = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { authorization: basic(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

/** An emulator, a token of its default client, and a JSON caller. */
async function org(options: GcEmulatorOptions = {}) {
  const gc = await started(() => startGcEmulator({ usersCount: 120, heartbeatMs: 0, ...options }));
  const bearer = await tokenOf(gc.url);
  const api = (path: string, init: { method?: string; body?: unknown; raw?: string; token?: string } = {}) =>
    fetch(`${gc.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${init.token ?? bearer}`, 'content-type': 'application/json' },
      ...(init.raw !== undefined ? { body: init.raw } : init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
  const control = (path: string, init: { method?: string; body?: unknown } = {}) =>
    fetch(`${gc.url}/emulator${path}`, {
      method: init.method ?? 'GET',
      headers: { 'content-type': 'application/json' },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
  const source = (await (await api('/api/v2/presence/sources', { method: 'POST', body: { name: 'EXAS' } })).json()) as { id: string };
  return { gc, api, control, sourceId: source.id };
}

const definitionId = (label: string): string => SYSTEM_DEFINITIONS.find((definition) => definition.label === label)!.id;
const routingEvent = (agentId: string, sourceId: string, status = 'Idle') => ({
  eventId: crypto.randomUUID(),
  eventDateTime: new Date().toISOString(),
  agentId,
  status,
  sourceId,
});
const presenceEvent = (userId: string, sourceId: string, label = 'Busy') => ({
  eventId: crypto.randomUUID(),
  eventDateTime: new Date().toISOString(),
  userId,
  sourceId,
  presenceDefinitionId: definitionId(label),
});

describe('GC emulator (strict by default): permissions', () => {
  it('grants every client exactly what EXAS needs by default, readable through the control API', async () => {
    const { gc, control } = await org();
    const view = (await (await control('/clients/exas-demo/permissions')).json()) as { permissions: string[]; enforced: boolean };
    expect(view).toEqual({ clientId: 'exas-demo', permissions: [...EXAS_PERMISSIONS], enforced: true });
    expect(EXAS_PERMISSIONS).toEqual([
      'directory:user:view',
      'presence:presenceDefinition:view',
      'presence:source:add',
      'presence:source:view',
      'presence:userPresence:edit',
      'presence:userPresence:inject',
      'presence:userPrimarySource:edit',
      'presence:userPrimarySource:view',
      'routing:routingstatus:inject',
    ]);
    expect(gc.clientPermissions('exas-demo')).toEqual([...EXAS_PERMISSIONS]);
    expect((await control('/clients/nobody/permissions')).status).toBe(404);
  });

  it('answers 403 missing.any.permissions naming the permission once it is removed, and 200 again once granted', async () => {
    const { gc, api, control, sourceId } = await org();
    const userId = gc.userIds()[0] as string;
    const inject = () => api('/api/v2/events/users/presence', { method: 'POST', body: { userPresenceEvents: [presenceEvent(userId, sourceId)] } });
    expect((await inject()).status).toBe(200);

    const without = EXAS_PERMISSIONS.filter((permission) => permission !== 'presence:userPresence:inject');
    const put = await control('/clients/exas-demo/permissions', { method: 'PUT', body: { permissions: without } });
    expect(put.status).toBe(200);
    expect(((await put.json()) as { permissions: string[] }).permissions).not.toContain('presence:userPresence:inject');

    const denied = await inject();
    expect(denied.status).toBe(403);
    const body = (await denied.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: 403,
      code: 'missing.any.permissions',
      messageParams: { permissions: '[presence:userPresence:inject]' },
    });
    expect(body['message']).toContain('presence:userPresence:inject');
    expect(denied.headers.get('inin-correlation-id')).toBe(body['contextId']);
    expect(validateAgainstComponent('ErrorBody', body)).toEqual([]);
    // Nothing was applied.
    expect(gc.stats().byStatus['403']).toBe(1);

    gc.setClientPermissions('exas-demo', EXAS_PERMISSIONS);
    expect((await inject()).status).toBe(200);
  });

  it('answers missing.permissions for an operation that needs all of its permissions (SDK "Requires ALL")', async () => {
    const { gc, api } = await org();
    gc.setClientPermissions('exas-demo', []);
    const response = await api(`/api/v2/presence/users/${gc.userIds()[0]}/primarysource`);
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ code: 'missing.permissions', messageParams: { permissions: '[presence:userPrimarySource:view]' } });
  });

  it.each([
    ['GET', '/api/v2/presence/definitions', undefined, 'presence:presenceDefinition:view'],
    ['GET', '/api/v2/presence/sources', undefined, 'presence:source:view'],
    ['POST', '/api/v2/presence/sources', { name: 'Other' }, 'presence:source:add'],
    ['PUT', '/api/v2/presence/users/{user}/primarysource', { sourceId: 'purecloud' }, 'presence:userPrimarySource:edit'],
    ['PATCH', '/api/v2/users/{user}/presences/purecloud', { presenceDefinition: { id: definitionId('Busy') } }, 'presence:userPresence:edit'],
    ['POST', '/api/v2/users/search', { query: [{ type: 'EXACT', fields: ['email'], value: 'agent1001@exas.example' }] }, 'directory:user:view'],
  ])('checks %s %s (needs %s)', async (method, template, body, permission) => {
    const { gc, api } = await org();
    const path = template.replace('{user}', gc.userIds()[0] as string);
    gc.setClientPermissions('exas-demo', EXAS_PERMISSIONS.filter((granted) => granted !== permission));
    const denied = await api(path, { method, ...(body === undefined ? {} : { body }) });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { message: string }).message).toContain(permission);
    gc.setClientPermissions('exas-demo', [permission]);
    expect((await api(path, { method, ...(body === undefined ? {} : { body }) })).status).toBe(200);
  });

  it('checks the permissions of the client whose token is used, not of others', async () => {
    const { gc, api } = await org({
      clients: [
        { clientId: 'exas-demo', clientSecret: 'exas-demo-secret' },
        { clientId: 'reader', clientSecret: 'reader-secret', permissions: ['presence:presenceDefinition:view'] },
      ],
    });
    const reader = await tokenOf(gc.url, 'reader', 'reader-secret');
    expect((await api('/api/v2/presence/definitions', { token: reader })).status).toBe(200);
    expect((await api('/api/v2/presence/sources', { token: reader })).status).toBe(403);
    expect((await api('/api/v2/presence/sources')).status).toBe(200);
  });

  it('refuses malformed permission updates with a clear error and keeps the old ones', async () => {
    const { gc, control } = await org();
    for (const body of [{}, { permissions: 'presence:source:view' }, { permissions: ['not a permission'] }, { permissions: [], extra: 1 }]) {
      const response = await control('/clients/exas-demo/permissions', { method: 'PUT', body });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(/permission|field/);
    }
    expect(gc.clientPermissions('exas-demo')).toEqual([...EXAS_PERMISSIONS]);
  });
});

describe('GC emulator (strict by default): limits and validation', () => {
  it('answers 413 above 512,000 bytes and accepts a body just under it', async () => {
    const { gc, api, sourceId } = await org();
    const userId = gc.userIds()[0] as string;
    const padded = (size: number): string => {
      const base = JSON.stringify({ userPresenceEvents: [{ ...presenceEvent(userId, sourceId), message: '' }] });
      return base.replace('"message":""', `"message":"${'x'.repeat(size - base.length)}"`);
    };
    const over = await api('/api/v2/events/users/presence', { method: 'POST', raw: padded(512_001) });
    expect(over.status).toBe(413);
    expect(await over.json()).toMatchObject({ status: 413, code: 'request.entity.too.large' });
    // 512,000 bytes pass the size check (the body is then judged on its content).
    expect((await api('/api/v2/events/users/presence', { method: 'POST', raw: padded(512_000) })).status).not.toBe(413);
  });

  it('answers 400 bad.request for an inject batch of 101 events and accepts 100', async () => {
    const { gc, api, sourceId } = await org();
    const ids = gc.userIds().slice(0, 101);
    const over = await api('/api/v2/events/users/routingstatus', { method: 'POST', body: { userRoutingStatusEvents: ids.map((id) => routingEvent(id, sourceId)) } });
    expect(over.status).toBe(400);
    const body = (await over.json()) as { code: string; message: string };
    expect(body.code).toBe('bad.request');
    expect(body.message).toContain('at most 100');
    const atLimit = await api('/api/v2/events/users/routingstatus', { method: 'POST', body: { userRoutingStatusEvents: ids.slice(0, 100).map((id) => routingEvent(id, sourceId)) } });
    expect(await atLimit.json()).toEqual({ errors: [] });
  });

  it('refuses a routing-status inject event whose sourceId names no presence source, per event', async () => {
    const { gc, api, sourceId } = await org();
    const [good, bad] = [routingEvent(gc.userIds()[0] as string, sourceId), routingEvent(gc.userIds()[1] as string, crypto.randomUUID())];
    const response = await api('/api/v2/events/users/routingstatus', { method: 'POST', body: { userRoutingStatusEvents: [good, bad] } });
    const body = (await response.json()) as { errors: Array<{ eventId: string; message: string; retryable: boolean }> };
    expect(body.errors).toEqual([{ eventId: bad.eventId, message: expect.stringContaining('Presence source') as string, retryable: false }]);
    expect(gc.user(gc.userIds()[0] as string)?.routingStatus).toBe('Idle');
    expect(gc.user(gc.userIds()[1] as string)?.routingStatus).toBe('OffQueue');
  });
});

describe('GC emulator: --lenient restores the kinder behaviour', () => {
  it('checks no permission, takes 1 MiB bodies and any routing-status sourceId', async () => {
    const { gc, api, control } = await org({ lenient: true });
    gc.setClientPermissions('exas-demo', []);
    expect((await api('/api/v2/presence/definitions')).status).toBe(200);
    expect(((await (await control('/clients/exas-demo/permissions')).json()) as { enforced: boolean }).enforced).toBe(false);
    const userId = gc.userIds()[0] as string;
    const response = await api('/api/v2/events/users/routingstatus', {
      method: 'POST',
      body: { userRoutingStatusEvents: [routingEvent(userId, 'any')] },
    });
    expect(await response.json()).toEqual({ errors: [] });
    const big = JSON.stringify({ userRoutingStatusEvents: [{ ...routingEvent(userId, 'any'), status: 'Idle' }], pad: 'x'.repeat(600_000) });
    // Over GC's limit but under the lenient one: refused for its content (unknown field), not its size.
    expect((await api('/api/v2/events/users/routingstatus', { method: 'POST', raw: big })).status).toBe(400);
  });
});

describe('GC emulator: the opt-in native rule "Off Queue unless On Queue" on injected state', () => {
  it('is off by default: injected presence and routing status are kept apart', async () => {
    const { gc, api, sourceId } = await org();
    const userId = gc.userIds()[2] as string;
    gc.setUserState(userId, { presence: 'Busy' });
    await api('/api/v2/events/users/routingstatus', { method: 'POST', body: { userRoutingStatusEvents: [routingEvent(userId, sourceId, 'Interacting')] } });
    expect(gc.user(userId)).toMatchObject({ presence: 'Busy', routingStatus: 'Interacting' });
  });

  it('when on, keeps routing status Off Queue while presence is not On Queue, and drops it when presence leaves On Queue', async () => {
    const { gc, api, sourceId } = await org({ offQueueUnlessOnQueue: true });
    const userId = gc.userIds()[3] as string;
    const changes: string[] = [];
    gc.onUserChange((id, part, view) => {
      if (id === userId) changes.push(`${part}:${part === 'presence' ? view.presence : view.routingStatus}`);
    });
    gc.setUserState(userId, { presence: 'Busy' });
    const refused = await api('/api/v2/events/users/routingstatus', { method: 'POST', body: { userRoutingStatusEvents: [routingEvent(userId, sourceId, 'Interacting')] } });
    expect(await refused.json()).toEqual({ errors: [] });
    expect(gc.user(userId)?.routingStatus).toBe('OffQueue');

    gc.setUserState(userId, { presence: 'OnQueue' });
    await api('/api/v2/events/users/routingstatus', { method: 'POST', body: { userRoutingStatusEvents: [routingEvent(userId, sourceId, 'Interacting')] } });
    expect(gc.user(userId)).toMatchObject({ presence: 'OnQueue', routingStatus: 'Interacting' });

    gc.setUserState(userId, { presence: 'Meal' });
    expect(gc.user(userId)).toMatchObject({ presence: 'Meal', routingStatus: 'OffQueue' });
    expect(changes).toEqual(['presence:Busy', 'presence:OnQueue', 'routingStatus:Interacting', 'presence:Meal', 'routingStatus:OffQueue']);
  });
});
