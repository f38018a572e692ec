/**
 * End to end: a full resync of N users from a cold store costs about 2N / 100 write requests (presence and
 * routing status injects of 100 users each) plus about N / 100 bulk reads, within GC's budget.
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

const USERS = 450;

describe('resync cost', () => {
  let statServer: StatServerEmulator;
  let gc: GcEmulator;
  let sidecar: Sidecar;
  let directory: string;
  const restoreSink = setLogSink(() => {});

  beforeAll(async () => {
    statServer = await startStatServerEmulator({ agents: USERS });
    gc = await startGcEmulator({ usersCount: USERS });
    directory = mkdtempSync(join(tmpdir(), 'exas-e2e-'));
    for (let i = 0; i < USERS; i += 1) statServer.setAgent(String(1001 + i), { state: 'Ready', callType: 'Inbound', reason: null });
  });

  afterAll(async () => {
    await sidecar?.stop(1_000);
    await statServer?.close();
    await gc?.close();
    rmSync(directory, { recursive: true, force: true });
    setLogSink(restoreSink);
  });

  it(`converges ${USERS} users with O(N/100) inject requests (2N/100 at best) and N/100 bulk reads, no 429`, async () => {
    const agents = Array.from({ length: USERS }, (_, i) => String(1001 + i));
    const scopeFile = join(directory, 'agents.txt');
    await import('node:fs/promises').then((fs) => fs.writeFile(scopeFile, agents.join('\n')));
    const text = [
      'statServer:',
      `  endpoints: [{ baseUrl: "${statServer.url}" }]`,
      '  apiKey: exas-demo',
      '  bearerToken: exas-demo',
      'gc:',
      `  baseUrl: "${gc.url}"`,
      '  clients: [{ clientId: exas-demo, clientSecret: exas-demo-secret }]',
      'identity: { key: employeeId }',
      'scope:',
      '  source: file',
      '  file: agents.txt',
      'rules:',
      `  file: "${resolve('exas.rules.yaml')}"`,
      '  watch: false',
      'drift: { policy: "off" }',
      'store:',
      '  path: state.json',
      'http:',
      '  listen: 127.0.0.1:0',
    ].join('\n');
    const { config, errors } = loadConfig(text, join(directory, 'exas.yaml'), { env: {} });
    expect(errors).toEqual([]);
    sidecar = createSidecar(config!);
    await sidecar.start();
    await sidecar.connector.ready();
    const deadline = Date.now() + 30_000;
    const converged = () => gc.users().every((user) => user.presence === 'OnQueue' && user.routingStatus === 'Interacting');
    while (!converged() && Date.now() < deadline) await new Promise((wake) => setTimeout(wake, 50));
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
    expect(count('GET /api/v2/users') - count('externalid')).toBeLessThanOrEqual(batches + 1);
    expect(gc.stats().rateLimited).toBe(0);
  });
});
