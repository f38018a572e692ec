/**
 * @module
 * The Stat Server emulator: the Statistics API v3 surface EXAS's adapter uses, a seeded crowd of agents,
 * a control API under `/emulator/`, and fault injection. One process can serve a primary/backup pair: two
 * ports sharing one crowd (`backupPort`); `{"primaryDown": true}` makes the primary refuse connections so
 * clients fail over to the backup. Never imported by product code.
 *
 * Strict by default (see statistics-api.ts): a subscription batch with a statistic Stat Server refuses fails as
 * a whole with a non-zero `status.code` and no per-statistic id; request lines over 8 KiB get 414;
 * `{"unknownAgents": [ids]}` makes agents unknown to Stat Server. `lenient: true` restores the first build's
 * kinder behaviour (per-statistic `errors[]`, partial opens, no request-line limit).
 *
 * @example
 * const emulator = await startStatServerEmulator({ agents: 100, backupPort: 0 });
 * // emulator.url → http://127.0.0.1:41234 (base URL; the API is under /statistics/v3)
 * await emulator.close();
 */
import { Crowd, type AgentView } from './crowd.ts';
import { controlRoutes, type FaultRequest } from './control-api.ts';
import { DEFAULT_NAMED_STATISTICS, StatisticsApiServer, type NamedStatistic } from './statistics-api.ts';

export { Crowd, CROWD_REASONS, type AgentView } from './crowd.ts';
export { emulatedAgentId, emulatedAgentIds } from '../agent-ids.ts';
export { BridgeSimulator, pascalTree, type BridgeSimulatorOptions } from './bridge-simulator.ts';
export type { FaultRequest } from './control-api.ts';
export { DEFAULT_NAMED_STATISTICS, type NamedStatistic } from './statistics-api.ts';

export interface StatServerEmulatorOptions {
  /** Loopback by default. */
  host?: string;
  /** Primary port; 0 (default) picks a free one. */
  port?: number;
  /** Also serve a backup on this port (0 picks a free one); absent: no backup. */
  backupPort?: number;
  /** Crowd size (default 100). Agent i has id String(1001 + i). */
  agents?: number;
  /** Explicit agent ids instead of `1001 + i` (tests of long or odd employee ids); overrides `agents`. */
  agentIds?: readonly string[];
  /** Simulated state changes per second across the crowd (default 0: agents change only when set). */
  eventsPerSecond?: number;
  /** PRNG seed for the crowd's initial states and its random walk (default 1). */
  seed?: number;
  /** Accepted `x-api-key` (default `exas-demo`). */
  apiKey?: string;
  /** Accepted bearer token (default `exas-demo`). */
  bearerToken?: string;
  /** Pre-configured statistic names (default `DEFAULT_NAMED_STATISTICS`). */
  namedStatistics?: Record<string, NamedStatistic>;
  /** Notification batching window in ms (default 10). */
  flushMs?: number;
  /** Kinder than the real API (default false): per-statistic `errors[]` with partial opens, no 414. */
  lenient?: boolean;
}

export interface StatServerEmulator {
  /** Base URL of the primary (the API is under `${url}/statistics/v3`). */
  readonly url: string;
  /** Base URL of the backup, or null. */
  readonly backupUrl: string | null;
  readonly apiKey: string;
  readonly bearerToken: string;
  /** Every agent as the control API shows it. */
  agents(): AgentView[];
  agent(agentId: string): AgentView | undefined;
  /** Sets one agent and emits its notifications (as PUT /emulator/agents/{id}). */
  setAgent(agentId: string, view: Omit<AgentView, 'agentId'>): void;
  setSimulation(running: boolean, eventsPerSecond?: number): void;
  /** As POST /emulator/faults. */
  applyFaults(faults: FaultRequest): void;
  /** CometD clients connected to primary and backup. */
  clientCount(): { primary: number; backup: number };
  /** Statistics open on primary and backup. */
  statisticCount(): { primary: number; backup: number };
  close(): Promise<void>;
}

