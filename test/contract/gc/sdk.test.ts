/**
 * Contract test: the official Genesys Cloud JavaScript SDK (purecloud-platform-client-v2) logs in to the GC
 * emulator and makes each call EXAS makes through its own API classes; the answers must carry the fields and
 * types the spec states, and EXAS's own client must see the same state. `ApiClient.instance` is a
 * singleton, so every SDK use lives in this one file.
 */
import platformClient from 'purecloud-platform-client-v2';
import { describe, expect, it } from 'vitest';
import { startGcEmulator, validateAgainstComponent } from '../../../src/emulators/gc/index.ts';
import { createGcClient, createPresenceCatalog, type GcPresenceSource } from '../../../src/gc/index.ts';
import { started } from '../../helpers/servers.ts';

const gc = await started(() => startGcEmulator({ usersCount: 60, heartbeatMs: 0 }));
const apiClient = platformClient.ApiClient.instance;
apiClient.setGateway({ host: '127.0.0.1', protocol: 'http', port: gc.port });
const auth = await apiClient.loginClientCredentialsGrant('exas-demo', 'exas-demo-secret');

const presenceApi = new platformClient.PresenceApi();
const eventsApi = new platformClient.EventsApi();
const usersApi = new platformClient.UsersApi();
const notificationsApi = new platformClient.NotificationsApi();

const exas = createGcClient({ baseUrl: gc.url, clientId: 'exas-demo', clientSecret: 'exas-demo-secret' });
const catalog = createPresenceCatalog(exas);
await catalog.load();
const [alice, bob, carol] = gc.userIds() as [string, string, string];

/** The SDK resolves plain objects; check them against the spec's schema for the operation. */
function conforms(schema: string, value: unknown): void {
  expect(validateAgainstComponent(schema, JSON.parse(JSON.stringify(value)))).toEqual([]);
}

