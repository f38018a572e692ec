/**
 * End to end: with a GC that shows only the primary source's presence (as real GC does), `gc.primarySource: fix`
 * makes EXAS's presence source primary so injected presences show.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startE2eRig, type E2eRig } from '../helpers/e2e.ts';

const AGENTS = 4;

describe('primary presence source', () => {
  let rig: E2eRig;

  beforeAll(async () => {
    rig = await startE2eRig({ agents: AGENTS, gc: { enforcePrimarySource: true } });
    for (const agentId of rig.agentIds) rig.statServer.setAgent(agentId, { state: 'NotReady', callType: 'None', reason: 'Meeting' });
    await rig.startSidecar({ gc: { primarySource: 'fix' } });
  });

  afterAll(async () => {
    await rig?.close();
  });

  it("with gc.primarySource fix, EXAS's source becomes primary and the injected presence shows", async () => {
    const { gc } = rig;
    const exasSource = () => gc.sources().find((source) => source.name === 'EXAS')?.id;
    await eventually(
      () => gc.userIds().every((userId) => gc.primarySourceOf(userId) === exasSource() && gc.user(userId)?.presence === 'Meeting'),
      (done) => done,
    );
    expect(gc.users().map((user) => user.presence)).toEqual(Array(AGENTS).fill('Meeting'));
    expect(gc.userIds().map((userId) => gc.primarySourceOf(userId))).toEqual(Array(AGENTS).fill(exasSource()));
  });
});
