/**
 * `exas demo` end to end, in-process: the command starts both emulators and the sidecar, prints its URLs and
 * the machine-readable ready line, `/readyz` turns 200, every simulated agent's GC state converges to the
 * mapping of its Engage state (read through the emulators' control APIs over HTTP, as a user of the demo
 * would), and a stop signal shuts it down.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../src/cli/demo.ts';
import { parseReadyLine, type RunningDemo } from '../../src/demo/index.ts';
import { setLogSink } from '../../src/log.ts';
import type { AgentView } from '../../src/emulators/statserver/index.ts';
import { eventually, expectedFor, shows, DEFAULT_RULES_FILE } from '../helpers/e2e.ts';
import { loadRulesFile } from '../../src/rules/index.ts';
import { captureIo } from '../helpers/capture-io.ts';

const AGENTS = 30;

describe('exas demo', () => {
  const restoreSink = setLogSink(() => {});
  afterAll(() => void setLogSink(restoreSink));

  it("prints its URLs, becomes ready, keeps every agent's GC state at the mapping of its Engage state as the crowd moves, and stops on a signal", async () => {
    const io = captureIo();
    let sendStop: () => void = () => {};
    const stop = new Promise<void>((resolve) => (sendStop = resolve));
    let demo: RunningDemo | undefined;
    let ready: () => void = () => {};
    const started = new Promise<void>((resolve) => (ready = resolve));
    const exited = runDemo(['--port', '0', '--agents', String(AGENTS), '--events-per-second', '20', '--progress-seconds', '0', '--no-watch'], io, stop, (running) => {
      demo = running;
      ready();
    });
    try {
      await Promise.race([started, exited]);
      expect(demo, io.stderr()).toBeDefined();
      const urls = parseReadyLine(io.stdout());
      expect(urls).toEqual(demo!.urls);
      for (const url of Object.values(urls!)) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(io.stdout()).toContain(`${urls!.gc}/emulator/users`);

      const readyz = await eventually(() => fetch(`${urls!.sidecar}/readyz`).then((response) => response.status), (status) => status === 200);
      expect(readyz).toBe(200);

      // The crowd moves on its own (20 changes/s); after some changes, with it paused, GC must show every mapping.
      const eventsAtReady = demo!.progress().events;
      await eventually(() => demo!.progress().events, (events) => events >= eventsAtReady + 20);
      expect(demo!.progress().events).toBeGreaterThanOrEqual(eventsAtReady + 20);
      const paused = await fetch(`${urls!.statServer}/emulator/simulation`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ running: false }),
      });
      expect(paused.status).toBe(200);
      const rules = (await loadRulesFile(DEFAULT_RULES_FILE)).program!;
      const read = async () => {
        const agents = (await (await fetch(`${urls!.statServer}/emulator/agents`)).json()) as AgentView[];
        const users = (await (await fetch(`${urls!.gc}/emulator/users`)).json()) as Array<{ externalId: string; presence: string; routingStatus: string }>;
        const byAgent = new Map(users.map((user) => [user.externalId, user]));
        return agents
          .filter((agent) => !shows(expectedFor(rules, agent), byAgent.get(agent.agentId)))
          .map((agent) => ({ agent, expected: expectedFor(rules, agent), gc: byAgent.get(agent.agentId) }));
      };
      const mismatches = await eventually(read, (left) => left.length === 0, 20_000);
      expect(mismatches).toEqual([]);
      expect((await (await fetch(`${urls!.statServer}/emulator/agents`)).json()) as AgentView[]).toHaveLength(AGENTS);
      expect(demo!.gc.stats().rateLimited).toBe(0);
      expect(demo!.progress()).toMatchObject({ agents: AGENTS, inSync: AGENTS, pending: 0 });
      // The demo's org already has EXAS's source primary (as after exas doctor --fix): no primary-source request.
      expect(demo!.gc.stats().byRoute['PUT /api/v2/presence/users/:userId/primarysource'] ?? 0).toBe(0);
      expect(demo!.gc.stats().byRoute['GET /api/v2/presence/users/:userId/primarysource'] ?? 0).toBe(0);
    } finally {
      sendStop();
    }
    expect(await exited).toBe(0);
    expect(io.stderr()).toContain('exas demo: stopping');
    // Everything is closed: the sidecar's port no longer answers.
    await expect(fetch(`${demo!.urls.sidecar}/livez`)).rejects.toThrow();
  });

  it('--fresh-org starts from a new org: EXAS makes its source primary for every user (logged), then every agent converges', async () => {
    const io = captureIo();
    const lines: string[] = [];
    const quiet = setLogSink((line) => lines.push(line));
    let sendStop: () => void = () => {};
    const stop = new Promise<void>((resolve) => (sendStop = resolve));
    let demo: RunningDemo | undefined;
    let ready: () => void = () => {};
    const started = new Promise<void>((resolve) => (ready = resolve));
    const agents = 12;
    const exited = runDemo(['--port', '0', '--agents', String(agents), '--events-per-second', '0', '--budget', '3000', '--progress-seconds', '0', '--no-watch', '--fresh-org'], io, stop, (running) => {
      demo = running;
      ready();
    });
    try {
      await Promise.race([started, exited]);
      expect(demo, io.stderr()).toBeDefined();
      const gc = demo!.gc;
      const exas = (): string | undefined => gc.sources().find((source) => source.name === 'EXAS')?.id;
      expect(gc.userIds().every((userId) => gc.primarySourceOf(userId) !== exas())).toBe(true);
      await eventually(() => gc.userIds().every((userId) => gc.primarySourceOf(userId) === exas()), (done) => done, 20_000);
      await eventually(() => demo!.progress(), (progress) => progress.inSync === agents, 20_000);
      expect(demo!.progress().inSync).toBe(agents);
      // The batch is logged once it ends, which may be a moment after the last user shows its state.
      await demo!.sidecar.primarySource?.idle();
      expect(gc.userIds().every((userId) => gc.primarySourceOf(userId) === exas())).toBe(true);
      expect(gc.stats().byRoute['PUT /api/v2/presence/users/:userId/primarysource']).toBe(agents);
      const fixed = lines.map((line) => JSON.parse(line) as { msg?: string; fixed?: number }).filter((line) => line.msg === "EXAS's presence source made primary");
      expect(fixed.reduce((sum, line) => sum + (line.fixed ?? 0), 0)).toBe(agents);
    } finally {
      sendStop();
      await exited;
      setLogSink(quiet);
    }
  });

  it('a bad flag is a usage error (exit 2) and starts nothing', async () => {
    const io = captureIo();
    expect(await runDemo(['--agents', 'many'], io, Promise.resolve())).toBe(2);
    expect(io.stderr()).toContain('--agents must be an integer');
    expect(io.stdout()).toBe('');
  });
});