describe('official GC SDK against the emulator', () => {
  let source: GcPresenceSource;

  it('logs in with client credentials and gets a token with a lifetime', () => {
    expect(typeof auth.accessToken).toBe('string');
    expect(auth.tokenExpiryTime).toBeGreaterThan(Date.now());
  });

  it('reads presence definitions with system and custom presences (PresenceApi.getPresenceDefinitions0)', async () => {
    const listing = await presenceApi.getPresenceDefinitions0({ deactivated: 'false', localeCode: 'ALL' });
    conforms('OrganizationPresenceDefinitionEntityListing', listing);
    const labels = (listing.entities ?? []).map((entity) => entity.languageLabels?.['en_US']);
    expect(labels).toEqual(expect.arrayContaining(['Busy', 'On Queue', 'Lunch Break', 'Coaching', 'Project Work']));
    const lunch = listing.entities?.find((entity) => entity.languageLabels?.['en_US'] === 'Lunch Break');
    expect(lunch).toMatchObject({ type: 'User', systemPresence: 'Meal', id: catalog.resolve('Lunch Break') });
    const single = await presenceApi.getPresenceDefinition0(catalog.resolve('OnQueue'));
    conforms('OrganizationPresenceDefinition', single);
  });

  it('creates and lists presence sources, and EXAS finds the one the SDK made (PresenceApi sources)', async () => {
    const created = await presenceApi.postPresenceSources({ name: 'EXAS', description: 'Engage agent state', type: 'User' });
    conforms('Source', created);
    const listing = await presenceApi.getPresenceSources({});
    conforms('SourceEntityListing', listing);
    expect(listing.entities?.map((entity) => entity.name)).toContain('EXAS');
    source = await exas.ensurePresenceSource('EXAS');
    expect(source.id).toBe(created.id);
  });

  it('injects presence and routing status batches (EventsApi) and EXAS reads the same state', async () => {
    const now = new Date().toISOString();
    const presence = await eventsApi.postEventsUsersPresence({
      userPresenceEvents: [
        { eventId: crypto.randomUUID(), eventDateTime: now, userId: alice, sourceId: source.id as string, presenceDefinitionId: catalog.resolve('Lunch Break') },
        { eventId: crypto.randomUUID(), eventDateTime: now, userId: bob, sourceId: source.id as string, presenceDefinitionId: catalog.resolve('OnQueue') },
      ],
    });
    conforms('BatchEventResponse', presence);
    expect(presence.errors ?? []).toEqual([]);
    const routing = await eventsApi.postEventsUsersRoutingstatus({
      userRoutingStatusEvents: [{ eventId: crypto.randomUUID(), eventDateTime: now, agentId: bob, status: 'Interacting', sourceId: source.id as string }],
    });
    expect(routing.errors ?? []).toEqual([]);
    expect((await exas.getUserRoutingStatus(bob)).routingStatus).toBe('Interacting');
    // EXAS's source is not alice's primary source (PURECLOUD is, as in a new org): what she shows is unchanged.
    const reading = await exas.getUserPresence(alice, { sourceId: source.id as string });
    expect(catalog.nameOf(reading.presenceDefinitionId as string)).toBe('Lunch Break');
    expect(catalog.nameOf((await exas.getUserPresence(alice)).presenceDefinitionId as string)).toBe('Offline');
  });

  it('the SDK sees what EXAS wrote: routing status (UsersApi.getUserRoutingstatus) and presence (PresenceApi)', async () => {
    await exas.injectRoutingStatus([{ userId: carol, routingStatus: 'Communicating', sourceId: source.id }]);
    await exas.injectPresence([{ userId: carol, presenceDefinitionId: catalog.resolve('Project Work'), sourceId: source.id }]);
    const status = await usersApi.getUserRoutingstatus(carol);
    conforms('RoutingStatus', status);
    expect(status).toMatchObject({ userId: carol, status: 'COMMUNICATING' });
    expect(typeof status.startTime).toBe('string');
    const presence = await presenceApi.getUserPresencesPurecloud(carol);
    conforms('UserPresence', presence);
    // PURECLOUD is carol's primary source: its presence, not EXAS's, is what she shows until the next test.
    expect(presence.presenceDefinition?.id).toBe(catalog.resolve('Offline'));
    const bySource = await presenceApi.getUserPresence(carol, source.id);
    expect(bySource.presenceDefinition?.id).toBe(catalog.resolve('Project Work'));
  });

  it('reads and sets the primary presence source (PresenceApi primarysource), as ensurePrimarySource does', async () => {
    const before = await presenceApi.getPresenceUserPrimarysource(carol);
    expect(before).toMatchObject({ id: carol, name: 'PURECLOUD', registered: false });
    expect(typeof before.sourceId).toBe('string');
    const after = await presenceApi.putPresenceUserPrimarysource(carol, { sourceId: source.id as string });
    expect(after).toMatchObject({ id: carol, sourceId: source.id, name: 'EXAS', registered: true });
    expect((await exas.getPrimarySource(carol)).sourceId).toBe(source.id);
    expect(gc.primarySourceOf(carol)).toBe(source.id);
    const shown = await usersApi.getUser(carol, { expand: ['presence'] });
    expect(shown.presence).toMatchObject({ sourceId: source.id, primary: true, presenceDefinition: { id: catalog.resolve('Project Work') } });
  });

  it('reads a user with presence and routing status expanded (UsersApi.getUser), the same as EXAS reads it', async () => {
    const user = await usersApi.getUser(bob, { expand: ['presence', 'routingStatus'] });
    conforms('User', user);
    const ours = await exas.getUser(bob, { expand: ['presence', 'routingStatus'] });
    expect(user.presence?.presenceDefinition?.id).toBe(ours.presence?.presenceDefinition?.id);
    expect(user.routingStatus?.status).toBe('INTERACTING');
    expect(ours.routingStatus?.status).toBe('INTERACTING');
  });

  it('reads presence in bulk, at most 50 ids (PresenceApi.getUsersPresencesPurecloudBulk / getUsersPresenceBulk)', async () => {
    const bulk = await presenceApi.getUsersPresencesPurecloudBulk({ id: [alice, bob, carol] });
    for (const entry of bulk) conforms('UcUserPresence', entry);
    expect(bulk.map((entry) => entry.userId)).toEqual([alice, bob, carol]);
    const ours = await exas.getUsersPresenceBulk([alice, bob, carol]);
    expect(ours.map((entry) => entry.presenceDefinitionId)).toEqual(bulk.map((entry) => entry.presenceDefinition?.id));
    const bySource = await presenceApi.getUsersPresenceBulk(source.id as string, { id: [alice] });
    expect(bySource).toHaveLength(1);
    await expect(presenceApi.getUsersPresencesPurecloudBulk({ id: gc.userIds().slice(0, 51) })).rejects.toMatchObject({ status: 400 });
  });

  it('sets presence per user and routing status OffQueue / Idle (PresenceApi.patchUserPresence, UsersApi.putUserRoutingstatus)', async () => {
    const patched = await presenceApi.patchUserPresencesPurecloud(alice, { presenceDefinition: { id: catalog.resolve('Meeting') } });
    conforms('UserPresence', patched);
    expect(gc.user(alice)?.presence).toBe('Meeting');
    const put = await usersApi.putUserRoutingstatus(alice, { status: 'IDLE' });
    conforms('RoutingStatus', put);
    expect((await exas.getUserRoutingStatus(alice)).routingStatus).toBe('Idle');
    await expect(usersApi.putUserRoutingstatus(alice, { status: 'INTERACTING' })).rejects.toMatchObject({ status: 400 });
  });

  it('looks users up by external id, by page and by search, as EXAS does (UsersApi)', async () => {
    const byExternal = await usersApi.getUsersExternalidAuthorityNameExternalKey('engage', '1002', {});
    conforms('User', byExternal);
    expect(byExternal).toMatchObject({ id: bob, username: 'agent1002@exas.example' });
    const page = await usersApi.getUsers({ pageSize: 25, pageNumber: 2, expand: ['presence', 'routingStatus'] });
    conforms('UserEntityListing', page);
    expect(page).toMatchObject({ pageSize: 25, pageNumber: 2, total: 60, pageCount: 3 });
    const byIds = await usersApi.getUsers({ id: [alice, carol], pageSize: 2, expand: ['routingStatus'] });
    expect(byIds.entities?.map((user) => user.id)).toEqual([alice, carol]);
    const search = await usersApi.postUsersSearch({ pageSize: 25, query: [{ type: 'EXACT', fields: ['email'], values: ['agent1003@exas.example'] }] });
    conforms('UsersSearchResponse', search);
    expect(search.results?.map((user) => user.id)).toEqual([carol]);
    const ours = await exas.searchUsersExact('email', ['agent1003@exas.example']);
    expect(ours.map((user) => user.id)).toEqual([carol]);
    await expect(usersApi.getUsersExternalidAuthorityNameExternalKey('engage', 'nobody', {})).rejects.toMatchObject({ status: 404 });
  });

  it('creates a notification channel and manages its subscriptions (NotificationsApi)', async () => {
    const channel = await notificationsApi.postNotificationsChannels({});
    conforms('Channel', channel);
    expect(channel.connectUri).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/channels\//);
    const topics = [{ id: `v2.users.${alice}.presence` }, { id: `v2.users.${alice}.routingStatus` }];
    const subscribed = await notificationsApi.putNotificationsChannelSubscriptions(channel.id as string, topics, {});
    conforms('ChannelTopicEntityListing', subscribed);
    expect(subscribed.entities?.map((topic) => topic.state)).toEqual(['Permitted', 'Permitted']);
    const added = await notificationsApi.postNotificationsChannelSubscriptions(channel.id as string, [{ id: `v2.users.${bob}.presence` }], {});
    expect(added.entities).toHaveLength(3);
    const listed = await notificationsApi.getNotificationsChannelSubscriptions(channel.id as string);
    expect(listed.entities?.map((topic) => topic.id)).toContain(`v2.users.${bob}.presence`);
    apiClient.setReturnExtendedResponses(true);
    try {
      await expect(notificationsApi.headNotificationsChannel(channel.id as string)).resolves.toMatchObject({ status: 200 });
      await expect(notificationsApi.headNotificationsChannel('no-such-channel')).rejects.toMatchObject({ status: 404 });
    } finally {
      apiClient.setReturnExtendedResponses(false);
    }
    expect(await exas.channelExists(channel.id as string)).toBe(true);
  });

  it('reports GC error bodies the SDK can read (code, status, correlation id)', async () => {
    // Extended responses carry status and headers as well as the body.
    apiClient.setReturnExtendedResponses(true);
    const error = (await eventsApi
      .postEventsUsersRoutingstatus({ userRoutingStatusEvents: [] })
      .catch((caught: unknown) => caught)
      .finally(() => apiClient.setReturnExtendedResponses(false))) as {
      status: number;
      body: Record<string, unknown>;
      headers: Record<string, string>;
    };
    expect(error.status).toBe(400);
    conforms('ErrorBody', error.body);
    expect(error.body).toMatchObject({ code: 'bad.request', status: 400 });
    expect(error.headers['inin-correlation-id']).toBe(error.body['contextId']);
  });
});
