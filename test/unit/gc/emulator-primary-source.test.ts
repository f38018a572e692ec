/**
 * The GC emulator's primary presence source, as real GC: a user shows their primary source's presence only;
 * every user starts with PURECLOUD primary (a new org) unless the emulator starts with `primarySourceFor`;
 * `lenient` restores the kinder first build (the source written last shows).
 */
import { describe, expect, it } from 'vitest';
import { startGcEmulator, type GcEmulator } from '../../../src/emulators/gc/index.ts';
import { createGcClient, createPresenceCatalog, type GcClient } from '../../../src/gc/index.ts';
import { started } from '../../helpers/servers.ts';

async function getJson(gc: GcEmulator, path: string): Promise<unknown> {
  const basic = `Basic ${Buffer.from('exas-demo:exas-demo-secret').toString('base64')}`;
  const login = await fetch(`${gc.url}/oauth/token`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
  const { access_token: token } = (await login.json()) as { access_token: string };
  const response = await fetch(`${gc.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  return response.json();
}

async function connect(gc: GcEmulator): Promise<{ client: GcClient; definition: (name: string) => string }> {
  const client = createGcClient({ baseUrl: gc.url, clientId: 'exas-demo', clientSecret: 'exas-demo-secret' });
  const catalog = createPresenceCatalog(client);
  await catalog.load();
  return { client, definition: (name) => catalog.resolve(name) };
}

describe('GC emulator: primary presence source', () => {
  it('by default shows the primary source only: an inject under a new source stays invisible until it is made primary', async () => {
    const gc = await started(() => startGcEmulator({ usersCount: 2, heartbeatMs: 0 }));
    const { client, definition } = await connect(gc);
    const source = await client.ensurePresenceSource('EXAS');
    const [user] = gc.userIds() as [string];
    expect(gc.primarySourceOf(user)).toBe(gc.sources().find((entry) => entry.name === 'PURECLOUD')?.id);
    expect(await client.injectPresence([{ userId: user, presenceDefinitionId: definition('Break'), sourceId: source.id }])).toEqual([]);
    expect(gc.user(user)?.presence).toBe('Offline');
    // GET .../presences/{sourceId} answers that source, not what the user shows.
    const own = (await getJson(gc, `/api/v2/users/${user}/presences/${source.id}`)) as { sourceId: string; primary: boolean; presenceDefinition: { id: string } };
    expect(own).toMatchObject({ sourceId: source.id, primary: false, presenceDefinition: { id: definition('Break') } });
    const shown = (await getJson(gc, `/api/v2/users/${user}/presences/purecloud`)) as { primary: boolean; presenceDefinition: { id: string } };
    expect(shown).toMatchObject({ primary: true, presenceDefinition: { id: definition('Offline') } });
    await client.setPrimarySource(user, source.id);
    expect(gc.user(user)?.presence).toBe('Break');
  });

  it('starts from an org whose users have a given source primary with primarySourceFor', async () => {
    const gc = await started(() => startGcEmulator({ usersCount: 3, heartbeatMs: 0, primarySourceFor: 'EXAS' }));
    const { client, definition } = await connect(gc);
    const existing = gc.sources().find((entry) => entry.name === 'EXAS');
    expect(existing).toBeDefined();
    const source = await client.ensurePresenceSource('EXAS');
    expect(source.id).toBe(existing?.id);
    expect(gc.userIds().map((userId) => gc.primarySourceOf(userId))).toEqual([source.id, source.id, source.id]);
    const [user] = gc.userIds() as [string];
    await client.injectPresence([{ userId: user, presenceDefinitionId: definition('Meeting'), sourceId: source.id }]);
    expect(gc.user(user)?.presence).toBe('Meeting');
    // Someone else's change shows only when made under the primary source, which the control API does.
    gc.setUserState(user, { presence: 'Meal' });
    expect(gc.user(user)?.presence).toBe('Meal');
    expect(gc.primarySourceOf(user)).toBe(source.id);
  });

  it('refuses PURECLOUD or an empty name as primarySourceFor', async () => {
    await expect(startGcEmulator({ primarySourceFor: 'PURECLOUD' })).rejects.toThrow(/other than PURECLOUD/);
    await expect(startGcEmulator({ primarySourceFor: '' })).rejects.toThrow(/other than PURECLOUD/);
  });

  it('lenient shows the source written last, whatever the primary source', async () => {
    const gc = await started(() => startGcEmulator({ usersCount: 1, heartbeatMs: 0, lenient: true }));
    const { client, definition } = await connect(gc);
    const source = await client.ensurePresenceSource('EXAS');
    const [user] = gc.userIds() as [string];
    await client.injectPresence([{ userId: user, presenceDefinitionId: definition('Break'), sourceId: source.id }]);
    expect(gc.user(user)?.presence).toBe('Break');
    expect(gc.primarySourceOf(user)).not.toBe(source.id);
  });
});
