/**
 * End to end against the strict GC emulator: a permission removed from EXAS's OAuth client at run time (through
 * the emulator's control route) is reported by name in the log, on /readyz, on the status page and in /metrics,
 * and is never retried; granted again, EXAS catches up by itself. And with GC's native rule "Off Queue unless
 * On Queue" switched on for injected state, EXAS does not fight it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXAS_PERMISSIONS } from '../../src/emulators/gc/index.ts';
import { setLogSink } from '../../src/log.ts';
import { eventually, startE2eRig, type E2eRig } from '../helpers/e2e.ts';

const AGENTS = 6;
const logs: Array<Record<string, unknown>> = [];

async function setPermissions(rig: E2eRig, permissions: readonly string[]): Promise<void> {
  const response = await fetch(`${rig.gc.url}/emulator/clients/exas-demo/permissions`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ permissions }),
  });
  expect(response.status).toBe(200);
}

describe('EXAS when GC refuses a permission (strict emulator)', () => {
  let rig: E2eRig;
  let previousSink: ReturnType<typeof setLogSink>;

  beforeAll(async () => {
    rig = await startE2eRig({ agents: AGENTS, logs: true });
    previousSink = setLogSink((line) => void logs.push(JSON.parse(line) as Record<string, unknown>));
  });
  afterAll(async () => {
    await rig?.close();
    setLogSink(previousSink);
  });

  it('names the missing permission in the log, on /readyz, the status page and /metrics, never retries it, and recovers once granted', async () => {
    for (const agentId of rig.agentIds) rig.statServer.setAgent(agentId, { state: 'Ready', callType: 'None', reason: null });
    await setPermissions(rig, EXAS_PERMISSIONS.filter((permission) => permission !== 'routing:routingstatus:inject'));
    const sidecar = await rig.startSidecar();
    const http = sidecar.http?.url as string;

    const readyz = await eventually(
      async () => (await (await fetch(`${http}/readyz`)).json()) as { ready: boolean; notReady: string[]; checks: { gcMissingPermissions?: Array<{ endpoint: string; permissions: string[] }> } },
      (body) => body.notReady.includes('gcPermissions'),
    );
    expect(readyz.ready).toBe(false);
    expect(readyz.checks.gcMissingPermissions).toEqual([
      expect.objectContaining({ endpoint: 'POST /api/v2/events/users/routingstatus', permissions: ['routing:routingstatus:inject'] }),
    ]);
    expect((await fetch(`${http}/readyz`)).status).toBe(503);

    // Presence is written; routing status waits parked, not retried.
    await sidecar.writer.onIdle();
    const stats = rig.gc.stats();
    const routingRequests = stats.byRoute['POST /api/v2/events/users/routingstatus'] ?? 0;
    expect(routingRequests).toBeGreaterThan(0);
    expect(stats.byStatus['403']).toBe(routingRequests);
    expect(sidecar.writer.stats().failedUsers).toBe(AGENTS);
    expect(rig.gc.users().every((user) => user.routingStatus === 'OffQueue')).toBe(true);

    const refusals = logs.filter((record) => String(record['msg']).startsWith('GC refused a request for lack of permissions'));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ level: 'error', missingPermissions: ['routing:routingstatus:inject'], endpoint: 'POST /api/v2/events/users/routingstatus' });
    // The refused batch is one line, not one per user.
    expect(logs.filter((record) => String(record['msg']).startsWith('write failed and will not be retried'))).toEqual([]);

    const summary = (await (await fetch(`${http}/api/summary`)).json()) as { readiness: { ready: boolean; checks: { gcMissingPermissions: unknown[] } } };
    expect(summary.readiness.ready).toBe(false);
    expect(summary.readiness.checks.gcMissingPermissions).toHaveLength(1);
    // The status page script lists each refused endpoint with its missing permissions from that summary.
    expect(await (await fetch(`${http}/page.js`)).text()).toContain('missing permission: ');

    const metrics = await (await fetch(`${http}/metrics`)).text();
    expect(metrics).toContain(`exas_gc_permission_denied_total{endpoint="POST /api/v2/events/users/routingstatus"} ${routingRequests}`);
    expect(metrics).toContain('exas_gc_permission_missing{permission="routing:routingstatus:inject"} 1');
    expect(metrics).toContain('exas_readiness_check{check="gc_permissions"} 0');

    // Granted again: the next routing write succeeds, which clears the denial and sends every parked user again.
    await setPermissions(rig, EXAS_PERMISSIONS);
    rig.statServer.setAgent(rig.agentIds[0] as string, { state: 'Ready', callType: 'Internal', reason: null });
    expect(await rig.waitForConvergence()).toEqual([]);
    const recovered = await eventually(
      async () => (await (await fetch(`${http}/readyz`)).json()) as { notReady: string[] },
      (body) => !body.notReady.includes('gcPermissions'),
    );
    expect(recovered.notReady).not.toContain('gcPermissions');
    expect(await (await fetch(`${http}/metrics`)).text()).not.toContain('exas_gc_permission_missing{');
    expect(logs.some((record) => String(record['msg']).startsWith('GC accepts the endpoint again'))).toBe(true);
    await sidecar.stop(500);
  });
});

describe("EXAS under GC's native rule 'Off Queue unless On Queue' on injected state (opt-in emulator option)", () => {
  let rig: E2eRig;
  afterEach(async () => {
    await rig?.close();
  });

  it('writes the routing status once per change and does not fight GC keeping it Off Queue', async () => {
    rig = await startE2eRig({ agents: AGENTS, gc: { offQueueUnlessOnQueue: true } });
    for (const agentId of rig.agentIds) rig.statServer.setAgent(agentId, { state: 'Ready', callType: 'None', reason: null });
    const sidecar = await rig.startSidecar();
    expect(await rig.waitForConvergence()).toEqual([]);

    // Not Ready on a call: the rules want Busy / Interacting; GC keeps the routing status Off Queue.
    for (const agentId of rig.agentIds) rig.statServer.setAgent(agentId, { state: 'NotReady', callType: 'Inbound', reason: null });
    await eventually(
      () => rig.gc.users(),
      (users) => users.every((user) => user.presence === 'Busy'),
    );
    await sidecar.writer.onIdle();
    const userIds = rig.gc.userIds();
    const routingWrites = () => rig.gc.stats().byRoute['POST /api/v2/events/users/routingstatus'] ?? 0;

    // Every later look at GC (bulk reads, as the periodic drift check makes them) sees Off Queue again.
    await sidecar.connector.checkByBulkRead(userIds);
    await sidecar.writer.onIdle();
    const afterFirstLook = routingWrites();
    for (let look = 0; look < 5; look += 1) {
      await sidecar.connector.checkByBulkRead(userIds);
      await sidecar.writer.onIdle();
    }
    expect(routingWrites()).toBe(afterFirstLook);
    expect(sidecar.connector.counters().driftGcRule).toBeGreaterThanOrEqual(5 * AGENTS);
    expect(sidecar.connector.counters().driftCapped).toBe(0);
    expect(rig.gc.users().every((user) => user.presence === 'Busy' && user.routingStatus === 'OffQueue')).toBe(true);

    // A new change is written as usual (On Queue again, so GC takes the routing status too).
    for (const agentId of rig.agentIds) rig.statServer.setAgent(agentId, { state: 'Ready', callType: 'None', reason: null });
    expect(await rig.waitForConvergence()).toEqual([]);
    await sidecar.stop(500);
  });
});
