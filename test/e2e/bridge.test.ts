/**
 * End to end through the bridge adapter: a PSDK bridge (the simulator, listening) ← EXAS dials it
 * (`statServer.source: bridge`) → GC emulator. Changes in the crowd end mapped in GC, and a dropped bridge link
 * is followed by a resync.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GcEmulator } from '../../src/emulators/gc/index.ts';
import { BridgeSimulator, Crowd } from '../../src/emulators/statserver/index.ts';
import { eventually, startE2eRig, type E2eRig } from '../helpers/e2e.ts';

const AGENTS = 5;

describe('EXAS through the PSDK bridge adapter', () => {
  let rig: E2eRig;
  let crowd: Crowd;
  let bridge: BridgeSimulator;
  let gc: GcEmulator;

  beforeAll(async () => {
    // The rig's GC emulator, store directory and config; its Stat Server emulator stays unused, EXAS dials the bridge.
    rig = await startE2eRig({ agents: AGENTS });
    gc = rig.gc;
    crowd = new Crowd(AGENTS, 7);
    for (const id of rig.agentIds) crowd.set(crowd.get(id)!, { state: 'Ready', callType: 'None', reason: null });
    bridge = new BridgeSimulator({ crowd, token: 'bridge-secret' });
    const url = await bridge.listen();
    await rig.startSidecar({ statServer: { source: 'bridge', endpoints: [{ baseUrl: url }], apiKey: undefined, bearerToken: 'bridge-secret' } });
  });

  afterAll(async () => {
    // The simulator first (its close waits for an open socket to close), then EXAS.
    await bridge?.close();
    await rig?.close();
  });

  it('the crowd ends mapped in GC, and changes flow after the bridge link drops and comes back', async () => {
    const onQueue = await eventually(() => gc.users(), (users) => users.every((user) => user.presence === 'OnQueue' && user.routingStatus === 'Idle'));
    expect(onQueue.map((user) => user.presence)).toEqual(Array(AGENTS).fill('OnQueue'));

    crowd.set(crowd.get('1003')!, { state: 'NotReady', callType: 'None', reason: 'Break' });
    const userId = gc.userIdOf('1003')!;
    // Presence first, routing status in the next budget slot: wait for both.
    const onBreak = await eventually(() => gc.user(userId)!, (user) => user.presence === 'Break' && user.routingStatus === 'OffQueue');
    expect(onBreak).toMatchObject({ presence: 'Break', routingStatus: 'OffQueue' });

    await bridge.disconnect();
    crowd.set(crowd.get('1004')!, { state: 'LoggedOff', callType: 'None', reason: null });
    const loggedOff = await eventually(() => gc.user(gc.userIdOf('1004')!)!, (user) => user.presence === 'Offline' && user.routingStatus === 'OffQueue');
    expect(loggedOff).toMatchObject({ presence: 'Offline', routingStatus: 'OffQueue' });
  });
});
