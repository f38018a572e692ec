/**
 * End to end: with a GC that shows only the primary source's presence (as real GC does), `gc.primarySource: fix`
 * makes EXAS's presence source primary so injected presences show.
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

const AGENTS = 4;

describe('primary presence source', () => {
  let statServer: StatServerEmulator;
  let gc: GcEmulator;
  let sidecar: Sidecar;
  let directory: string;
  const restoreSink = setLogSink(() => {});

  beforeAll(async () => {
    statServer = await startStatServerEmulator({ agents: AGENTS });
    gc = await startGcEmulator({ usersCount: AGENTS, enforcePrimarySource: true });
    directory = mkdtempSync(join(tmpdir(), 'exas-e2e-'));
    for (let i = 0; i < AGENTS; i += 1) statServer.setAgent(String(1001 + i), { state: 'NotReady', callType: 'None', reason: 'Meeting' });
    const text = [
      'statServer:',
      `  endpoints: [{ baseUrl: "${statServer.url}" }]`,
      '  apiKey: exas-demo',
      '  bearerToken: exas-demo',
      'gc:',
      `  baseUrl: "${gc.url}"`,
      '  clients: [{ clientId: exas-demo, clientSecret: exas-demo-secret }]',
      '  primarySource: fix',
      'scope:',
      '  source: list',
      `  agents: [${Array.from({ length: AGENTS }, (_, i) => `"${1001 + i}"`).join(', ')}]`,
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
    await sidecar?.stop(1_000);
    await statServer?.close();
    await gc?.close();
    rmSync(directory, { recursive: true, force: true });
    setLogSink(restoreSink);
  });

  it("with gc.primarySource fix, EXAS's source becomes primary and the injected presence shows", async () => {
    const exasSource = () => gc.sources().find((source) => source.name === 'EXAS')?.id;
    const deadline = Date.now() + 15_000;
    const done = () => gc.userIds().every((userId) => gc.primarySourceOf(userId) === exasSource() && gc.user(userId)?.presence === 'Meeting');
    while (!done() && Date.now() < deadline) await new Promise((wake) => setTimeout(wake, 25));
    expect(gc.users().map((user) => user.presence)).toEqual(Array(AGENTS).fill('Meeting'));
    expect(gc.userIds().map((userId) => gc.primarySourceOf(userId))).toEqual(Array(AGENTS).fill(exasSource()));
  });
});
