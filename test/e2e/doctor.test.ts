/**
 * `exas doctor` against the real emulators (strict by default): the passing case, and each failing case the
 * issue names — a missing permission, a presence the rules need that the org lacks, unresolvable agents, users
 * without EXAS's source as primary, an agent Stat Server refuses — each failing with its cause named; `--fix`
 * migrating the primary source, resumable after an interruption; the CLI's output, exit codes and help.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.ts';
import { runDoctor, type Check, type DoctorReport } from '../../src/doctor/index.ts';
import { EXAS_PERMISSIONS } from '../../src/emulators/gc/index.ts';
import { BridgeSimulator, Crowd } from '../../src/emulators/statserver/index.ts';
import { DEFAULT_RULES_FILE, eventually, startE2eRig, type E2eRig } from '../helpers/e2e.ts';
import { captureIo } from '../helpers/capture-io.ts';

let rig: E2eRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

const check = (report: DoctorReport, id: string): Check => {
  const found = report.checks.find((candidate) => candidate.id === id);
  if (found === undefined) throw new Error(`no check ${id} in ${report.checks.map((c) => c.id).join(', ')}`);
  return found;
};
const failed = (report: DoctorReport): string[] => report.checks.filter((c) => c.status === 'fail').map((c) => c.id);
const doctor = (config: Parameters<typeof runDoctor>[0], options: Partial<Parameters<typeof runDoctor>[1]> = {}): Promise<DoctorReport> =>
  runDoctor(config, { fix: false, statServerTimeoutMs: 5000, ...options });
/**
 * Most tests run with a 20× budget on both sides (the doctor paces exactly as the sidecar does, which makes a
 * default-budget run take seconds); the passing case and the interrupted --fix keep GC's default 300/min.
 */
const FAST_GC = { budget: 6000 };
const fast = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  ...overrides,
  gc: { requestsPerMinute: 6000, ...((overrides['gc'] as Record<string, unknown> | undefined) ?? {}) },
});
/** Requests the GC emulator served on one route (by its label, e.g. `PUT /api/v2/presence/users/:userId/primarysource`). */
const served = (gc: E2eRig['gc'], route: string): number => {
  const byRoute = gc.stats().byRoute as Record<string, number | { requests?: number }>;
  const entry = byRoute[route];
  return typeof entry === 'number' ? entry : (entry?.requests ?? 0);
};

