/**
 * One rig for end-to-end tests: the Stat Server emulator, the GC emulator and the real sidecar on ephemeral
 * loopback ports; the expected GC state of EVERY agent computed from its current Engage state with the rules
 * engine; convergence awaited by polling the emulators (an observable condition, not a sleep); GC read both
 * through the emulator's control view and through GC's real GET endpoints; everything stopped at the end.
 *
 * @example
 * const rig = await startE2eRig({ agents: 20 });
 * const sidecar = await rig.startSidecar({ drift: { policy: 'off' } });
 * rig.statServer.setAgent('1001', { state: 'Ready', callType: 'None', reason: null });
 * expect(await rig.waitForConvergence()).toEqual([]);
 * await rig.close();
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { formatYamlDiagnostic, loadConfig, type ExasConfig } from '../../src/config/index.ts';
import { DEFAULT_CLIENT, startGcEmulator, type GcEmulator, type GcEmulatorOptions } from '../../src/emulators/gc/index.ts';
import { emulatedAgentIds, startStatServerEmulator, type AgentView, type StatServerEmulator, type StatServerEmulatorOptions } from '../../src/emulators/statserver/index.ts';
import { fromWireRoutingStatus } from '../../src/gc/wire.ts';
import { setLogSink } from '../../src/log.ts';
import { loadRulesFile, type RulesProgram } from '../../src/rules/index.ts';
import { createSidecar, type Sidecar, type SidecarParts } from '../../src/sidecar/index.ts';
import { KEEP } from '../../src/vocabulary.ts';

/** The repository's default rules file (the seed table). */
export const DEFAULT_RULES_FILE = resolve(import.meta.dirname, '..', '..', 'exas.rules.yaml');

/** A GC user's state in DESIGN.md vocabulary. */
export interface ObservedGcState {
  readonly presence: string;
  readonly routingStatus: string;
}

/** What GC must show for one agent: `presence` null means `keep` (any presence EXAS may keep: not Available). */
export interface ExpectedGcState {
  readonly presence: string | null;
  readonly routingStatus: string;
}

/** One agent whose GC state differs from the mapping of its Engage state. */
export interface Mismatch {
  readonly agentId: string;
  readonly engage: string;
  readonly expected: ExpectedGcState;
  readonly actual: ObservedGcState | undefined;
}

export interface E2eRigOptions {
  /** Agents on both emulators (ids `1001`…); all in scope (GC has `gcUsers` of them when set). */
  readonly agents: number;
  readonly statServer?: Omit<StatServerEmulatorOptions, 'agents'>;
  readonly gc?: Omit<GcEmulatorOptions, 'usersCount'>;
  /** Rules file (default: the repository's exas.rules.yaml). */
  readonly rulesFile?: string;
  /** Keep the sidecar's logs (default: silenced for the rig's lifetime). */
  readonly logs?: boolean;
  /**
   * The GC org the rig starts from: `migrated` (default) has EXAS's presence source as every user's primary
   * source, as after a first run or `exas doctor --fix` (so convergence costs no primary-source requests);
   * `new` has PURECLOUD primary for everyone, as a new org (EXAS's `gc.primarySource: fix` makes it so).
   */
  readonly org?: 'migrated' | 'new';
  /** Users on the GC emulator when it differs from `agents` (e.g. agents without a GC user). */
  readonly gcUsers?: number;
  /**
   * Where the base config takes the scope from: `list` (default) names every agent; `file` writes every agent id
   * to `agents.txt` in `directory` (`scope.file: agents.txt`); `gc` lists GC users by employee id.
   */
  readonly scope?: 'list' | 'file' | 'gc';
}

/** A plain object of config keys, deep-merged over the rig's base config (see `E2eRig.config`); `undefined` removes a key. */
export type ConfigOverrides = Record<string, unknown>;

export interface E2eRig {
  readonly statServer: StatServerEmulator;
  readonly gc: GcEmulator;
  /** A temporary directory for the store and identity cache (removed by `close`). */
  readonly directory: string;
  readonly agentIds: readonly string[];
  readonly rules: RulesProgram;
  /**
   * The sidecar config for these emulators: list scope of every agent, the default rules (no watch), a store
   * in `directory`, HTTP on an ephemeral port, short retry delays; `overrides` are deep-merged on top.
   */
  config(overrides?: ConfigOverrides): ExasConfig;
  /** Creates and starts a sidecar (stopped by `close` if still running). */
  startSidecar(overrides?: ConfigOverrides, parts?: SidecarParts): Promise<Sidecar>;
  /** The mapping of every agent's current Engage state, by agent id (from the Stat Server emulator's view). */
  expected(): Map<string, ExpectedGcState & { readonly engage: string }>;
  /** Every GC user's state by agent id, from the emulator in-process (cheap; for polling). */
  gcStates(): Map<string, ObservedGcState>;
  /** Every GC user's state by agent id, read over HTTP from `GET /emulator/users`. */
  gcStatesFromControlApi(): Promise<Map<string, ObservedGcState>>;
  /**
   * Every GC user's state by agent id, read through GC's real endpoints: a token from `/oauth/token`, presence
   * definitions, and `GET /api/v2/users?expand=presence,routingStatus,employerInfo` page by page.
   */
  gcStatesFromApi(): Promise<Map<string, ObservedGcState>>;
  /** Agents whose GC state is not the mapping of their Engage state (all agents, not a sample). */
  mismatches(states: Map<string, ObservedGcState>, skip?: ReadonlySet<string>): Mismatch[];
  /**
   * Polls until every agent (but `skip`) shows its mapping in GC, then confirms it through `/emulator/users`
   * and the real GET endpoints. Returns the mismatches left (empty when converged); `expect(…).toEqual([])`.
   */
  waitForConvergence(options?: { timeoutMs?: number; skip?: ReadonlySet<string> }): Promise<Mismatch[]>;
  /** Stops every sidecar still running, both emulators, and removes the directory. */
  close(): Promise<void>;
}

