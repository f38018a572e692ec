import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { EXAS_PERMISSIONS, startGcEmulator } from '../../../src/emulators/gc/index.ts';
import { createGcClient, createPermissionMonitor, GcPermissionError, isRetryable, missingPermissionsOf } from '../../../src/gc/index.ts';
import { setLogSink } from '../../../src/log.ts';
import { started } from '../../helpers/servers.ts';

const logs: Array<Record<string, unknown>> = [];
const previousSink = setLogSink((line) => void logs.push(JSON.parse(line) as Record<string, unknown>));
afterEach(() => void logs.splice(0));
afterAll(() => void setLogSink(previousSink));

const gc = await started(() => startGcEmulator({ usersCount: 5, heartbeatMs: 0 }));
const without = (permission: string) => EXAS_PERMISSIONS.filter((granted) => granted !== permission);
/** Removes a permission through the emulator's control route, as an operator would in GC's admin UI. */
async function grant(permissions: readonly string[]): Promise<void> {
  const response = await fetch(`${gc.url}/emulator/clients/exas-demo/permissions`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ permissions }),
  });
  expect(response.status).toBe(200);
}

describe('GC client and permission monitor against the strict emulator', () => {
  it('a 403 is not retried, names the missing permission, is logged once, and clears with the next success', async () => {
    const monitor = createPermissionMonitor();
    const client = createGcClient({ baseUrl: gc.url, clientId: 'exas-demo', clientSecret: 'exas-demo-secret', permissions: monitor });
    const source = await client.ensurePresenceSource('EXAS');
    const userId = gc.userIds()[0] as string;
    const inject = () => client.injectRoutingStatus([{ userId, routingStatus: 'Idle', sourceId: source.id }]);
    await grant(without('routing:routingstatus:inject'));
    gc.resetStats();

    const error = await inject().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GcPermissionError);
    expect(isRetryable(error)).toBe(false);
    expect(missingPermissionsOf(error as GcPermissionError)).toEqual(['routing:routingstatus:inject']);
    await expect(inject()).rejects.toBeInstanceOf(GcPermissionError);
    // Two calls, two requests: nothing retried.
    expect(gc.stats().byRoute['POST /api/v2/events/users/routingstatus']).toBe(2);

    expect(monitor.missing()).toEqual([
      expect.objectContaining({ endpoint: 'POST /api/v2/events/users/routingstatus', permissions: ['routing:routingstatus:inject'], code: 'missing.any.permissions' }),
    ]);
    expect(monitor.stats()).toEqual({ denied: [{ endpoint: 'POST /api/v2/events/users/routingstatus', count: 2 }], missing: ['routing:routingstatus:inject'] });
    const logged = logs.filter((record) => String(record['msg']).startsWith('GC refused a request for lack of permissions'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 'error', missingPermissions: ['routing:routingstatus:inject'], endpoint: 'POST /api/v2/events/users/routingstatus' });

    const changes: boolean[] = [];
    monitor.onChange(({ denied }) => changes.push(denied));
    await grant(EXAS_PERMISSIONS);
    await expect(inject()).resolves.toEqual([]);
    expect(monitor.missing()).toEqual([]);
    expect(monitor.stats().missing).toEqual([]);
    expect(changes).toEqual([false]);
  });

  it('a read refused for lack of permission fails at once too (reads retry 5xx and 429, never 403)', async () => {
    const monitor = createPermissionMonitor();
    const client = createGcClient({ baseUrl: gc.url, clientId: 'exas-demo', clientSecret: 'exas-demo-secret', permissions: monitor, readRetries: 2 });
    await grant(without('presence:presenceDefinition:view'));
    gc.resetStats();
    await expect(client.getPresenceDefinitions()).rejects.toBeInstanceOf(GcPermissionError);
    expect(gc.stats().byRoute['GET /api/v2/presence/definitions']).toBe(1);
    expect(monitor.stats().missing).toEqual(['presence:presenceDefinition:view']);
    await grant(EXAS_PERMISSIONS);
  });

  it('falls back to the documented permission when a 403 names none', () => {
    const bare = new GcPermissionError('POST /api/v2/events/users/presence: 403', { status: 403, code: 'not.authorized', endpoint: 'POST /api/v2/events/users/presence', body: { message: 'You are not authorized to perform the requested action.' } });
    expect(missingPermissionsOf(bare)).toEqual(['presence:userPresence:inject']);
    const named = new GcPermissionError('x', { status: 403, code: 'missing.permissions', body: { message: 'Unable to perform the requested action. You are missing the following permission(s): [presence:userPrimarySource:edit, presence:userPrimarySource:view]' } });
    expect(missingPermissionsOf(named)).toEqual(['presence:userPrimarySource:edit', 'presence:userPrimarySource:view']);
  });
});
