/**
 * Standby mode in one sidecar against the real emulators, with a leadership the test controls: a standby
 * subscribes, decides and resolves identities but writes nothing to GC (no inject, no primary-source change) and
 * is ready; taking the lease resyncs (`failover`) with one bulk read and sends only the differences; losing it
 * stops the writes again. /readyz, /metrics and the summary carry the role and the holder; a standby that cannot
 * reach its lease service is not ready and /readyz says why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../../src/sidecar/index.ts';
import { eventually, startE2eRig, type E2eRig } from '../helpers/e2e.ts';
import { startGcRequestLog, type GcRequestLog } from '../helpers/gc-request-log.ts';
import { controlledLeadership } from '../helpers/controlled-leadership.ts';


const WRITE_ROUTES = ['POST /api/v2/events/users/presence', 'POST /api/v2/events/users/routingstatus', 'PUT /api/v2/presence/users/:userId/primarysource'];

let rig: E2eRig;
let gcLog: GcRequestLog;
let sidecar: Sidecar;
const leadership = controlledLeadership('exas-test');
const writes = (): number => WRITE_ROUTES.reduce((sum, route) => sum + (rig.gc.stats().byRoute[route] ?? 0), 0);
const reads = (): number => rig.gc.stats().byRoute['GET /api/v2/users'] ?? 0;

beforeAll(async () => {
  rig = await startE2eRig({ agents: 150, scope: 'file', statServer: { eventsPerSecond: 0 } });
  gcLog = await startGcRequestLog(rig.gc.url);
  sidecar = await rig.startSidecar(
    { gc: { baseUrl: gcLog.url, primarySource: 'fix' }, ha: { identity: 'exas-test', lease: { backend: 'etcd', name: 'shard-t', etcd: { endpoints: ['http://127.0.0.1:9'] } } } },
    { leadership },
  );
}, 60_000);
afterAll(async () => {
  await rig?.close();
  await gcLog?.close();
});

async function readyz(): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${sidecar.http!.url}/readyz`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('standby mode', () => {
  it('a standby is ready, decides every agent, and writes nothing to GC', async () => {
    const ready = await eventually(readyz, (r) => r.status === 200, 20_000);
    if (ready.status !== 200) console.error(JSON.stringify(ready.body));
    expect(ready.body).toMatchObject({ ready: true, role: 'standby', leaseHolder: 'other-instance' });
    // Every agent decided and resolved (desired states kept), none written.
    const summary = await eventually(
      () => sidecar.connector.agents({ offset: 0, limit: 1000 }).items,
      (items) => items.length === 150 && items.every((item) => item.desired !== null),
      20_000,
    );
    expect(summary.length).toBe(150);
    const undecided = summary.filter((item) => item.userId === null || item.desired === null);
    if (undecided.length > 0) console.error(JSON.stringify(undecided.slice(0, 3)));
    expect(undecided).toEqual([]);
    rig.statServer.setAgent(rig.agentIds[0]!, { state: 'NotReady', callType: 'None', reason: 'Meal' });
    await eventually(() => sidecar.connector.agent(rig.agentIds[0]!)?.desired?.presence, (presence) => presence === 'Meal', 10_000);
    expect(writes()).toBe(0);
    const metrics = await (await fetch(`${sidecar.http!.url}/metrics`)).text();
    expect(metrics).toMatch(/^exas_leader 0$/m);
    expect(metrics).toMatch(/^exas_writer_oldest_pending_change_age_seconds 0$/m);
  });

  it('a standby that cannot reach its lease service is not ready, and /readyz and /metrics say why', async () => {
    const reason = 'the coordination service has not answered for 12 s (etcd key /exas/leases/shard-t): this instance could not take the lease over';
    leadership.setProblem(reason);
    const notReady = await readyz();
    expect(notReady).toMatchObject({ status: 503, body: { ready: false, role: 'standby', leaseProblem: reason, notReady: ['leaseServiceReachable'] } });
    const metrics = await (await fetch(`${sidecar.http!.url}/metrics`)).text();
    expect(metrics).toMatch(/^exas_readiness_check\{check="lease_service_reachable"\} 0$/m);
    expect(metrics).toMatch(/^exas_ready 0$/m);
    leadership.setProblem(undefined);
    expect(await readyz()).toMatchObject({ status: 200, body: { ready: true, notReady: [] } });
    expect((await readyz()).body['leaseProblem']).toBeUndefined();
  });

  it('taking the lease: one bulk read, only the differences written, every agent converges', async () => {
    // Half the agents already show their mapping in GC (as if the previous leader wrote them).
    const expected = rig.expected();
    const ids = rig.agentIds.slice(0, 75);
    for (const agentId of ids) {
      const want = expected.get(agentId)!;
      rig.gc.setUserState(rig.gc.userIdOf(agentId)!, { presence: want.presence ?? 'Busy', routingStatus: want.routingStatus });
    }
    const readsBefore = reads();
    const logBefore = gcLog.records.length;
    leadership.set(true);
    expect(await rig.waitForConvergence({ timeoutMs: 30_000 })).toEqual([]);
    await eventually(() => sidecar.writer.stats().pendingUsers, (pending) => pending === 0, 10_000);
    // Only the 75 users GC did not already show right were injected (each field at most once).
    const injected = gcLog.records.slice(logBefore).filter((record) => record.write && record.path.startsWith('/api/v2/events/'));
    const presenceEntries = injected.filter((record) => record.path.endsWith('/presence')).reduce((sum, record) => sum + record.entries, 0);
    expect(presenceEntries).toBeGreaterThan(0);
    expect(presenceEntries).toBeLessThanOrEqual(75);
    expect(reads() - readsBefore).toBeGreaterThanOrEqual(2); // 150 users: two pages of 100
    expect(writes()).toBeGreaterThan(0);
    const ready = await eventually(readyz, (r) => r.status === 200, 10_000);
    if (ready.status !== 200) console.error(JSON.stringify(ready.body));
    expect(ready).toMatchObject({ status: 200, body: { role: 'leader', leaseHolder: 'exas-test' } });
    const metrics = await (await fetch(`${sidecar.http!.url}/metrics`)).text();
    expect(metrics).toMatch(/^exas_leader 1$/m);
    expect(metrics).toMatch(/^exas_leader_transitions_total 1$/m);
  });

  it('losing the lease stops writes at once; changes wait for the next takeover', async () => {
    leadership.set(false);
    const switchedAt = Date.now();
    rig.statServer.setAgent(rig.agentIds[1]!, { state: 'NotReady', callType: 'None', reason: 'Training' });
    await eventually(() => sidecar.connector.agent(rig.agentIds[1]!)?.desired?.presence, (presence) => presence === 'Training', 10_000);
    // The writer would have sent within a slot (~200 ms); give it several.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // Judged by arrival at GC: a request already open at the switch may still land just after it.
    expect(gcLog.writes().filter((record) => record.at > switchedAt + 100)).toEqual([]);
    leadership.set(true);
    expect(await rig.waitForConvergence({ timeoutMs: 30_000 })).toEqual([]);
  });
});