describe('exas doctor: the passing case', () => {
  it('passes against a healthy org whose users already have EXAS primary, and reads nothing but GC and Stat Server', async () => {
    rig = await startE2eRig({ agents: 12, gc: { primarySourceFor: 'EXAS' } });
    const before = rig.gc.users().map((user) => ({ ...user }));
    const report = await doctor(rig.config());
    expect(failed(report)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(check(report, 'gc.token.0').status).toBe('pass');
    expect(check(report, 'gc.permissions.0').data?.['missing']).toEqual([]);
    expect(check(report, 'gc.presence-source').status).toBe('pass');
    expect(check(report, 'gc.identity').data).toMatchObject({ scope: 12, resolved: 12, unresolved: 0 });
    expect(check(report, 'gc.primary-source').data).toMatchObject({ users: 12, primary: 12, notPrimary: 0 });
    expect(check(report, 'gc.channel.0').status).toBe('pass');
    expect(check(report, 'statserver.endpoint.0').status).toBe('pass');
    const statistics = check(report, 'statserver.statistics');
    expect(statistics.data).toMatchObject({ agents: 12, withState: 12, refused: 0 });
    // The state distribution is Stat Server's.
    const states = new Map<string, number>();
    for (const agent of rig.statServer.agents()) states.set(agent.state, (states.get(agent.state) ?? 0) + 1);
    expect(statistics.data?.['states']).toEqual(Object.fromEntries(states));
    // Impact: every user still shows Offline / Off Queue, so every agent whose rule output differs would change.
    const impact = check(report, 'impact');
    const changing = [...rig.expected().values()].filter((expected) => !(expected.presence === 'Offline' && expected.routingStatus === 'OffQueue')).length;
    expect(impact.data?.['changing']).toBe(changing);
    expect(impact.summary).toContain(`${changing} users would change`);
    // Read-only: no user changed, no source was created.
    expect(rig.gc.users()).toEqual(before);
    expect(rig.gc.sources().map((source) => source.name).sort()).toEqual(['EXAS', 'PURECLOUD']);
  });

  it('checks a PSDK bridge the sidecar dials (statServer.source: bridge) the same way', async () => {
    rig = await startE2eRig({ agents: 5, gc: { ...FAST_GC, primarySourceFor: 'EXAS' } });
    const crowd = new Crowd(5, 7);
    for (const id of rig.agentIds) crowd.set(crowd.get(id) as NonNullable<ReturnType<Crowd['get']>>, { state: 'NotReady', callType: 'None', reason: 'Break' });
    const bridge = new BridgeSimulator({ crowd, token: 'bridge-secret' });
    const url = await bridge.listen();
    try {
      const report = await doctor(rig.config(fast({ statServer: { source: 'bridge', endpoints: [{ baseUrl: url }], apiKey: undefined, bearerToken: 'bridge-secret' } })));
      expect(failed(report)).toEqual([]);
      expect(check(report, 'statserver.endpoint.0').summary).toBe(`${url}: connected`);
      expect(check(report, 'statserver.statistics').data).toMatchObject({ agents: 5, withState: 5, states: { NotReady: 5 } });
      expect(check(report, 'impact').data?.['transitions']).toEqual([
        { from: { presence: 'Offline', routingStatus: 'OffQueue' }, to: { presence: 'Break', routingStatus: 'OffQueue' }, count: 5 },
      ]);
    } finally {
      await bridge.close();
    }
  });
});

describe('exas doctor: failing cases, each named', () => {
  it('names the permissions the OAuth client lacks, from the 403 bodies of the probes', async () => {
    rig = await startE2eRig({ agents: 4, gc: { ...FAST_GC, primarySourceFor: 'EXAS' } });
    const granted = EXAS_PERMISSIONS.filter((permission) => permission !== 'presence:userPresence:inject' && permission !== 'presence:userPrimarySource:view');
    const response = await fetch(`${rig.gc.url}/emulator/clients/exas-demo/permissions`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ permissions: granted }),
    });
    expect(response.status).toBe(200);
    const report = await doctor(rig.config(fast({ gc: { primarySource: 'check' } })));
    const permissions = check(report, 'gc.permissions.0');
    expect(permissions.status).toBe('fail');
    expect(permissions.data?.['missing']).toEqual(['presence:userPrimarySource:view', 'presence:userPresence:inject']);
    expect(permissions.summary).toBe('client 0 (exas-demo): missing 2 permissions: presence:userPrimarySource:view, presence:userPresence:inject');
    expect(permissions.details).toEqual([
      'GET /api/v2/presence/users/{userId}/primarysource (check the primary presence source): 403, needs presence:userPrimarySource:view',
      'POST /api/v2/events/users/presence (write presence (inject)): 403, needs presence:userPresence:inject',
    ]);
    expect(permissions.remedy).toMatch(/^add presence:userPrimarySource:view, presence:userPresence:inject to a role of the OAuth client/);
    // The primary-source count cannot be made without its permission, and says so.
    expect(check(report, 'gc.primary-source').status).toBe('fail');
    expect(check(report, 'gc.primary-source').details?.[0]).toMatch(/403/);
    expect(failed(report)).toEqual(['gc.permissions.0', 'gc.primary-source']);

    // Granted again, the same org passes.
    rig.gc.setClientPermissions('exas-demo', EXAS_PERMISSIONS);
    expect(failed(await doctor(rig.config(fast({ gc: { primarySource: 'check' } }))))).toEqual([]);
  });

  it('names a presence the rules need that the org lacks', async () => {
    rig = await startE2eRig({ agents: 4, gc: { ...FAST_GC, primarySourceFor: 'EXAS' } });
    const rulesFile = join(rig.directory, 'huddle.rules.yaml');
    const seed = readFileSync(DEFAULT_RULES_FILE, 'utf8');
    writeFileSync(
      rulesFile,
      seed
        .replace('rules:\n', 'customPresences:\n  - { label: Team Huddle, system: Busy }\nrules:\n')
        .replace(
          '  - name: not-ready-other-reason\n',
          '  - name: huddle\n    when: { state: NotReady, callType: None, reason: Huddle }\n    presence: Team Huddle\n    routingStatus: OffQueue\n  - name: not-ready-other-reason\n',
        ),
    );
    const report = await doctor(rig.config(fast({ rules: { file: rulesFile } })));
    expect(failed(report)).toEqual(['gc.presences']);
    const presences = check(report, 'gc.presences');
    expect(presences.summary).toContain("'Team Huddle'");
    expect(presences.data?.['missing']).toEqual(['Team Huddle']);
    expect(presences.remedy).toMatch(/create it in GC/);
    expect(report.ok).toBe(false);
  });

  it('counts agents without a GC user and says why for each example', async () => {
    rig = await startE2eRig({ agents: 12, gcUsers: 9, gc: { ...FAST_GC, primarySourceFor: 'EXAS' } });
    const report = await doctor(rig.config(fast()));
    expect(failed(report)).toEqual(['gc.identity']);
    const identity = check(report, 'gc.identity');
    expect(identity.data).toMatchObject({ scope: 12, resolved: 9, unresolved: 3, examples: ['1010', '1011', '1012'] });
    expect(identity.summary).toBe('9 of 12 agents in scope resolve to GC users by externalId; 3 do not');
    expect(identity.details).toEqual([
      "1010: no GC user has external id '1010' under authority 'engage'",
      "1011: no GC user has external id '1011' under authority 'engage'",
      "1012: no GC user has external id '1012' under authority 'engage'",
    ]);
    // The rest is still checked: the 9 resolvable users are primary and counted in the impact.
    expect(check(report, 'gc.primary-source').data).toMatchObject({ users: 9, primary: 9 });
    expect(check(report, 'impact').data?.['agents']).toBe(9);
  });

  it('fails on users without EXAS primary under gc.primarySource check, notes them under fix', async () => {
    rig = await startE2eRig({ agents: 6, org: 'new', gc: FAST_GC });
    const { id: sourceId } = await createSource(rig, 'EXAS');
    // Two users already have it primary (as after part of a migration).
    const [first, second] = rig.gc.userIds();
    await setPrimary(rig, first as string, sourceId);
    await setPrimary(rig, second as string, sourceId);

    const checked = await doctor(rig.config(fast({ gc: { primarySource: 'check' } })));
    expect(failed(checked)).toEqual(['gc.primary-source']);
    const primary = check(checked, 'gc.primary-source');
    // What the users show names the source: the four showing PURECLOUD as their primary need no request of
    // their own; the two whose primary (EXAS) has shown nothing yet are asked one by one.
    expect(primary.data).toMatchObject({ users: 6, primary: 2, notPrimary: 4, askedOneByOne: 2 });
    expect(served(rig.gc, 'GET /api/v2/presence/users/:userId/primarysource')).toBe(2 + 1);
    expect(primary.summary).toContain("4 of 6 synced users do not have 'EXAS' as primary presence source");
    expect(primary.remedy).toMatch(/exas doctor --fix/);

    const fixMode = await doctor(rig.config(fast({ gc: { primarySource: 'fix' } })));
    expect(fixMode.ok).toBe(true);
    expect(check(fixMode, 'gc.primary-source').status).toBe('warn');
    expect(check(fixMode, 'gc.primary-source').summary).toMatch(/the sidecar makes it primary for them at start/);
    // Read-only: still two.
    expect(rig.gc.userIds().filter((userId) => rig?.gc.primarySourceOf(userId) === sourceId)).toHaveLength(2);
  });

  it('notes a presence source the sidecar would create, without creating it', async () => {
    rig = await startE2eRig({ agents: 3, org: 'new', gc: FAST_GC });
    const report = await doctor(rig.config(fast({ gc: { primarySource: 'fix' } })));
    expect(check(report, 'gc.presence-source').status).toBe('warn');
    expect(check(report, 'gc.presence-source').summary).toMatch(/does not exist yet: the sidecar creates it at its first start/);
    // Nobody can have a source that does not exist as primary; no request was needed to say so.
    expect(check(report, 'gc.primary-source').data).toMatchObject({ users: 3, notPrimary: 3 });
    // Only the permission probe, aimed at the nil user id.
    expect(served(rig.gc, 'GET /api/v2/presence/users/:userId/primarysource')).toBe(1);
    expect(report.ok).toBe(true);
    expect(rig.gc.sources().map((source) => source.name)).toEqual(['PURECLOUD']);
  });

  it('names the agents Stat Server refuses, with its message, and still counts the others', async () => {
    rig = await startE2eRig({ agents: 10, gc: { ...FAST_GC, primarySourceFor: 'EXAS' } });
    rig.statServer.applyFaults({ unknownAgents: ['1004', '1007'] });
    const report = await doctor(rig.config(fast()));
    expect(failed(report)).toEqual(['statserver.statistics']);
    const statistics = check(report, 'statserver.statistics');
    expect(statistics.data).toMatchObject({ agents: 10, refused: 2, withState: 8, refusedExamples: ['1004', '1007'] });
    expect(statistics.details?.[0]).toMatch(/^1004: /);
    expect(statistics.details?.[0]).not.toBe('1004: refused by Stat Server');
    expect(check(report, 'impact').data?.['agents']).toBe(8);
  });

  it('names an unreachable Stat Server endpoint', async () => {
    rig = await startE2eRig({ agents: 3, gc: { ...FAST_GC, primarySourceFor: 'EXAS' } });
    const report = await doctor(rig.config(fast({ statServer: { apiKey: 'wrong-key' } })), { statServerTimeoutMs: 2000 });
    expect(failed(report)).toContain('statserver.endpoint.0');
    expect(check(report, 'statserver.endpoint.0').summary).toMatch(/cannot connect/);
    expect(check(report, 'statserver.statistics').status).toBe('skip');
  });

  it('names a rules file with errors, and says what it could not check without it', async () => {
    rig = await startE2eRig({ agents: 3, gc: { ...FAST_GC, primarySourceFor: 'EXAS' } });
    const rulesFile = join(rig.directory, 'broken.rules.yaml');
    writeFileSync(rulesFile, 'version: 1\nrules:\n  - name: typo\n    when: { state: Redy }\n    presence: OnQueue\n    routingStatus: Idle\n');
    const report = await doctor(rig.config(fast({ rules: { file: rulesFile } })));
    expect(failed(report)).toEqual(['config.rules']);
    expect(check(report, 'config.rules').details?.[0]).toMatch(/broken\.rules\.yaml:4:\d+: .*Redy/);
    expect(check(report, 'gc.presences').status).toBe('skip');
    expect(check(report, 'impact').status).toBe('skip');
    // The rest does not need the rules and is still checked.
    expect(check(report, 'gc.identity').status).toBe('pass');
    expect(check(report, 'statserver.statistics').status).toBe('pass');
  });

  it('names a refused token', async () => {
    rig = await startE2eRig({ agents: 3, gc: FAST_GC });
    const report = await doctor(rig.config(fast({ gc: { clients: [{ clientId: 'exas-demo', clientSecret: 'not-the-secret' }] } })));
    expect(check(report, 'gc.token.0').status).toBe('fail');
    expect(check(report, 'gc.token.0').summary).toMatch(/token refused/);
    expect(report.ok).toBe(false);
  });
});

