/**
 * Secrets never leave EXAS through its outputs. A full run (the real sidecar between the Stat Server and GC
 * emulators, as `exas run` wires it) with recognisable fake secrets in the environment, through faults that make
 * every component log (token revocation, GC outage, Stat Server disconnect, a rejected reload, wrong admin
 * tokens), and a second run with a wrong GC secret. Then every captured log line, every operator response
 * (/agents, /api/summary, /metrics, /readyz, error bodies) and every error message is searched for the secrets,
 * their Basic-auth encoding and the OAuth access tokens GC issued.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type ExasConfig } from '../../src/config/index.ts';
import { startGcEmulator, type GcEmulator } from '../../src/emulators/gc/index.ts';
import { startStatServerEmulator, type StatServerEmulator } from '../../src/emulators/statserver/index.ts';
import { setLogLevel, setLogSink, type LogSink } from '../../src/log.ts';
import { createSidecar, type Sidecar } from '../../src/sidecar/index.ts';
import { loadConfigOrReport, runSidecar, type RunSignals } from '../../src/cli/run.ts';
import { EventEmitter } from 'node:events';

const AGENTS = 5;
const SECRETS = {
  gcClientSecret: 'GCSECRET-7c1e9f2a-do-not-log',
  statApiKey: 'STATKEY-0b8d4e6c-do-not-log',
  statBearerToken: 'STATBEARER-5a2f8e1d-do-not-log',
  adminToken: 'ADMINTOKEN-9e3d1b7f-do-not-log',
  wrongGcSecret: 'WRONGGCSECRET-3f6a2c9e-do-not-log',
};
const CLIENT_ID = 'exas-security-client';

/** Everything EXAS wrote or answered during the runs, searched at the end. */
const captured: string[] = [];
/** Access tokens GC issued to EXAS (read off the wire), searched too. */
const issuedTokens: string[] = [];

async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await new Promise((done) => setTimeout(done, 25));
  }
  return true;
}

function configFor(statServer: StatServerEmulator, gc: GcEmulator, directory: string, gcSecret: string): ExasConfig {
  const rulesFile = join(directory, 'exas.rules.yaml');
  const text = [
    'statServer:',
    `  endpoints: [{ baseUrl: "${statServer.url}" }]`,
    'gc:',
    `  baseUrl: "${gc.url}"`,
    'scope:',
    '  source: list',
    `  agents: [${Array.from({ length: AGENTS }, (_, i) => `"${1001 + i}"`).join(', ')}]`,
    'rules:',
    `  file: "${rulesFile}"`,
    '  watch: false',
    'store:',
    `  path: "${join(directory, 'state.json')}"`,
    'http:',
    '  listen: 127.0.0.1:0',
    'lifecycle:',
    '  retryInitialDelayMs: 50',
    '  retryMaxDelayMs: 300',
    'log:',
    '  level: debug',
  ].join('\n');
  const env = {
    EXAS_GC_CLIENT_ID: CLIENT_ID,
    EXAS_GC_CLIENT_SECRET: gcSecret,
    EXAS_STAT_API_KEY: SECRETS.statApiKey,
    EXAS_STAT_BEARER_TOKEN: SECRETS.statBearerToken,
    EXAS_HTTP_TOKEN: SECRETS.adminToken,
  };
  const { config, errors, warnings } = loadConfig(text, join(directory, 'exas.yaml'), { env });
  captured.push(...[...errors, ...warnings].map((d) => JSON.stringify(d)));
  expect(errors).toEqual([]);
  return config!;
}

