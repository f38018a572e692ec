/**
 * End to end: `scope.source: gc` syncs every GC user carrying the identity key (here the employee id EXCS set),
 * found by listing users in pages, without any agent list in the config.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { startGcEmulator, type GcEmulator } from '../../src/emulators/gc/index.ts';
import { startStatServerEmulator, type StatServerEmulator } from '../../src/emulators/statserver/index.ts';
import { createSidecar, type Sidecar } from '../../src/sync/sidecar.ts';
import { setLogSink } from '../../src/log.ts';

describe('scope from GC', () => {
  let statServer: StatServerEmulator;
  let gc: GcEmulator;
  let sidecar: Sidecar;
  let directory: string;
  const restoreSink = setLogSink(() => {});

  beforeAll(async () => {
    statServer = await startStatServerEmulator({ agents: 12 });
    gc = await startGcEmulator({ usersCount: 8 });
    directory = mkdtempSync(join(tmpdir(), 'exas-e2e-'));
    for (const agent of statServer.agents()) statServer.setAgent(agent.agentId, { state: 'NotReady', callType: 'None', reason: 'Training' });
    const text = [
      'statServer:',
      `  endpoints: [{ baseUrl: "${statServer.url}" }]`,
      '  apiKey: exas-demo',
      '  bearerToken: exas-demo',
      'gc:',
      `  baseUrl: "${gc.url}"`,
      '  clients: [{ clientId: exas-demo, clientSecret: exas-demo-secret }]',
      'identity: { key: employeeId }',
      'scope: { source: gc }',
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
    await sidecar.connector.ready();
  });

  afterAll(async () => {
    await sidecar?.stop(1_000);
    await statServer?.close();
    await gc?.close();
    rmSync(directory, { recursive: true, force: true });
    setLogSink(restoreSink);
  });

  it('syncs exactly the agents that have a GC user', async () => {
    expect(sidecar.connector.summary().agents.total).toBe(8);
    const deadline = Date.now() + 15_000;
    const done = () => gc.users().every((user) => user.presence === 'Training' && user.routingStatus === 'OffQueue');
    while (!done() && Date.now() < deadline) await new Promise((wake) => setTimeout(wake, 25));
    expect(gc.users().map((user) => user.presence)).toEqual(Array(8).fill('Training'));
    expect(sidecar.connector.agent('1012')).toBeUndefined();
  });
});