export async function startStatServerEmulator(options: StatServerEmulatorOptions = {}): Promise<StatServerEmulator> {
  const agentCount = options.agents ?? 100;
  if (!Number.isInteger(agentCount) || agentCount < 0) throw new Error(`agents must be an integer >= 0, got ${agentCount}`);
  const crowd = new Crowd(agentCount, options.seed ?? 1, Date.now, options.agentIds);
  const apiKey = options.apiKey ?? 'exas-demo';
  const bearerToken = options.bearerToken ?? 'exas-demo';
  let eventsPerSecond = options.eventsPerSecond ?? 0;
  let running = eventsPerSecond > 0;
  let ticker: ReturnType<typeof setInterval> | undefined;
  let owed = 0;
  let lastTick = Date.now();

  const tick = (): void => {
    const now = Date.now();
    owed += ((now - lastTick) / 1000) * eventsPerSecond;
    lastTick = now;
    // Cap the catch-up so a stalled event loop does not release a burst of thousands of events at once.
    owed = Math.min(owed, Math.max(1, eventsPerSecond));
    for (; owed >= 1; owed -= 1) crowd.step();
  };
  const setSimulation = (run: boolean, rate?: number): void => {
    if (rate !== undefined) eventsPerSecond = rate;
    running = run && eventsPerSecond > 0;
    if (running && ticker === undefined) {
      lastTick = Date.now();
      ticker = setInterval(tick, 20);
    } else if (!running && ticker !== undefined) {
      clearInterval(ticker);
      ticker = undefined;
      owed = 0;
    }
  };

  const servers: StatisticsApiServer[] = [];
  /** Agent ids Stat Server does not know (primary and backup share one configuration). */
  const unknownAgents = new Set<string>();
  const applyFaults = (faults: FaultRequest): void => {
    const [primary] = servers;
    if (Object.keys(faults).length === 0) {
      unknownAgents.clear();
      for (const server of servers) server.clearFaults();
      for (const agent of crowd.agents) {
        if (agent.invalid) {
          agent.invalid = false;
          crowd.changed(agent);
        }
      }
      return;
    }
    if (faults.disconnect === true) for (const server of servers) server.dropClients();
    if (faults.refuseSeconds !== undefined) for (const server of servers) server.refuseFor(faults.refuseSeconds);
    if (faults.primaryDown !== undefined) {
      // Without a backup this is an outage; with one, clients must fail over and reopen there.
      primary?.setDown(faults.primaryDown);
    }
    if (faults.serviceUnavailable !== undefined) for (const server of servers) server.setServiceAvailable(!faults.serviceUnavailable);
    // Statistics already open stay open: only later opens are refused (an agent removed from configuration).
    for (const agentId of faults.unknownAgents ?? []) unknownAgents.add(agentId);
    for (const agentId of faults.knownAgents ?? []) unknownAgents.delete(agentId);
    for (const [ids, invalid] of [[faults.invalidAgents ?? [], true], [faults.validAgents ?? [], false]] as const) {
      for (const agentId of ids) {
        const agent = crowd.get(agentId);
        if (agent === undefined || agent.invalid === invalid) continue;
        agent.invalid = invalid;
        crowd.changed(agent);
      }
    }
  };

  const control = controlRoutes({
    crowd,
    setSimulation,
    simulation: () => ({ running, eventsPerSecond }),
    applyFaults,
    status: () => ({
      agents: crowd.agents.length,
      simulation: { running, eventsPerSecond },
      lenient: options.lenient === true,
      unknownAgents: [...unknownAgents],
      servers: servers.map((server) => ({
        url: server.url,
        refusing: server.refusing(),
        clients: server.clientCount,
        statistics: server.statisticCount,
        ...server.counters,
      })),
    }),
  });
  const serverOptions = {
    crowd,
    apiKey,
    bearerToken,
    host: options.host ?? '127.0.0.1',
    namedStatistics: options.namedStatistics ?? DEFAULT_NAMED_STATISTICS,
    extraRoutes: control,
    unknownAgents,
    lenient: options.lenient === true,
    ...(options.flushMs !== undefined ? { flushMs: options.flushMs } : {}),
  };
  const primary = new StatisticsApiServer({ ...serverOptions, port: options.port ?? 0 });
  servers.push(primary);
  await primary.start();
  let backup: StatisticsApiServer | undefined;
  if (options.backupPort !== undefined) {
    backup = new StatisticsApiServer({ ...serverOptions, port: options.backupPort });
    servers.push(backup);
    await backup.start();
  }
  setSimulation(running);

  return {
    url: primary.url,
    backupUrl: backup?.url ?? null,
    apiKey,
    bearerToken,
    agents: () => crowd.agents.map((agent) => crowd.view(agent)),
    agent: (agentId) => {
      const agent = crowd.get(agentId);
      return agent === undefined ? undefined : crowd.view(agent);
    },
    setAgent: (agentId, view) => {
      const agent = crowd.get(agentId);
      if (agent === undefined) throw new Error(`unknown agent ${agentId}`);
      crowd.set(agent, view);
    },
    setSimulation,
    applyFaults,
    clientCount: () => ({ primary: primary.clientCount, backup: backup?.clientCount ?? 0 }),
    statisticCount: () => ({ primary: primary.statisticCount, backup: backup?.statisticCount ?? 0 }),
    close: async () => {
      setSimulation(false);
      await Promise.all(servers.map((server) => server.close()));
    },
  };
}