describe('secrets in a full run', () => {
  let statServer: StatServerEmulator;
  let gc: GcEmulator;
  let directory: string;
  let previousSink: LogSink;
  const running: Sidecar[] = [];
  const originalFetch = globalThis.fetch;

  beforeAll(async () => {
    previousSink = setLogSink((line) => captured.push(line));
    setLogLevel('debug');
    // Read the access tokens GC hands out, so the search below can look for them too.
    globalThis.fetch = async (input, init) => {
      const response = await originalFetch(input, init);
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (url.endsWith('/oauth/token') && response.ok) {
        const body = (await response.clone().json()) as { access_token?: string };
        if (body.access_token) issuedTokens.push(body.access_token);
      }
      return response;
    };
    statServer = await startStatServerEmulator({ agents: AGENTS, apiKey: SECRETS.statApiKey, bearerToken: SECRETS.statBearerToken });
    gc = await startGcEmulator({ usersCount: AGENTS, clients: [{ clientId: CLIENT_ID, clientSecret: SECRETS.gcClientSecret }] });
    directory = mkdtempSync(join(tmpdir(), 'exas-security-'));
    writeFileSync(join(directory, 'exas.rules.yaml'), await import('node:fs').then((fs) => fs.readFileSync(resolve('exas.rules.yaml'), 'utf8')));
  });

  afterAll(async () => {
    for (const sidecar of running) await sidecar.stop(200).catch(() => undefined);
    globalThis.fetch = originalFetch;
    await statServer?.close();
    await gc?.close();
    rmSync(directory, { recursive: true, force: true });
    setLogSink(previousSink);
    setLogLevel('info');
  });

  it('a run through faults, operator calls and a wrong-secret run never outputs a secret', async () => {
    // ---- Run 1: correct secrets, through faults.
    const sidecar: Sidecar = createSidecar(configFor(statServer, gc, directory, SECRETS.gcClientSecret));
    running.push(sidecar);
    await sidecar.start();
    await sidecar.connector.ready();
    const http = sidecar.http!;
    const admin = { authorization: `Bearer ${SECRETS.adminToken}` };
    const get = async (path: string, headers: Record<string, string> = admin): Promise<Response> => {
      const response = await fetch(`${http.url}${path}`, { headers });
      const headerLines: string[] = [];
      response.headers.forEach((value, name) => headerLines.push(`${name}: ${value}`));
      captured.push(`${path} ${response.status} ${headerLines.join('; ')} ${await response.clone().text()}`);
      return response;
    };

    const setAll = async (state: string, callType: string, reason: string | null): Promise<void> => {
      for (const agent of statServer.agents()) statServer.setAgent(agent.agentId, { state, callType, reason } as never);
    };
    await setAll('NotReady', 'None', 'Break');
    expect(await eventually(() => gc.users().every((user) => user.presence === 'Break'))).toBe(true);

    // A person changes a user in GC: drift is noticed and re-asserted (more log lines, notification sockets).
    expect(await eventually(() => gc.channels().topics >= AGENTS)).toBe(true);
    gc.setUserState(gc.userIdOf('1001')!, { presence: 'Training' });
    expect(await eventually(() => gc.user(gc.userIdOf('1001')!)?.presence === 'Break')).toBe(true);

    gc.setFaults({ revokeTokens: true });
    await setAll('Ready', 'None', null);
    expect(await eventually(() => gc.users().every((user) => user.presence === 'OnQueue'))).toBe(true);

    gc.setFaults({ outageSeconds: 1 });
    await setAll('NotReady', 'None', 'Meal');
    statServer.applyFaults({ disconnect: true });
    expect(await eventually(() => gc.users().every((user) => user.presence === 'Meal'), 20_000)).toBe(true);
    gc.setFaults({});

    // A broken rules file is rejected over HTTP; the last good rules stay live.
    writeFileSync(join(directory, 'exas.rules.yaml'), 'rules:\n  - name: x\n    presence: Busy\n    routingStatus: Sleeping\n');
    const reload = await fetch(`${http.url}/-/reload`, { method: 'POST', headers: admin });
    captured.push(`reload ${reload.status} ${await reload.text()}`);
    expect(reload.status).toBe(400);

    // After the faults EXAS is ready again once a full resync has settled (the reconnect's may still be running:
    // /readyz answers 503 meanwhile, which is the probe's answer, not a failure).
    expect(await eventually(async () => (await fetch(`${http.url}/readyz`)).status === 200, 30_000)).toBe(true);
    // Operator views, with the right token, wrong tokens, and a secret sent where a token goes.
    for (const path of ['/agents?limit=500', '/agents/1001', '/agents/1003', '/api/summary', '/readyz', '/livez', '/metrics']) {
      expect((await get(path)).status).toBeLessThan(500);
    }
    for (const wrong of [`Bearer ${SECRETS.adminToken}x`, `Bearer ${SECRETS.gcClientSecret}`, `Basic ${Buffer.from(`${CLIENT_ID}:${SECRETS.gcClientSecret}`).toString('base64')}`]) {
      expect([400, 401]).toContain((await get('/agents', { authorization: wrong })).status);
    }
    const dryRun = await fetch(`${http.url}/dry-run`, { method: 'POST', headers: admin, body: JSON.stringify({ events: [{ agentId: '1001', state: 'Ready', callType: 'None', reason: null }], rules: 'rules: [' }) });
    captured.push(`dry-run ${dryRun.status} ${await dryRun.text()}`);

    const stopped = await sidecar.stop(1_000);
    captured.push(JSON.stringify(stopped));

    // ---- Run 2: a wrong GC client secret: GC refuses the login, EXAS says so without printing either secret.
    const refused = createSidecar(configFor(statServer, gc, directory, SECRETS.wrongGcSecret));
    running.push(refused);
    await refused.start();
    expect(await eventually(() => captured.some((line) => /"level":"(warn|error)"/.test(line) && /auth|token|401|credential|login/i.test(line)), 10_000)).toBe(true);
    captured.push(JSON.stringify(refused.connector.readiness()));
    captured.push(JSON.stringify(refused.connector.metricsSnapshot()));
    captured.push(await refused.metrics.render());
    await refused.stop(200);

    // ---- The search.
    expect(issuedTokens.length).toBeGreaterThan(1);
    const all = captured.join('\n');
    expect(all.length).toBeGreaterThan(10_000);
    const forbidden = [
      ...Object.values(SECRETS),
      Buffer.from(`${CLIENT_ID}:${SECRETS.gcClientSecret}`).toString('base64'),
      Buffer.from(`${CLIENT_ID}:${SECRETS.wrongGcSecret}`).toString('base64'),
      ...issuedTokens,
    ];
    for (const secret of forbidden) {
      const line = captured.find((text) => text.includes(secret));
      expect({ secret: secret.slice(0, 12), line }).toEqual({ secret: secret.slice(0, 12), line: undefined });
    }
    // Not only the known values: no credential-shaped header value made it into a log line unredacted.
    expect(all).not.toMatch(/\b(Bearer|Basic) (?!\[redacted\])[A-Za-z0-9._~+/=-]{8,}/);
  });
  it('exas run from a config whose secrets live in secret files never prints them (CLI output, logs, SIGHUP, SIGTERM)', async () => {
    const files = {
      gc: join(directory, 'gc-secret'),
      apiKey: join(directory, 'stat-api-key'),
      bearer: join(directory, 'stat-bearer'),
      token: join(directory, 'http-token'),
    };
    writeFileSync(files.gc, `${SECRETS.gcClientSecret}\n`);
    writeFileSync(files.apiKey, `${SECRETS.statApiKey}\n`);
    writeFileSync(files.bearer, SECRETS.statBearerToken);
    writeFileSync(files.token, `${SECRETS.adminToken}\n`);
    writeFileSync(join(directory, 'exas.rules.yaml'), await import('node:fs').then((fs) => fs.readFileSync(resolve('exas.rules.yaml'), 'utf8')));
    const configFile = join(directory, 'exas-files.yaml');
    writeFileSync(
      configFile,
      [
        'statServer:',
        `  endpoints: [{ baseUrl: "${statServer.url}" }]`,
        `  apiKeyFile: "${files.apiKey}"`,
        `  bearerTokenFile: "${files.bearer}"`,
        'gc:',
        `  baseUrl: "${gc.url}"`,
        `  clients: [{ clientId: "${CLIENT_ID}", clientSecretFile: "${files.gc}" }]`,
        'scope: { source: list, agents: ["1001", "1002"] }',
        `rules: { file: "${join(directory, 'exas.rules.yaml')}", watch: false }`,
        `store: { path: "${join(directory, 'state-cli.json')}" }`,
        `http: { listen: "127.0.0.1:0", tokenFile: "${files.token}" }`,
        'log: { level: debug }',
      ].join('\n'),
    );
    const io = { out: (text: string) => captured.push(`stdout: ${text}`), err: (text: string) => captured.push(`stderr: ${text}`), readStdin: async () => '', colour: false };
    const config = loadConfigOrReport(configFile, io);
    expect(config).not.toBeNull();
    const emitter = new EventEmitter();
    const signals: RunSignals = { on: (name, listener) => void emitter.on(name, listener), off: (name, listener) => void emitter.off(name, listener) };
    let sidecar: Sidecar | undefined;
    const exit = runSidecar(config!, signals, (started) => (sidecar = started), () => undefined);
    expect(await eventually(() => sidecar !== undefined && sidecar.connector.readiness().initialResyncDone)).toBe(true);
    statServer.setAgent('1001', { state: 'NotReady', callType: 'None', reason: 'Meeting' } as never);
    expect(await eventually(() => gc.user(gc.userIdOf('1001')!)?.presence === 'Meeting')).toBe(true);
    emitter.emit('SIGHUP');
    const agents = await fetch(`${sidecar!.http!.url}/agents`, { headers: { authorization: `Bearer ${SECRETS.adminToken}` } });
    expect(agents.status).toBe(200);
    captured.push(await agents.text());
    emitter.emit('SIGTERM');
    expect(await exit).toBe(0);

    const all = captured.join('\n');
    for (const secret of [SECRETS.gcClientSecret, SECRETS.statApiKey, SECRETS.statBearerToken, SECRETS.adminToken, ...issuedTokens]) {
      expect(all.includes(secret), secret.slice(0, 12)).toBe(false);
    }
    expect(all).toMatch(/"msg":"stop requested"/);
  });
});