/** Polls `read` until `holds` (every 25 ms) or the timeout; returns the last value read either way. */
export async function eventually<T>(read: () => T | Promise<T>, holds: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!holds(value) && Date.now() <= deadline) {
    await new Promise((wake) => setTimeout(wake, 25));
    value = await read();
  }
  return value;
}

/** Deep merge of plain objects; arrays and scalars in `over` replace, `undefined` removes the key. */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) {
      delete out[key];
      continue;
    }
    const current = out[key];
    const plain = (item: unknown): item is Record<string, unknown> => item !== null && typeof item === 'object' && !Array.isArray(item);
    out[key] = plain(current) && plain(value) ? merge(current, value) : value;
  }
  return out;
}

/** The mapping of one Engage state under `rules`. */
export function expectedFor(rules: RulesProgram, agent: AgentView): ExpectedGcState {
  const decision = rules.decide(agent.state, agent.callType, agent.reason);
  if (decision.unmatched || decision.presence === null || decision.routingStatus === null) {
    throw new Error(`the rules leave ${agent.state}/${agent.callType}/${agent.reason ?? '-'} unmatched; the rig expects a full mapping`);
  }
  return { presence: decision.presence === KEEP ? null : decision.presence, routingStatus: decision.routingStatus };
}

/** Whether `actual` shows `expected` (`keep` accepts any presence but Available, which EXAS never keeps). */
export function shows(expected: ExpectedGcState, actual: ObservedGcState | undefined): boolean {
  if (actual === undefined || actual.routingStatus !== expected.routingStatus) return false;
  return expected.presence === null ? actual.presence !== 'Available' : actual.presence === expected.presence;
}