describe('exas doctor after the sidecar', () => {
  it("takes the users the sidecar confirmed (saved in its store) as primary without asking GC again", async () => {
    rig = await startE2eRig({ agents: 6, org: 'new', gc: FAST_GC });
    const sidecar = await rig.startSidecar(fast({ gc: { primarySource: 'fix' }, drift: { policy: 'off' } }));
    const gc = rig.gc;
    const allPrimary = (): boolean => {
      const source = gc.sources().find((candidate) => candidate.name === 'EXAS');
      return source !== undefined && gc.userIds().every((userId) => gc.primarySourceOf(userId) === source.id);
    };
    expect(await eventually(allPrimary, (done) => done, 20_000)).toBe(true);
    // The sidecar remembers the users once it has seen them shown from its source.
    expect(await eventually(() => sidecar.connector.metricsSnapshot().gc?.primarySource?.confirmed ?? 0, (confirmed) => confirmed === 6, 20_000)).toBe(6);
    await sidecar.stop();
    gc.resetStats();
    const report = await doctor(rig.config(fast({ gc: { primarySource: 'check' } })));
    expect(check(report, 'gc.primary-source').data).toMatchObject({ users: 6, primary: 6, knownFromStore: 6, askedOneByOne: 0 });
    expect(served(gc, 'GET /api/v2/presence/users/:userId/primarysource')).toBe(1); // the permission probe only
  });
});

