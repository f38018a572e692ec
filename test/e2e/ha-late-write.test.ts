/**
 * After a takeover, a write the previous leader had in flight can still land at GC up to `gc.timeoutMs` after its
 * gate closed (chaos HA, with fast lease acquisition). Landing after the takeover's bulk read and before the
 * drift watch's channels were up, it overwrote the new leader's write unseen. The sidecar reads every user once
 * more by listing pages once the channels are up and `gc.timeoutMs` has passed since the takeover: the late
 * write is judged drift and the mapped state is written again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../../src/sidecar/index.ts';
import { controlledLeadership } from '../helpers/controlled-leadership.ts';
import { eventually, startE2eRig, type E2eRig } from '../helpers/e2e.ts';

const TIMEOUT_MS = 1_500;

let rig: E2eRig;
let sidecar: Sidecar;
const leadership = controlledLeadership('exas-late');

beforeAll(async () => {
  rig = await startE2eRig({ agents: 60, scope: 'file', statServer: { eventsPerSecond: 0 } });
  sidecar = await rig.startSidecar(
    { gc: { timeoutMs: TIMEOUT_MS }, ha: { identity: 'exas-late', lease: { backend: 'etcd', name: 'shard-late', etcd: { endpoints: ['http://127.0.0.1:9'] } } } },
    { leadership },
  );
}, 60_000);
afterAll(async () => {
  await sidecar?.stop();
  await rig?.close();
});

describe('takeover: a late write of the previous leader', () => {
  it('landing after the takeover read and before the channels is found by the check after gc.timeoutMs and repaired', async () => {
    await eventually(
      () => sidecar.connector.agents({ offset: 0, limit: 100 }).items,
      (items) => items.length === 60 && items.every((item) => item.desired !== null),
      20_000,
    );
    // Changed while no instance wrote: the takeover owes these users a write.
    for (const agentId of rig.agentIds.slice(0, 5)) rig.statServer.setAgent(agentId, { state: 'NotReady', callType: 'None', reason: 'Meal' });
    await eventually(() => sidecar.connector.agent(rig.agentIds[0]!)?.desired?.presence, (presence) => presence === 'Meal', 10_000);
    const pages = (): number => rig.gc.stats().byRoute['GET /api/v2/users'] ?? 0;
    const channels = (): number => rig.gc.stats().byRoute['POST /api/v2/notifications/channels'] ?? 0;
    let late: string | undefined;
    let channelsAtLate = -1;
    const off = rig.gc.onUserChange((userId, part, view) => {
      // The new leader's first write: the previous leader's late write lands right after it, before any channel.
      if (late !== undefined || part !== 'presence' || view.presence !== 'Meal') return;
      late = userId;
      channelsAtLate = channels();
      setImmediate(() => rig.gc.setUserState(userId, { presence: 'Away' }));
    });
    const takeoverAt = Date.now();
    const pagesBefore = pages();
    leadership.set(true);
    expect(await eventually(() => late !== undefined && rig.gc.user(late)?.presence === 'Away', (done) => done, 20_000)).toBe(true);
    off();
    expect(channelsAtLate).toBe(0);
    // Repaired: the listing was read again once the channels were up and gc.timeoutMs had passed.
    expect(await eventually(() => rig.gc.user(late as string)?.presence, (presence) => presence === 'Meal', 20_000)).toBe('Meal');
    expect(Date.now() - takeoverAt).toBeGreaterThanOrEqual(TIMEOUT_MS);
    expect(channels()).toBeGreaterThan(0);
    expect(pages() - pagesBefore).toBeGreaterThanOrEqual(2);
    expect(sidecar.connector.counters().driftRepaired).toBeGreaterThanOrEqual(1);
    expect(await rig.waitForConvergence({ timeoutMs: 20_000 })).toEqual([]);
  });
});