export async function startE2eRig(options: E2eRigOptions): Promise<E2eRig> {
  const restoreSink = options.logs === true ? undefined : setLogSink(() => {});
  const rulesFile = options.rulesFile ?? DEFAULT_RULES_FILE;
  const loaded = await loadRulesFile(rulesFile);
  if (loaded.program === null) throw new Error(`rules file ${rulesFile} does not load`);
  const rules = loaded.program;
  const statServer = await startStatServerEmulator({ ...options.statServer, agents: options.agents });
  const gc = await startGcEmulator({
    ...(options.org === 'new' ? {} : { primarySourceFor: 'EXAS' }),
    ...options.gc,
    usersCount: options.gcUsers ?? options.agents,
  });
  const directory = mkdtempSync(join(tmpdir(), 'exas-e2e-'));
  const agentIds = emulatedAgentIds(options.agents);
  const scopeSource = options.scope ?? 'list';
  if (scopeSource === 'file') writeFileSync(join(directory, 'agents.txt'), agentIds.join('\n'));
  // `file` and `gc` resolve agents by employee id from GC's paged user listing, which carries no external ids.
  const scope: Record<string, unknown> =
    scopeSource === 'list' ? { source: 'list', agents: [...agentIds] } : scopeSource === 'file' ? { source: 'file', file: 'agents.txt' } : { source: 'gc' };
  const identity: Record<string, unknown> = scopeSource === 'list' ? {} : { identity: { key: 'employeeId' } };
  const sidecars = new Set<Sidecar>();

  const baseConfig = (): Record<string, unknown> => ({
    statServer: {
      endpoints: [{ baseUrl: statServer.url }, ...(statServer.backupUrl === null ? [] : [{ baseUrl: statServer.backupUrl }])],
      apiKey: statServer.apiKey,
      bearerToken: statServer.bearerToken,
      reconnect: { initialDelayMs: 50, maxDelayMs: 300 },
    },
    gc: { baseUrl: gc.url, clients: [{ ...DEFAULT_CLIENT }] },
    ...identity,
    scope,
    rules: { file: rulesFile, watch: false },
    store: { path: join(directory, 'state.json'), saveIntervalSeconds: 1 },
    http: { listen: '127.0.0.1:0' },
    lifecycle: { retryInitialDelayMs: 50, retryMaxDelayMs: 300, shutdownGraceSeconds: 2 },
  });

  const config = (overrides: ConfigOverrides = {}): ExasConfig => {
    const text = stringify(merge(baseConfig(), overrides));
    const { config: loadedConfig, errors } = loadConfig(text, join(directory, 'exas.yaml'), { env: {} });
    if (loadedConfig === null) throw new Error(`rig config rejected:\n${errors.map(formatYamlDiagnostic).join('\n')}\n${text}`);
    return loadedConfig;
  };

  const byAgent = (users: ReadonlyArray<{ externalId: string | undefined; presence: string; routingStatus: string }>): Map<string, ObservedGcState> =>
    new Map(users.filter((user) => user.externalId !== undefined).map((user) => [user.externalId as string, { presence: user.presence, routingStatus: user.routingStatus }]));

  const rig: E2eRig = {
    statServer,
    gc,
    directory,
    agentIds,
    rules,
    config,

    async startSidecar(overrides = {}, parts = {}) {
      const sidecar = createSidecar(config(overrides), parts);
      // close() stops it too; a second stop() is a no-op, so a test may stop it first.
      sidecars.add(sidecar);
      await sidecar.start();
      return sidecar;
    },

    expected() {
      return new Map(
        statServer.agents().map((agent) => [agent.agentId, { ...expectedFor(rules, agent), engage: `${agent.state}/${agent.callType}/${agent.reason ?? '-'}` }]),
      );
    },

    gcStates: () => byAgent(gc.users()),

    async gcStatesFromControlApi() {
      const response = await fetch(`${gc.url}/emulator/users`);
      if (response.status !== 200) throw new Error(`GET /emulator/users answered ${response.status}`);
      return byAgent((await response.json()) as Array<{ externalId: string | undefined; presence: string; routingStatus: string }>);
    },

    async gcStatesFromApi() {
      const tokenResponse = await fetch(`${gc.url}/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${DEFAULT_CLIENT.clientId}:${DEFAULT_CLIENT.clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      });
      if (tokenResponse.status !== 200) throw new Error(`POST /oauth/token answered ${tokenResponse.status}`);
      const { access_token: token } = (await tokenResponse.json()) as { access_token: string };
      const get = async <T>(path: string): Promise<T> => {
        const response = await fetch(`${gc.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
        if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}`);
        return (await response.json()) as T;
      };
      const definitions = await get<{ entities: Array<{ id: string; type: string; systemPresence: string; languageLabels: Record<string, string> }> }>(
        '/api/v2/presence/definitions',
      );
      // A system definition is named by its system presence, a custom one by its label (DESIGN.md vocabulary).
      const names = new Map(definitions.entities.map((entry) => [entry.id, entry.type === 'System' ? entry.systemPresence : (entry.languageLabels['en_US'] ?? entry.id)]));
      const out = new Map<string, ObservedGcState>();
      for (let pageNumber = 1; ; pageNumber += 1) {
        const page = await get<{
          entities: Array<{ employerInfo?: { employeeId?: string }; presence?: { presenceDefinition?: { id?: string } }; routingStatus?: { status?: string } }>;
          pageCount: number;
        }>(`/api/v2/users?pageSize=500&pageNumber=${pageNumber}&expand=presence,routingStatus,employerInfo`);
        for (const user of page.entities) {
          const agentId = user.employerInfo?.employeeId;
          if (agentId === undefined) continue;
          const definitionId = user.presence?.presenceDefinition?.id;
          out.set(agentId, {
            presence: definitionId === undefined ? '(none)' : (names.get(definitionId) ?? definitionId),
            routingStatus: fromWireRoutingStatus(user.routingStatus?.status) ?? String(user.routingStatus?.status),
          });
        }
        if (pageNumber >= page.pageCount) break;
      }
      return out;
    },

    mismatches(states, skip = new Set()) {
      const out: Mismatch[] = [];
      for (const [agentId, expected] of rig.expected()) {
        if (skip.has(agentId)) continue;
        const actual = states.get(agentId);
        if (!shows(expected, actual)) out.push({ agentId, engage: expected.engage, expected: { presence: expected.presence, routingStatus: expected.routingStatus }, actual });
      }
      return out;
    },

    async waitForConvergence({ timeoutMs = 15_000, skip = new Set<string>() } = {}) {
      const polled = await eventually(
        () => rig.mismatches(rig.gcStates(), skip),
        (left) => left.length === 0,
        timeoutMs,
      );
      if (polled.length > 0) return polled;
      // Converged in-process: the same must be visible to a GC API client and through the control API.
      const viaApi = rig.mismatches(await rig.gcStatesFromApi(), skip);
      if (viaApi.length > 0) return viaApi;
      return rig.mismatches(await rig.gcStatesFromControlApi(), skip);
    },

    async close() {
      for (const sidecar of [...sidecars]) await sidecar.stop(500).catch(() => undefined);
      await statServer.close();
      await gc.close();
      rmSync(directory, { recursive: true, force: true });
      if (restoreSink !== undefined) setLogSink(restoreSink);
    },
  };
  return rig;
}