describe('exas doctor --fix', () => {
  it('creates the source and makes it primary for every synced user; a second run has nothing left to do', async () => {
    rig = await startE2eRig({ agents: 8, org: 'new', gc: FAST_GC });
    const progress: string[] = [];
    const report = await doctor(rig.config(fast({ gc: { primarySource: 'check' } })), { fix: true, progress: (line) => progress.push(line) });
    expect(failed(report)).toEqual([]);
    const sourceId = rig.gc.sources().find((source) => source.name === 'EXAS')?.id;
    expect(sourceId).toBeDefined();
    expect(rig.gc.userIds().every((userId) => rig?.gc.primarySourceOf(userId) === sourceId)).toBe(true);
    expect(check(report, 'gc.primary-source').data).toMatchObject({ users: 8, madePrimary: 8, confirmedEarlier: 0 });
    expect(progress.at(-1)).toMatch(/^primary source \(--fix\): 8\/8 \(100 %\), [\d.]+\/s, done$/);
    // One PUT per user, no GET before it (plus one of each from the permission probes, on the nil user id).
    expect(served(rig.gc, 'PUT /api/v2/presence/users/:userId/primarysource')).toBe(8 + 1);
    expect(served(rig.gc, 'GET /api/v2/presence/users/:userId/primarysource')).toBe(0 + 1);

    rig.gc.resetStats();
    const again = await doctor(rig.config(fast({ gc: { primarySource: 'check' } })), { fix: true });
    expect(check(again, 'gc.primary-source').data).toMatchObject({ madePrimary: 0, confirmedEarlier: 8 });
    expect(served(rig.gc, 'PUT /api/v2/presence/users/:userId/primarysource')).toBe(0 + 1);
    // And the read-only doctor now passes.
    expect((await doctor(rig.config(fast({ gc: { primarySource: 'check' } })))).ok).toBe(true);
  });

  it('continues where an interrupted run stopped', async () => {
    // A budget of 1,200/min: the PUTs are paced ~50 ms apart, slow enough to interrupt mid-run.
    rig = await startE2eRig({ agents: 30, org: 'new', gc: { budget: 1200 } });
    const config = rig.config({ gc: { primarySource: 'check', requestsPerMinute: 1200 }, identity: { key: 'employeeId' } });
    const abort = new AbortController();
    const gc = rig.gc;
    // Interrupt once ten users have been made primary (observed in the emulator, not timed).
    const poll = setInterval(() => {
      const source = gc.sources().find((candidate) => candidate.name === 'EXAS');
      const made = source === undefined ? 0 : gc.userIds().filter((userId) => gc.primarySourceOf(userId) === source.id).length;
      if (made >= 10) abort.abort(new Error('interrupted'));
    }, 5);
    const first = await doctor(config, { fix: true, signal: abort.signal });
    clearInterval(poll);
    const primary = check(first, 'gc.primary-source');
    expect(primary.status).toBe('fail');
    expect(primary.summary).toMatch(/interrupted after \d+ of 30 users/);
    expect(first.ok).toBe(false);
    // The PUT in flight at the interrupt may have landed without its answer: it is done again next run.
    const doneFirst = (primary.data?.['madePrimary'] as number) ?? 0;
    expect(doneFirst).toBeGreaterThanOrEqual(9);
    expect(doneFirst).toBeLessThan(30);

    gc.resetStats();
    const second = await doctor(config, { fix: true });
    expect(check(second, 'gc.primary-source').data).toMatchObject({ users: 30, confirmedEarlier: doneFirst, madePrimary: 30 - doneFirst });
    expect(served(gc, 'PUT /api/v2/presence/users/:userId/primarysource')).toBe(30 - doneFirst + 1);
    const sourceId = gc.sources().find((source) => source.name === 'EXAS')?.id;
    expect(gc.userIds().every((userId) => gc.primarySourceOf(userId) === sourceId)).toBe(true);
  });
});

