/**
 * End to end, the convergence cases issue 6 asks for that the other e2e files do not cover: with a crowd
 * moving through mixed states (not every agent in one state), EXAS restarted mid-stream from its store, the
 * Stat Server link dropped while agents change, a GC outage followed by a 429 storm, and a foreign write to
 * every GC user. Each case ends with EVERY agent's GC state equal to the mapping of its current Engage state,
 * computed with the rules engine, read in-process, through GC's real GET endpoints and through /emulator/users.
 * Budgets are high here: pacing is not under test (resync-budget.test.ts and bench/sync.bench.ts cover it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../../src/sidecar/index.ts';
import type { CallType, EngageState } from '../../src/vocabulary.ts';
import { eventually, startE2eRig, type E2eRig } from '../helpers/e2e.ts';

const AGENTS = 40;
const BUDGET = 6000;
/** Crowd changes per second while a case runs: several per agent over a case. */
const CROWD_RATE = 60;

describe('every agent converges to its mapping after disturbances, with a moving crowd', () => {
  let rig: E2eRig;

  beforeAll(async () => {
    rig = await startE2eRig({ agents: AGENTS, statServer: { seed: 7 }, gc: { budget: BUDGET } });
  });
  afterAll(async () => {
    await rig?.close();
  });

  const sidecarConfig = { gc: { requestsPerMinute: BUDGET } };
  /** Lets the crowd move for about `ms` (counted in changes, not in time, so a slow machine sees as many). */
  async function crowdMoves(sidecar: Sidecar, changes: number): Promise<void> {
    const events = () => Object.values(sidecar.connector.metricsSnapshot().statServer.eventsReceived).reduce((sum, count) => sum + count, 0);
    const before = events();
    rig.statServer.setSimulation(true, CROWD_RATE);
    await eventually(events, (seen) => seen >= before + changes, 10_000);
  }
  const pauseCrowd = (): void => rig.statServer.setSimulation(false);

  it('every seed-table row at once (agents spread over the rows) shows its mapping through the GC API; ACW keeps the presence it had', async () => {
    const sidecar = await rig.startSidecar(sidecarConfig);
    const rows: ReadonlyArray<{ state: EngageState; callType: CallType; reason: string | null }> = [
      { state: 'LoggedOff', callType: 'None', reason: null },
      { state: 'NotReady', callType: 'None', reason: null },
      { state: 'NotReady', callType: 'None', reason: 'Coffee' },
      { state: 'NotReady', callType: 'None', reason: 'Break' },
      { state: 'NotReady', callType: 'None', reason: 'Meal' },
      { state: 'NotReady', callType: 'None', reason: 'Meeting' },
      { state: 'NotReady', callType: 'None', reason: 'Training' },
      { state: 'NotReady', callType: 'Internal', reason: 'Meal' },
      { state: 'NotReady', callType: 'Consult', reason: null },
      { state: 'Ready', callType: 'None', reason: null },
      { state: 'Ready', callType: 'Internal', reason: null },
      { state: 'Ready', callType: 'Unknown', reason: null },
      { state: 'AfterCallWork', callType: 'None', reason: null },
      { state: 'AfterCallWork', callType: 'Internal', reason: null },
      { state: 'AfterCallWork', callType: 'Inbound', reason: null },
    ];
    for (const agentId of rig.agentIds) rig.statServer.setAgent(agentId, { state: 'Ready', callType: 'None', reason: null });
    expect(await rig.waitForConvergence()).toEqual([]);
    // Through the Stat Server emulator's control API, as a person driving the emulator would.
    for (const [index, agentId] of rig.agentIds.entries()) {
      const response = await fetch(`${rig.statServer.url}/emulator/agents/${agentId}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(rows[index % rows.length]),
      });
      expect(response.status).toBe(200);
    }
    expect(await rig.waitForConvergence()).toEqual([]);
    // `keep` exactly: the agents in ACW still show the OnQueue they had before, read through GC's API.
    const viaApi = await rig.gcStatesFromApi();
    const acw = rig.agentIds.filter((agentId) => rig.statServer.agent(agentId)?.state === 'AfterCallWork');
    expect(acw.length).toBeGreaterThanOrEqual(3);
    expect(acw.map((agentId) => viaApi.get(agentId)?.presence)).toEqual(acw.map(() => 'OnQueue'));
    await sidecar.stop(500);
  });

  it('EXAS stopped mid-stream without a flush and restarted from its store converges every agent', async () => {
    const first = await rig.startSidecar(sidecarConfig);
    await first.connector.ready();
    await crowdMoves(first, 150);
    // No grace period: writes still owed are dropped; the store holds only what GC acknowledged.
    await first.stop(0);
    // The crowd keeps changing while EXAS is down.
    const downChanges = rig.agentIds.slice(0, 10);
    for (const agentId of downChanges) rig.statServer.setAgent(agentId, { state: 'NotReady', callType: 'None', reason: 'Training' });
    const second = await rig.startSidecar(sidecarConfig);
    await second.connector.ready();
    await crowdMoves(second, 100);
    pauseCrowd();
    expect(await rig.waitForConvergence()).toEqual([]);
    expect(second.connector.metricsSnapshot().resync.completed).toBeGreaterThanOrEqual(1);
    await second.stop(500);
  });

  describe('one sidecar running through the disturbances', () => {
    let sidecar: Sidecar;
    beforeAll(async () => {
      sidecar = await rig.startSidecar(sidecarConfig);
      await sidecar.connector.ready();
    });
    afterAll(async () => {
      pauseCrowd();
      rig.statServer.applyFaults({});
      rig.gc.setFaults({});
      await sidecar?.stop(500);
    });

    it('the Stat Server link dropped (and refused for a second) while agents change: the reconnect resyncs every agent', async () => {
      await crowdMoves(sidecar, 100);
      rig.statServer.applyFaults({ disconnect: true, refuseSeconds: 1 });
      // Changes EXAS cannot see as events: only the peek after reconnecting can find them.
      for (const agentId of rig.agentIds.slice(0, 20)) rig.statServer.setAgent(agentId, { state: 'NotReady', callType: 'None', reason: 'Meeting' });
      await eventually(() => sidecar.connector.readiness().statServerConnected, (connected) => !connected, 3_000);
      await eventually(() => sidecar.connector.readiness().statServerConnected, (connected) => connected, 10_000);
      await crowdMoves(sidecar, 100);
      pauseCrowd();
      expect(await rig.waitForConvergence({ timeoutMs: 20_000 })).toEqual([]);
    });

    it('a GC outage and then a 429 storm while agents change: every agent converges once GC answers normally', async () => {
      rig.gc.resetStats();
      rig.statServer.setSimulation(true, CROWD_RATE);
      rig.gc.setFaults({ outageSeconds: 1 });
      await eventually(() => rig.gc.stats().byStatus['503'] ?? 0, (count) => count > 0, 5_000);
      await eventually(() => rig.gc.faults().outageUntil < Date.now(), (over) => over, 5_000);
      rig.gc.setFaults({ status429Rate: 0.7 });
      await eventually(() => rig.gc.stats().rateLimited, (count) => count >= 10, 10_000);
      rig.gc.setFaults({});
      pauseCrowd();
      expect(await rig.waitForConvergence({ timeoutMs: 20_000 })).toEqual([]);
      expect(rig.gc.stats().rateLimited).toBeGreaterThanOrEqual(10);
      // EXAS saw the 429s (and honoured them): they were GC's, not caused by EXAS's pacing.
      expect(sidecar.connector.metricsSnapshot().gc.rateLimited).toBeGreaterThanOrEqual(10);
    });
  });

  describe('drift: a foreign write to every GC user', () => {
    let sidecar: Sidecar;
    const setAll = (state: EngageState, callType: CallType, reason: string | null): void => {
      for (const agentId of rig.agentIds) rig.statServer.setAgent(agentId, { state, callType, reason });
    };
    const writeAsSomeoneElse = (change: { presence?: string; routingStatus?: string }): void => {
      for (const userId of rig.gc.userIds()) rig.gc.setUserState(userId, change);
    };

    beforeAll(async () => {
      // A fresh sidecar whose only desired states so far are Break / OffQueue, so no foreign value below can
      // pass for a late echo of one of EXAS's own writes.
      pauseCrowd();
      setAll('NotReady', 'None', 'Break');
      // Channels of the sidecars stopped earlier in this file stay in the emulator until they expire: count only
      // the topics this sidecar adds.
      const topicsBefore = rig.gc.channels().topics;
      sidecar = await rig.startSidecar(sidecarConfig);
      expect(await rig.waitForConvergence()).toEqual([]);
      // Drift is seen on GC's notifications: wait until EXAS watches every user's presence and routing status.
      const watched = await eventually(() => rig.gc.channels(), (channels) => channels.sockets >= 1 && channels.topics >= topicsBefore + 2 * AGENTS, 10_000);
      expect(watched.topics).toBeGreaterThanOrEqual(topicsBefore + 2 * AGENTS);
    });
    afterAll(async () => {
      await sidecar?.stop(500);
    });

    it('presence and routing status changed by someone else are re-asserted for every agent', async () => {
      const before = sidecar.connector.metricsSnapshot().drift.repaired;
      writeAsSomeoneElse({ presence: 'Away', routingStatus: 'Idle' });
      expect(await rig.waitForConvergence()).toEqual([]);
      expect(sidecar.connector.metricsSnapshot().drift.repaired - before).toBeGreaterThanOrEqual(2 * AGENTS);
    });

    // One foreign change notifies presence and routing status a moment apart; both re-asserts answer that one
    // change and count once against the cap (3 in 5 minutes), so a second foreign change is still repaired in full.
    it('a foreign routing status EXAS itself set a moment ago is still re-asserted when the presence drifted too', async () => {
      setAll('Ready', 'None', null);
      expect(await rig.waitForConvergence()).toEqual([]);
      setAll('Ready', 'Inbound', null);
      expect(await rig.waitForConvergence()).toEqual([]);
      writeAsSomeoneElse({ presence: 'Away', routingStatus: 'Idle' });
      expect(await rig.waitForConvergence({ timeoutMs: 4_000 })).toEqual([]);
    });
  });
});
