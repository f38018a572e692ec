/**
 * End to end, the failure paths of issue 6: graceful stop and restart from the store, a Stat Server backup
 * switch, invalid statistics, a GC outage and starting while GC is down. Real sidecar between the emulators.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { GcEmulator } from '../../src/emulators/gc/index.ts';
import { createSidecar, type Sidecar } from '../../src/sidecar/index.ts';
import { runSidecar, type RunSignals } from '../../src/cli/run.ts';
import { eventually, startE2eRig, type E2eRig } from '../helpers/e2e.ts';

const AGENTS = 6;

class FakeSignals implements RunSignals {
  private readonly listeners = new Map<string, Set<() => void>>();
  on(signal: string, listener: () => void): void {
    if (!this.listeners.has(signal)) this.listeners.set(signal, new Set());
    this.listeners.get(signal)!.add(listener);
  }
  off(signal: string, listener: () => void): void {
    this.listeners.get(signal)?.delete(listener);
  }
  send(signal: string): void {
    for (const listener of this.listeners.get(signal) ?? []) listener();
  }
}

describe('EXAS resilience between the emulators', () => {
  let rig: E2eRig;
  let statServer: E2eRig['statServer'];
  let gc: GcEmulator;
  let directory: string;
  let agentIds: readonly string[];

  async function setAll(state: string, callType = 'None', reason: string | null = null): Promise<void> {
    for (const agentId of agentIds) statServer.setAgent(agentId, { state: state as never, callType: callType as never, reason });
  }

  const allShow = (presence: string, routingStatus: string) => (users: ReturnType<GcEmulator['users']>) =>
    users.length === AGENTS && users.every((user) => user.presence === presence && user.routingStatus === routingStatus);

  beforeAll(async () => {
    rig = await startE2eRig({ agents: AGENTS, statServer: { backupPort: 0 } });
    ({ statServer, gc, directory, agentIds } = rig);
  });

  afterAll(async () => {
    await rig?.close();
  });

  it('SIGTERM stops intake, flushes, saves the store and exits 0; a restart resends nothing that did not change', async () => {
    await setAll('Ready');
    const signals = new FakeSignals();
    let running: Sidecar | undefined;
    const exit = runSidecar(rig.config(), signals, (sidecar) => (running = sidecar));
    await eventually(() => gc.users(), allShow('OnQueue', 'Idle'));
    expect(gc.users().every((user) => user.presence === 'OnQueue')).toBe(true);
    expect(running).toBeDefined();
    signals.send('SIGTERM');
    expect(await exit).toBe(0);
    const stored = JSON.parse(readFileSync(join(directory, 'state.json'), 'utf8')) as { users?: Record<string, unknown> };
    expect(Object.keys(stored.users ?? {})).toHaveLength(AGENTS);

    const injectsBefore = injectCount(gc);
    const again = createSidecar(rig.config());
    await again.start();
    await again.connector.ready();
    await eventually(() => again.connector.readiness().initialResyncDone, (done) => done);
    expect(again.connector.readiness().initialResyncDone).toBe(true);
    expect(injectCount(gc)).toBe(injectsBefore);
    await again.stop(1_000);
  });

  describe('while running', () => {
    let sidecar: Sidecar;
    beforeAll(async () => {
      sidecar = createSidecar(rig.config());
      await sidecar.start();
      await sidecar.connector.ready();
    });
    afterAll(async () => {
      await sidecar?.stop(1_000);
    });

    it('after a switch to the backup Stat Server, changes keep flowing', async () => {
      statServer.applyFaults({ primaryDown: true });
      await setAll('NotReady', 'None', 'Meal');
      const users = await eventually(() => gc.users(), allShow('Meal', 'OffQueue'), 20_000);
      expect(users.map((user) => user.presence)).toEqual(Array(AGENTS).fill('Meal'));
      statServer.applyFaults({ primaryDown: false });
    });

    it('an agent whose statistic is invalid is not pushed until it is valid again', async () => {
      await setAll('Ready');
      await eventually(() => gc.users(), allShow('OnQueue', 'Idle'));
      statServer.applyFaults({ invalidAgents: ['1001'] });
      await eventually(() => sidecar.connector.agent('1001')?.syncStatus, (status) => status === 'unknown');
      expect(sidecar.connector.agent('1001')?.syncStatus).toBe('unknown');
      statServer.setAgent('1002', { state: 'LoggedOff', callType: 'None', reason: null });
      const userId = gc.userIdOf('1002')!;
      await eventually(() => gc.user(userId), (user) => user?.presence === 'Offline' && user.routingStatus === 'OffQueue');
      expect(gc.user(gc.userIdOf('1001')!)?.presence).toBe('OnQueue');
      statServer.applyFaults({ validAgents: ['1001'] });
      statServer.setAgent('1001', { state: 'LoggedOff', callType: 'None', reason: null });
      const user1001 = await eventually(() => gc.user(gc.userIdOf('1001')!)!, (user) => user.presence === 'Offline' && user.routingStatus === 'OffQueue');
      expect(user1001).toMatchObject({ presence: 'Offline', routingStatus: 'OffQueue' });
    });

    it('after GC revokes tokens and closes notification sockets, drift is still seen and re-asserted', async () => {
      await setAll('Ready');
      await eventually(() => gc.users(), allShow('OnQueue', 'Idle'));
      gc.setFaults({ revokeTokens: true });
      await eventually(() => gc.channels().sockets, (sockets) => sockets === 0);
      await eventually(() => gc.channels().sockets, (sockets) => sockets > 0, 20_000);
      const userId = gc.userIdOf('1002')!;
      const repairedBefore = sidecar.connector.metricsSnapshot().drift.repaired;
      gc.setUserState(userId, { presence: 'Meeting' });
      const user = await eventually(() => gc.user(userId)!, (view) => view.presence === 'OnQueue');
      expect(user.presence).toBe('OnQueue');
      expect(sidecar.connector.metricsSnapshot().drift.repaired).toBeGreaterThan(repairedBefore);
    });

    it('changes made during a GC outage arrive once GC answers again; meanwhile readiness says GC is unreachable, not that the token is bad', async () => {
      gc.setFaults({ outageSeconds: 2 });
      await setAll('NotReady', 'None', 'Training');
      const during = await eventually(() => sidecar.connector.readiness(), (checks) => !checks.gcReachable, 10_000);
      expect(during).toMatchObject({ gcReachable: false, gcTokenValid: true });
      const users = await eventually(() => gc.users(), allShow('Training', 'OffQueue'), 20_000);
      expect(users.every((user) => user.presence === 'Training')).toBe(true);
      expect(sidecar.connector.readiness()).toMatchObject({ gcReachable: true, gcTokenValid: true });
    });
  });

  it('starting while GC is down is normal: not ready first, converged once GC answers', async () => {
    await setAll('Ready', 'Inbound');
    gc.setFaults({ outageSeconds: 2 });
    rmSync(join(directory, 'state.json'), { force: true });
    const sidecar = createSidecar(rig.config());
    await sidecar.start();
    expect(sidecar.connector.readiness().gcTokenValid).toBe(false);
    // GC answers 503 to its set-up: that is an outage, not a token GC refused.
    const during = await eventually(() => sidecar.connector.readiness(), (checks) => !checks.gcReachable, 10_000);
    expect(during.gcReachable).toBe(false);
    const users = await eventually(() => gc.users(), allShow('OnQueue', 'Interacting'), 20_000);
    expect(users.every((user) => user.routingStatus === 'Interacting')).toBe(true);
    expect(sidecar.connector.readiness()).toMatchObject({ gcTokenValid: true, gcReachable: true, statServerConnected: true, rulesLoaded: true });
    await sidecar.stop(1_000);
  });
});

function injectCount(gc: GcEmulator): number {
  const byRoute = gc.stats().byRoute;
  return Object.entries(byRoute)
    .filter(([route]) => route.includes('/events/users/'))
    .reduce((sum, [, count]) => sum + count, 0);
}
