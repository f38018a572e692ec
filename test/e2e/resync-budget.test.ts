/**
 * End to end: a full resync of N users from a cold store costs about 2N / 100 write requests (presence and
 * routing status injects of 100 users each) plus about N / 100 bulk reads, within GC's budget.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startE2eRig, type E2eRig } from '../helpers/e2e.ts';

const USERS = 450;

describe('resync cost', () => {
  let rig: E2eRig;
  // Every process warning while the resync runs: hundreds of requests wait on the sidecar's one stop signal,
  // which must not trip Node's MaxListenersExceededWarning (11 abort listeners were once seen in production).
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => void warnings.push(`${warning.name}: ${warning.message}`);

  beforeAll(async () => {
    process.on('warning', onWarning);
    rig = await startE2eRig({ agents: USERS, scope: 'file' });
    for (const agentId of rig.agentIds) rig.statServer.setAgent(agentId, { state: 'Ready', callType: 'Inbound', reason: null });
  });

  afterAll(async () => {
    process.off('warning', onWarning);
    await rig?.close();
  });

  it(`converges ${USERS} users with O(N/100) inject requests (2N/100 at best) and O(N/100) bulk reads, no 429`, async () => {
    const { gc } = rig;
    const sidecar = await rig.startSidecar({ drift: { policy: 'off' } });
    await sidecar.connector.ready();
    const converged = () => gc.users().every((user) => user.presence === 'OnQueue' && user.routingStatus === 'Interacting');
    await eventually(converged, (done) => done, 30_000);
    expect(converged()).toBe(true);
    const byRoute = gc.stats().byRoute;
    const count = (fragment: string) => Object.entries(byRoute).filter(([route]) => route.includes(fragment)).reduce((sum, [, n]) => sum + n, 0);
    const batches = Math.ceil(USERS / 100);
    // 2N/100 is the floor (one presence and one routing-status inject per 100 users). Routing-status batches can
    // come out smaller than 100 because a user's routing status waits for its presence write to settle, so the
    // bound checked here is twice the floor: still O(N / 100), never O(N).
    const injects = count('/events/users/presence') + count('/events/users/routingstatus');
    expect(injects).toBeGreaterThanOrEqual(2 * batches);
    expect(injects).toBeLessThanOrEqual(4 * batches);
    // N/100 bulk reads for the resync, and with gc.primarySource: fix (the default) and a cold store at most
    // N/100 more: one read per 100 users confirms the primary source of users the start-up read gave no evidence
    // for (a restart with the store costs none of those: test/e2e/primary-source.test.ts).
    expect(count('GET /api/v2/users') - count('externalid')).toBeLessThanOrEqual(2 * batches + 1);
    expect(gc.stats().rateLimited).toBe(0);
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    expect(warnings).toEqual([]);
  });
});
