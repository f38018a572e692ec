/**
 * End to end: `scope.source: gc` syncs every GC user carrying the identity key (here the employee id EXCS set),
 * found by listing users in pages, without any agent list in the config.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../../src/sidecar/index.ts';
import { eventually, startE2eRig, type E2eRig } from '../helpers/e2e.ts';

describe('scope from GC', () => {
  let rig: E2eRig;
  let sidecar: Sidecar;

  beforeAll(async () => {
    rig = await startE2eRig({ agents: 12, gcUsers: 8, scope: 'gc' });
    for (const agent of rig.statServer.agents()) rig.statServer.setAgent(agent.agentId, { state: 'NotReady', callType: 'None', reason: 'Training' });
    sidecar = await rig.startSidecar();
    await sidecar.connector.ready();
  });

  afterAll(async () => {
    await rig?.close();
  });

  it('syncs exactly the agents that have a GC user', async () => {
    const { gc } = rig;
    expect(sidecar.connector.summary().agents.total).toBe(8);
    await eventually(
      () => gc.users(),
      (users) => users.every((user) => user.presence === 'Training' && user.routingStatus === 'OffQueue'),
    );
    expect(gc.users().map((user) => user.presence)).toEqual(Array(8).fill('Training'));
    expect(sidecar.connector.agent('1012')).toBeUndefined();
  });
});
