/**
 * End to end: GC shows only the primary source's presence (the emulator's default, as real GC). With the default
 * `gc.primarySource: fix`, EXAS makes its source primary where a read shows another one (one PUT a user, no GET),
 * remembers the confirmed users in the store, and a restart spends no primary-source request at all. An org whose
 * users already have EXAS's source primary (as after `exas doctor --fix`) costs no PUT; `check` only reports.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, startE2eRig, type E2eRig } from '../helpers/e2e.ts';
import type { Sidecar } from '../../src/sidecar/index.ts';
import { setLogSink } from '../../src/log.ts';

const AGENTS = 50;
const PUT_PRIMARY = 'PUT /api/v2/presence/users/:userId/primarysource';
const GET_PRIMARY = 'GET /api/v2/presence/users/:userId/primarysource';

let rig: E2eRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

function meetingEverywhere(current: E2eRig): void {
  for (const agentId of current.agentIds) current.statServer.setAgent(agentId, { state: 'NotReady', callType: 'None', reason: 'Meeting' });
}

async function settled(current: E2eRig, sidecar: Sidecar): Promise<void> {
  expect(await current.waitForConvergence()).toEqual([]);
  await eventually(() => sidecar.connector.readiness().initialResyncDone, (done) => done);
  await sidecar.primarySource?.idle();
}

const primaryRequests = (current: E2eRig): { put: number; get: number } => {
  const byRoute = current.gc.stats().byRoute;
  return { put: byRoute[PUT_PRIMARY] ?? 0, get: byRoute[GET_PRIMARY] ?? 0 };
};

describe('primary presence source (gc.primarySource: fix, the default)', () => {
  it('a new org: one PUT per user and no GET at first start; a restart costs no primary-source request', async () => {
    // A budget that fits a first start of 50 users within the convergence wait (identity, PUTs, writes).
    rig = await startE2eRig({ agents: AGENTS, org: 'new', gc: { budget: 3000 } });
    meetingEverywhere(rig);
    const budget = { gc: { requestsPerMinute: 3000 } };
    const first = await rig.startSidecar(budget);
    await settled(rig, first);
    const exas = rig.gc.sources().find((source) => source.name === 'EXAS')?.id;
    expect(rig.gc.userIds().every((userId) => rig?.gc.primarySourceOf(userId) === exas)).toBe(true);
    expect(rig.gc.users().map((user) => user.presence)).toEqual(Array(AGENTS).fill('Meeting'));
    expect(primaryRequests(rig)).toEqual({ put: AGENTS, get: 0 });
    expect(first.primarySource?.stats()).toMatchObject({ confirmed: AGENTS, fixed: AGENTS, notPrimary: 0 });
    await first.stop();

    rig.gc.resetStats();
    const second = await rig.startSidecar(budget);
    await settled(rig, second);
    expect(primaryRequests(rig)).toEqual({ put: 0, get: 0 });
    expect(second.primarySource?.stats()).toMatchObject({ confirmed: AGENTS, fixed: 0, requests: { put: 0, read: 0 } });
  });

  it('an org whose users already have EXAS primary: no PUT; the users are confirmed from reads', async () => {
    rig = await startE2eRig({ agents: AGENTS, org: 'migrated' });
    meetingEverywhere(rig);
    const sidecar = await rig.startSidecar();
    await settled(rig, sidecar);
    await eventually(() => sidecar.primarySource?.stats().confirmed, (confirmed) => confirmed === AGENTS);
    expect(primaryRequests(rig)).toEqual({ put: 0, get: 0 });
    // At most one read per 100 users checked (here one, maybe two as acknowledgements arrive in two batches).
    expect(sidecar.primarySource?.stats().requests.read).toBeLessThanOrEqual(2);
  });

  it('a user whose primary source someone set back to PURECLOUD is fixed again when a read shows it', async () => {
    rig = await startE2eRig({ agents: 4, org: 'migrated' });
    meetingEverywhere(rig);
    const sidecar = await rig.startSidecar();
    await settled(rig, sidecar);
    await eventually(() => sidecar.primarySource?.stats().confirmed, (confirmed) => confirmed === 4);
    const [userId] = rig.gc.userIds() as [string];
    const purecloud = rig.gc.sources().find((source) => source.name === 'PURECLOUD')?.id as string;
    rig.gc.setPrimarySource(userId, purecloud);
    await sidecar.connector.checkByBulkRead([userId]);
    await eventually(() => rig?.gc.primarySourceOf(userId), (primary) => primary !== purecloud);
    expect(rig.gc.user(userId)?.presence).toBe('Meeting');
  });
});

describe('primary presence source (gc.primarySource: check)', () => {
  it('reports the users without it and stays not ready, with the count; nothing is changed', async () => {
    rig = await startE2eRig({ agents: 5, org: 'new' });
    meetingEverywhere(rig);
    const sidecar = await rig.startSidecar({ gc: { primarySource: 'check' } });
    await eventually(() => sidecar.connector.readiness(), (checks) => checks.initialResyncDone && checks.usersNotPrimary === 5);
    expect(sidecar.connector.readiness()).toMatchObject({ primarySourceReady: false, usersNotPrimary: 5 });
    const readyz = await fetch(`${sidecar.http?.url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(((await readyz.json()) as { notReady: string[] }).notReady).toContain('primarySourceReady');
    expect(await sidecar.metrics.render()).toContain('exas_gc_primary_source_not_primary_users 5');
    expect(primaryRequests(rig)).toEqual({ put: 0, get: 0 });
    expect(rig.gc.users().map((user) => user.presence)).toEqual(Array(5).fill('Offline'));
  });
});

describe('primary presence source (gc.primarySource: off)', () => {
  it('warns at start that presence will not show, and sends no primary-source request', async () => {
    rig = await startE2eRig({ agents: 3, org: 'new' });
    meetingEverywhere(rig);
    const lines: Array<{ level?: string; msg?: string }> = [];
    const previous = setLogSink((line) => lines.push(JSON.parse(line) as { level?: string; msg?: string }));
    try {
      const sidecar = await rig.startSidecar({ gc: { primarySource: 'off' } });
      await eventually(() => sidecar.connector.readiness().initialResyncDone, (done) => done);
      expect(sidecar.primarySource).toBeUndefined();
      expect(lines.filter((line) => line.level === 'warn' && line.msg?.startsWith('gc.primarySource is off'))).toHaveLength(1);
      expect(primaryRequests(rig)).toEqual({ put: 0, get: 0 });
      // What EXAS injected is acknowledged but does not show: PURECLOUD is still everyone's primary source.
      await eventually(() => rig?.gc.stats().byRoute['POST /api/v2/events/users/presence'] ?? 0, (posts) => posts > 0);
      await eventually(() => sidecar.writer.stats().pendingUsers, (pending) => pending === 0);
      expect(rig.gc.users().map((user) => user.presence)).toEqual(['Offline', 'Offline', 'Offline']);
    } finally {
      setLogSink(previous);
    }
  });
});
