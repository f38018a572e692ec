/**
 * End to end against the strict emulators: Stat Server does not know some agents in scope (their employee ids
 * are unknown to it), and the Statistics API side still syncs every other agent, with the refused ones shown
 * on /agents/:id with Stat Server's message and counted in exas_statserver_refused_agents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startE2eRig, type E2eRig } from '../helpers/e2e.ts';

const AGENTS = 30;
const REFUSED = ['1002', '1011', '1012', '1030'];

describe('the Statistics API side syncs every other agent when some are refused', () => {
  let rig: E2eRig;

  beforeAll(async () => {
    // GC starts as after `exas doctor --fix` (EXAS's source primary): this file is about the Stat Server side.
    rig = await startE2eRig({ agents: AGENTS, statServer: { seed: 11 }, gc: { budget: 6000, primarySourceFor: 'EXAS' } });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('converges every agent Stat Server knows; the refused ones are reported, not retried in a loop', async () => {
    rig.statServer.applyFaults({ unknownAgents: REFUSED });
    const sidecar = await rig.startSidecar({ gc: { requestsPerMinute: 6000 }, statServer: { batchSize: 16 } });
    const skip = new Set(REFUSED);
    expect(await rig.waitForConvergence({ skip })).toEqual([]);
    // Changes keep flowing for the others after the refusals.
    for (const agentId of rig.agentIds.filter((id) => !skip.has(id))) rig.statServer.setAgent(agentId, { state: 'NotReady', callType: 'None', reason: 'Meal' });
    expect(await rig.waitForConvergence({ skip })).toEqual([]);

    const url = sidecar.http!.url;
    const view = (await (await fetch(`${url}/agents/1011`)).json()) as Record<string, unknown>;
    expect(view).toMatchObject({
      agentId: '1011',
      snapshot: null,
      unknownReason: 'open-failed',
      statServerRefusal: { message: expect.stringContaining('object not found'), since: expect.any(Number), lastAt: expect.any(Number) },
    });
    expect(await (await fetch(`${url}/agents/1001`)).json()).not.toHaveProperty('statServerRefusal');
    const metrics = await eventually(
      async () => (await fetch(`${url}/metrics`)).text(),
      (text) => /^exas_statserver_refused_agents 4$/m.test(text),
    );
    expect(metrics).toMatch(/^exas_statserver_refused_agents 4$/m);
    expect(metrics).toMatch(/^exas_statserver_connected 1$/m);
    expect(sidecar.connector.metricsSnapshot().statServer.refusedAgents).toBe(4);
  });
});
