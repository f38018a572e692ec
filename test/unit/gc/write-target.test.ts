import { describe, expect, it } from 'vitest';
import { startGcEmulator } from '../../../src/emulators/gc/index.ts';
import {
  buildPresenceLookup,
  createGcClient,
  createGcWriteTarget,
  createPresenceCatalog,
  RateLimitedError,
} from '../../../src/gc/index.ts';
import { started } from '../../helpers/servers.ts';

// EXAS's source is every user's primary source (as after `exas doctor --fix`), so injected presence shows.
const gc = await started(() => startGcEmulator({ usersCount: 250, maxBatchSize: 100, primarySourceFor: 'EXAS' }));
const client = createGcClient({ baseUrl: gc.url, clientId: 'exas-demo', clientSecret: 'exas-demo-secret', requestsPerMinute: 10_000 });
const catalog = createPresenceCatalog(client);
await catalog.load();
const source = await client.ensurePresenceSource('EXAS');
const userIds = gc.userIds();

describe('GC write target, inject mode', () => {
  const target = createGcWriteTarget(client, { mode: 'inject', batchSize: 100, catalog, sourceId: source.id });

  it('sends 250 presence changes as 3 inject requests of at most 100 events', async () => {
    gc.resetStats();
    const outcomes = await target.writePresence(userIds.map((userId) => ({ userId, presence: 'Lunch Break' })));
    expect(outcomes).toHaveLength(250);
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(gc.stats().byRoute['POST /api/v2/events/users/presence']).toBe(3);
    expect(gc.user(userIds[249] as string)?.presence).toBe('Lunch Break');
  });

  it('mirrors every routing status, Interacting and Communicating included', async () => {
    expect(target.canSetRoutingStatus('Interacting')).toBe(true);
    const [first, second] = userIds as [string, string];
    const outcomes = await target.writeRoutingStatus([
      { userId: first, routingStatus: 'Interacting' },
      { userId: second, routingStatus: 'Communicating' },
    ]);
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(gc.user(first)?.routingStatus).toBe('Interacting');
    expect(gc.user(second)?.routingStatus).toBe('Communicating');
  });

  it('reports a rejected event for its user only and keeps the rest of the batch', async () => {
    const outcomes = await target.writePresence([
      { userId: userIds[0] as string, presence: 'Break' },
      { userId: '00000000-0000-4000-8000-00000000dead', presence: 'Break' },
    ]);
    expect(outcomes[0]).toEqual({ userId: userIds[0], ok: true });
    expect(outcomes[1]).toMatchObject({ ok: false, retryable: false, code: 'event.rejected' });
    expect(gc.user(userIds[0] as string)?.presence).toBe('Break');
  });

  it('marks events GC calls retryable as retryable', async () => {
    gc.setFaults({ eventErrorRate: 1 });
    try {
      const outcomes = await target.writeRoutingStatus([{ userId: userIds[3] as string, routingStatus: 'Idle' }]);
      expect(outcomes[0]).toMatchObject({ ok: false, retryable: true });
    } finally {
      gc.setFaults({});
    }
  });

  it('fails an unknown presence label for its user without a request', async () => {
    gc.resetStats();
    const outcomes = await target.writePresence([{ userId: userIds[0] as string, presence: 'Lunch Brake' }]);
    expect(outcomes[0]).toMatchObject({ ok: false, retryable: false, code: 'unknown.presence' });
    expect(gc.stats().requests).toBe(0);
  });

  it('throws RateLimitedError when GC answers the whole batch with 429', async () => {
    // Its own client: the 429 pauses that client's budget for Retry-After.
    const other = createGcClient({ baseUrl: gc.url, clientId: 'exas-demo', clientSecret: 'exas-demo-secret' });
    const limited = createGcWriteTarget(other, { mode: 'inject', batchSize: 100, catalog, sourceId: source.id });
    gc.setFaults({ status429Rate: 1 });
    try {
      await expect(limited.writePresence([{ userId: userIds[0] as string, presence: 'Busy' }])).rejects.toBeInstanceOf(RateLimitedError);
      expect(other.budget.available()).toBe(0);
    } finally {
      gc.setFaults({});
    }
  });

  it('refuses a batch size the options do not allow, and inject mode without a source', () => {
    expect(() => createGcWriteTarget(client, { mode: 'inject', batchSize: 0, catalog, sourceId: 's' })).toThrow(/batchSize/);
    expect(() => createGcWriteTarget(client, { mode: 'inject', batchSize: 101, catalog, sourceId: 's' })).toThrow(/from 1 to 100, GC's most events per inject request/);
    expect(() => createGcWriteTarget(client, { mode: 'inject', catalog })).toThrow(/sourceId/);
  });
});

// Per-user mode writes GC's own source (PURECLOUD): it shows where that is the primary source, as in a new org.
const newOrg = await started(() => startGcEmulator({ usersCount: 20 }));
const newOrgClient = createGcClient({ baseUrl: newOrg.url, clientId: 'exas-demo', clientSecret: 'exas-demo-secret', requestsPerMinute: 10_000 });
const newOrgCatalog = createPresenceCatalog(newOrgClient);
await newOrgCatalog.load();

describe('GC write target, per-user mode', () => {
  const target = createGcWriteTarget(newOrgClient, { mode: 'per-user', catalog: newOrgCatalog });
  const gc = newOrg;
  const userIds = newOrg.userIds();

  it('sends one PATCH per user and carries one user per request', async () => {
    expect(target.maxBatchSize).toBe(1);
    const outcomes = await target.writePresence([{ userId: userIds[10] as string, presence: 'Meeting' }]);
    expect(outcomes).toEqual([{ userId: userIds[10], ok: true }]);
    expect(gc.user(userIds[10] as string)?.presence).toBe('Meeting');
  });

  it('sets OffQueue and Idle, and cannot mirror Interacting or Communicating', async () => {
    expect(target.canSetRoutingStatus('Idle')).toBe(true);
    expect(target.canSetRoutingStatus('OffQueue')).toBe(true);
    expect(target.canSetRoutingStatus('Interacting')).toBe(false);
    expect(target.canSetRoutingStatus('Communicating')).toBe(false);
    const outcomes = await target.writeRoutingStatus([
      { userId: userIds[11] as string, routingStatus: 'Idle' },
      { userId: userIds[12] as string, routingStatus: 'Interacting' },
    ]);
    expect(outcomes.find((outcome) => outcome.userId === userIds[11])).toEqual({ userId: userIds[11], ok: true });
    expect(outcomes.find((outcome) => outcome.userId === userIds[12])).toMatchObject({ ok: false, retryable: false, code: 'routing.status.not.settable' });
    expect(gc.user(userIds[11] as string)?.routingStatus).toBe('Idle');
  });
});

describe('presence catalog', () => {
  it('resolves system names and custom labels to definition ids and back', () => {
    const lunch = catalog.resolve('Lunch Break');
    expect(catalog.nameOf(lunch)).toBe('Lunch Break');
    expect(catalog.entryOf(lunch)).toMatchObject({ custom: true, systemPresence: 'Meal' });
    expect(catalog.nameOf(catalog.resolve('OnQueue'))).toBe('OnQueue');
    expect(() => catalog.resolve('Gone Fishing')).toThrow(/Gone Fishing/);
  });

  it('lets a system presence win over a custom label with the same name', () => {
    const lookup = buildPresenceLookup([
      { id: 'custom-busy', type: 'User', systemPresence: 'Busy', languageLabels: { en_US: 'Busy' } },
      { id: 'system-busy', type: 'System', systemPresence: 'Busy', languageLabels: { en_US: 'Busy' } },
    ]);
    expect(lookup.resolve('Busy')).toBe('system-busy');
  });
});

describe('validating rules presences against the org catalog', () => {
  it('names each unknown label, suggests the near one, and accepts system names, custom labels and keep', async () => {
    const { validatePresencesAgainstCatalog } = await import('../../../src/gc/index.ts');
    expect(validatePresencesAgainstCatalog(['Busy', 'OnQueue', 'Lunch Break', 'keep'], catalog)).toEqual([]);
    const errors = validatePresencesAgainstCatalog(['Lunch Brake', 'Gone Fishing', 'coaching'], catalog);
    expect(errors.map((error) => error.presence)).toEqual(['Lunch Brake', 'Gone Fishing', 'coaching']);
    expect(errors[0]?.message).toContain("did you mean 'Lunch Break'");
    expect(errors[2]?.message).toContain("did you mean 'Coaching'");
    expect(errors[1]?.message).toContain('Gone Fishing');
  });
});