describe('exas doctor --fix under GC errors', () => {
  it('tries a user again through a GC outage and still makes everyone primary', async () => {
    rig = await startE2eRig({ agents: 30, org: 'new', gc: { budget: 1200 } });
    const gc = rig.gc;
    // Once the migration's first PUT is through (the probe's is the first), GC is down for 2 s (503 to
    // everything): the PUT then in flight is tried again after 1 and 2 s, and the migration goes on.
    const poll = setInterval(() => {
      if (served(gc, 'PUT /api/v2/presence/users/:userId/primarysource') >= 2) {
        gc.setFaults({ outageSeconds: 2 });
        clearInterval(poll);
      }
    }, 2);
    try {
      const report = await doctor(rig.config({ gc: { primarySource: 'check', requestsPerMinute: 1200 }, identity: { key: 'employeeId' } }), { fix: true });
      expect(check(report, 'gc.primary-source').data).toMatchObject({ users: 30, madePrimary: 30, failed: 0, notReached: 0 });
    } finally {
      clearInterval(poll);
    }
    const fiveHundreds = Object.entries(gc.stats().byStatus).filter(([status]) => status.startsWith('5')).reduce((sum, [, count]) => sum + count, 0);
    expect(fiveHundreds).toBeGreaterThan(0);
    const sourceId = gc.sources().find((source) => source.name === 'EXAS')?.id;
    expect(gc.userIds().every((userId) => gc.primarySourceOf(userId) === sourceId)).toBe(true);
  });
});

