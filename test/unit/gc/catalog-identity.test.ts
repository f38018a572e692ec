import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startGcEmulator } from '../../../src/emulators/gc/index.ts';
import { createGcClient, createGcWriteTarget, createIdentityResolver, createPresenceCatalog, GcServerError, type GcClient } from '../../../src/gc/index.ts';
import { started } from '../../helpers/servers.ts';

const gc = await started(() => startGcEmulator({ usersCount: 20, heartbeatMs: 0 }));
const newClient = (): GcClient =>
  createGcClient({ baseUrl: gc.url, clientId: 'exas-demo', clientSecret: 'exas-demo-secret', requestsPerMinute: 100_000, readRetries: 0 });

describe('presence catalog refresh', () => {
  afterEach(() => {
    vi.useRealTimers();
    gc.setFaults({});
  });

  it('reloads on its schedule and keeps the last good catalog when a refresh fails', async () => {
    const client = newClient();
    const catalog = createPresenceCatalog(client, { refreshMs: 60_000 });
    await catalog.load();
    const lunch = catalog.resolve('Lunch Break');
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    catalog.start();
    gc.setFaults({ errorRate: 1 });
    await vi.advanceTimersByTimeAsync(60_000);
    await vi.waitFor(() => expect(client.stats().byEndpoint['GET /api/v2/presence/definitions']?.['5xx']).toBe(1));
    expect(catalog.resolve('Lunch Break')).toBe(lunch);
    gc.setFaults({});
    await vi.advanceTimersByTimeAsync(60_000);
    await vi.waitFor(() => expect(client.stats().byEndpoint['GET /api/v2/presence/definitions']?.['2xx']).toBe(2));
    catalog.stop();
  });

  it('says so clearly when used before load', () => {
    expect(() => createPresenceCatalog(newClient()).resolve('Busy')).toThrow(/load\(\)/);
  });
});

describe('presence source', () => {
  it('finds the source another sidecar created when creating it conflicts', async () => {
    const first = newClient();
    const second = newClient();
    // Both list before either creates: the second create gets 409 and must find the first one's source.
    const realList = second.getPresenceSources.bind(second);
    let calls = 0;
    second.getPresenceSources = async (signal) => {
      calls += 1;
      return calls === 1 ? [] : realList(signal);
    };
    const created = await first.ensurePresenceSource('EXAS-race');
    const found = await second.ensurePresenceSource('EXAS-race');
    expect(found.id).toBe(created.id);
  });
});

describe('identity cache', () => {
  it('ignores a cache written for another key or authority', async () => {
    const dir = await mkdtemp(`${tmpdir()}/exas-identity-`);
    const cachePath = `${dir}/identity.json`;
    await writeFile(cachePath, JSON.stringify({ key: 'externalId', authority: 'other', users: { '1001': 'wrong-user' } }));
    const identity = createIdentityResolver(newClient(), { key: 'externalId', cachePath });
    const users = await identity.resolve(['1001']);
    expect(users.get('1001')).toBe(gc.userIds()[0]);
    const saved = JSON.parse(await readFile(cachePath, 'utf8')) as { authority: string; users: Record<string, string> };
    expect(saved).toMatchObject({ authority: 'engage', users: { '1001': gc.userIds()[0] } });
  });

  it('keeps the answers it paid for when a later lookup fails', async () => {
    const dir = await mkdtemp(`${tmpdir()}/exas-identity-`);
    const cachePath = `${dir}/identity.json`;
    const client = newClient();
    const real = client.getUserByExternalId.bind(client);
    client.getUserByExternalId = async (authority, key, signal) => {
      if (key === '1003') throw new GcServerError('down', { status: 503 });
      return real(authority, key, signal);
    };
    const identity = createIdentityResolver(client, { key: 'externalId', cachePath });
    await expect(identity.resolve(['1001', '1002', '1003'])).rejects.toBeInstanceOf(GcServerError);
    const saved = JSON.parse(await readFile(cachePath, 'utf8')) as { users: Record<string, string> };
    expect(Object.keys(saved.users)).toEqual(['1001', '1002']);
  });

  it('refuses key / mode combinations GC cannot serve', () => {
    expect(() => createIdentityResolver(newClient(), { key: 'externalId', mode: 'list' })).toThrow(/lookup/);
    expect(() => createIdentityResolver(newClient(), { key: 'employeeId', mode: 'lookup' })).toThrow(/list/);
  });
});

describe('per-user writes under a 429', () => {
  it('stops at the 429 and hands back the rest as retryable with Retry-After', async () => {
    const client = newClient();
    const catalog = createPresenceCatalog(client);
    await catalog.load();
    const target = createGcWriteTarget(client, { mode: 'per-user', catalog });
    const ids = gc.userIds().slice(0, 3) as [string, string, string];
    const real = client.patchUserPresence.bind(client);
    let calls = 0;
    client.patchUserPresence = async (...args) => {
      calls += 1;
      if (calls === 2) {
        const { RateLimitedError } = await import('../../../src/gc/index.ts');
        throw new RateLimitedError('429', { status: 429, retryAfterSeconds: 7 });
      }
      return real(...args);
    };
    const outcomes = await target.writePresence(ids.map((userId) => ({ userId, presence: 'Busy' })));
    expect(outcomes[0]).toEqual({ userId: ids[0], ok: true });
    expect(outcomes.slice(1)).toEqual([
      expect.objectContaining({ userId: ids[1], ok: false, retryable: true, retryAfterSeconds: 7 }),
      expect.objectContaining({ userId: ids[2], ok: false, retryable: true, retryAfterSeconds: 7 }),
    ]);
    expect(calls).toBe(2);
  });
});
