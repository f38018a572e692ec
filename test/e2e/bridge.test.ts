/**
 * End to end through the bridge adapter: a PSDK bridge (the simulator, listening) ← EXAS dials it
 * (`statServer.source: bridge`) → GC emulator. Changes in the crowd end mapped in GC, and a dropped bridge link
 * is followed by a resync.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { startGcEmulator, type GcEmulator } from '../../src/emulators/gc/index.ts';
import { BridgeSimulator, Crowd } from '../../src/emulators/statserver/index.ts';
import { createSidecar, type Sidecar } from '../../src/sync/sidecar.ts';
import { setLogSink } from '../../src/log.ts';

const AGENTS = 5;
const IDS = Array.from({ length: AGENTS }, (_, i) => String(1001 + i));

async function eventually<T>(read: () => T, holds: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = read();
  while (!holds(value) && Date.now() <= deadline) {
    await new Promise((wake) => setTimeout(wake, 25));
    value = read();
  }
  return value;
}

describe('EXAS through the PSDK bridge adapter', () => {
  let crowd: Crowd;
  let bridge: BridgeSimulator;
  let gc: GcEmulator;
  let sidecar: Sidecar;
  let directory: string;
  const restoreSink = setLogSink(() => {});

  beforeAll(async () => {
    crowd = new Crowd(AGENTS, 7);
    for (const id of IDS) crowd.set(crowd.get(id)!, { state: 'Ready', callType: 'None', reason: null });
    bridge = new BridgeSimulator({ crowd, token: 'bridge-secret' });
    const url = await bridge.listen();
    gc = await startGcEmulator({ usersCount: AGENTS });
    directory = mkdtempSync(join(tmpdir(), 'exas-e2e-'));
    const text = [
      'statServer:',
      '  source: bridge',
      `  endpoints: [{ baseUrl: "${url}" }]`,
      '  bearerToken: bridge-secret',
      '  reconnect: { initialDelayMs: 50, maxDelayMs: 300 }',
      'gc:',
      `  baseUrl: "${gc.url}"`,
      '  clients: [{ clientId: exas-demo, clientSecret: exas-demo-secret }]',
      'scope:',
      '  source: list',
      `  agents: [${IDS.map((id) => `"${id}"`).join(', ')}]`,
      'rules:',
      `  file: "${resolve('exas.rules.yaml')}"`,
      '  watch: false',
      'store:',
      `  path: "${join(directory, 'state.json')}"`,
      'http:',
      '  listen: 127.0.0.1:0',
    ].join('\n');
    const { config, errors } = loadConfig(text, join(directory, 'exas.yaml'), { env: {} });
    expect(errors).toEqual([]);
    sidecar = createSidecar(config!);
    await sidecar.start();
  });

  afterAll(async () => {
    // The simulator first (its close waits for an open socket to close), then EXAS.
    await bridge?.close();
    await sidecar?.stop(1_000);
    await gc?.close();
    rmSync(directory, { recursive: true, force: true });
    setLogSink(restoreSink);
  });

  it('the crowd ends mapped in GC, and changes flow after the bridge link drops and comes back', async () => {
    const onQueue = await eventually(() => gc.users(), (users) => users.every((user) => user.presence === 'OnQueue' && user.routingStatus === 'Idle'));
    expect(onQueue.map((user) => user.presence)).toEqual(Array(AGENTS).fill('OnQueue'));

    crowd.set(crowd.get('1003')!, { state: 'NotReady', callType: 'None', reason: 'Break' });
    const userId = gc.userIdOf('1003')!;
    const onBreak = await eventually(() => gc.user(userId)!, (user) => user.presence === 'Break');
    expect(onBreak).toMatchObject({ presence: 'Break', routingStatus: 'OffQueue' });

    await bridge.disconnect();
    crowd.set(crowd.get('1004')!, { state: 'LoggedOff', callType: 'None', reason: null });
    const loggedOff = await eventually(() => gc.user(gc.userIdOf('1004')!)!, (user) => user.presence === 'Offline' && user.routingStatus === 'OffQueue');
    expect(loggedOff).toMatchObject({ presence: 'Offline', routingStatus: 'OffQueue' });
  });
});