describe('exas doctor (CLI)', () => {
  it('prints the checklist and exits 0 when nothing blocks, 1 with the JSON naming the cause otherwise', async () => {
    rig = await startE2eRig({ agents: 5, gcUsers: 4, gc: { ...FAST_GC, primarySourceFor: 'EXAS' } });
    const file = join(rig.directory, 'exas.yaml');
    const write = (scope: string[]): void =>
      writeFileSync(
        file,
        [
          'statServer:',
          `  endpoints: [{ baseUrl: "${rig?.statServer.url}" }]`,
          `  apiKey: ${rig?.statServer.apiKey}`,
          `  bearerToken: ${rig?.statServer.bearerToken}`,
          'gc:',
          `  baseUrl: "${rig?.gc.url}"`,
          '  clients: [{ clientId: exas-demo, clientSecret: exas-demo-secret }]',
          '  requestsPerMinute: 6000',
          'scope:',
          '  source: list',
          `  agents: [${scope.map((id) => `"${id}"`).join(', ')}]`,
          `rules: { file: "${DEFAULT_RULES_FILE}" }`,
          `store: { path: "${join(rig?.directory ?? '', 'state.json')}" }`,
          '',
        ].join('\n'),
      );
    write(['1001', '1002', '1003', '1004']);
    const io = captureIo();
    expect(await main(['doctor', '--config', file], io)).toBe(0);
    expect(io.stdout()).toContain('✓ client 0 (exas-demo): token works');
    expect(io.stdout()).toContain('Nothing blocks going live.');
    expect(io.stdout()).not.toContain('✗');

    write(['1001', '1002', '1003', '1004', '1005']);
    const json = captureIo();
    expect(await main(['doctor', '--config', file, '--format', 'json'], json)).toBe(1);
    const report = JSON.parse(json.stdout()) as DoctorReport;
    expect(report.ok).toBe(false);
    expect(report.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(['gc.identity']);
    expect(report.gcRequests[0]).toBeGreaterThan(0);

    const text = captureIo();
    expect(await main(['doctor', '-c', file, '--sample', '2'], text)).toBe(0);
    expect(text.stdout()).toContain('all 2 agents in scope (sample of 2) resolve');
  });

  it('prints usage with examples for --help (exit 0) and refuses bad usage (exit 2)', async () => {
    const help = captureIo();
    expect(await main(['doctor', '--help'], help)).toBe(0);
    expect(help.stdout()).toMatch(/^usage: exas doctor --config FILE/);
    expect(help.stdout()).toContain('examples:');
    expect(help.stdout()).toContain('exas doctor --config exas.yaml --fix');
    for (const args of [[], ['--config', 'x.yaml', '--format', 'xml'], ['--config', 'x.yaml', '--sample', '0'], ['--bogus']]) {
      const io = captureIo();
      expect(await main(['doctor', ...args], io)).toBe(2);
      expect(io.stderr()).toMatch(/^exas doctor: /);
    }
    const listed = captureIo();
    await main(['help'], listed);
    expect(listed.stdout()).toMatch(/ {2}doctor {4}/);
  });
});

async function token(gcUrl: string): Promise<string> {
  const response = await fetch(`${gcUrl}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('exas-demo:exas-demo-secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

async function createSource(rig: E2eRig, name: string): Promise<{ id: string }> {
  const response = await fetch(`${rig.gc.url}/api/v2/presence/sources`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await token(rig.gc.url)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, type: 'User' }),
  });
  expect(response.status).toBeLessThan(300);
  return (await response.json()) as { id: string };
}

async function setPrimary(rig: E2eRig, userId: string, sourceId: string): Promise<void> {
  const response = await fetch(`${rig.gc.url}/api/v2/presence/users/${userId}/primarysource`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${await token(rig.gc.url)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sourceId }),
  });
  expect(response.status).toBe(200);
}
