/**
 * End-to-end sync benchmark (`npm run bench sync`, issue 6 part 11): the real sidecar between the Stat Server
 * emulator and the GC emulator, which run in a child process (this same file with `--serve`) so EXAS's event
 * loop and memory are its own. What it measures, per profile:
 *
 * 1. Overload, with 1 and with 4 GC clients: the crowd changes at R events/s for a burst; GC requests per
 *    minute per client (the most in any 60 s, from EXAS's own send times), 429s (from the GC emulator), budget
 *    utilisation (requests in the burst's last full minute ÷ budget), and the time until every agent's GC
 *    state equals the mapping of its Engage state once the burst stops (checked for all agents).
 * 2. Added latency at 100 events/s with 1 and with 4 clients, once the cold resync's requests have left the
 *    budget window: Stat Server change (control API PUT) → the first GC inject request carrying that user.
 * 3. RSS of the EXAS process with M agents in scope, after the cold resync and through an overload burst; once
 *    as Node starts by default and once with the V8 heap cap and malloc settings docs/deploy.md recommends.
 *
 * Diagnosis: `EXAS_BENCH_ONLY=latency|memory` runs only those phases (logged, RESULTS.md untouched);
 * `EXAS_BENCH_MEM_TRACE=1` logs RSS and heap each second of a memory phase; `EXAS_BENCH_HEAP_SNAPSHOT=<file>`
 * (and `EXAS_BENCH_HEAP_SNAPSHOT_AT=<s>` for one mid-resync) writes V8 heap snapshots; `EXAS_BENCH_RSS_AGENTS`,
 * `EXAS_BENCH_CLIENTS`, `EXAS_BENCH_NODE_FLAGS` change the memory phase's agents, the client counts, Node's flags.
 *
 * `EXAS_BENCH_PROFILE=full`: the issue's numbers (20,000 agents, 2,000 events/s, 300 requests/min per client,
 * RSS at 50,000 agents; about 15 minutes). Default `short`: the same budget and latency rate with a tenth of
 * the agents and events (2,000 agents, 200 events/s: still 40× more changes than one client may send) and
 * shorter bursts; about 5 minutes.
 *
 * The sidecar runs with `gc.headroom: 0`, so it paces to GC's whole budget: the tightest setting for "never a
 * 429 caused by EXAS's pacing" and the one where utilisation can reach 100 % (production keeps 10 % headroom).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import process from 'node:process';
import { createInterface } from 'node:readline';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { loadConfig, formatYamlDiagnostic } from '../src/config/index.ts';
import { emulatedUserId } from '../src/emulators/gc/users.ts';
import type { AgentView } from '../src/emulators/statserver/index.ts';
import { setLogLevel, setLogSink } from '../src/log.ts';
import { loadRulesFile, type RulesProgram } from '../src/rules/index.ts';
import { createStatisticsApiSource, type StatSource } from '../src/statserver/index.ts';
import { createSidecar, type Sidecar } from '../src/sync/index.ts';
import { KEEP } from '../src/vocabulary.ts';
import { percentile, writeSection } from './lib/results.ts';

interface Profile {
  readonly name: 'short' | 'full' | 'smoke';
  readonly agents: number;
  readonly overloadRate: number;
  readonly burstSeconds: number;
  readonly clientCounts: readonly number[];
  readonly budget: number;
  readonly latencyRate: number;
  readonly latencySeconds: number;
  readonly rssAgents: number;
  readonly rssBurstSeconds: number;
}

const PROFILES: Record<Profile['name'], Profile> = {
  full: { name: 'full', agents: 20_000, overloadRate: 2_000, burstSeconds: 150, clientCounts: [1, 4], budget: 300, latencyRate: 100, latencySeconds: 60, rssAgents: 50_000, rssBurstSeconds: 60 },
  /** Checks the bench itself in under a minute; its numbers mean nothing. */
  smoke: { name: 'smoke', agents: 300, overloadRate: 50, burstSeconds: 10, clientCounts: [1, 4], budget: 300, latencyRate: 100, latencySeconds: 5, rssAgents: 500, rssBurstSeconds: 5 },
  short: { name: 'short', agents: 2_000, overloadRate: 200, burstSeconds: 75, clientCounts: [1, 4], budget: 300, latencyRate: 100, latencySeconds: 30, rssAgents: 5_000, rssBurstSeconds: 20 },
};
const CHOSEN = PROFILES[(process.env['EXAS_BENCH_PROFILE'] ?? 'short') as Profile['name']] ?? PROFILES.short;
/** `EXAS_BENCH_RSS_AGENTS` overrides the memory phase's agent count (e.g. to profile at 10,000). */
const WITH_RSS: Profile = process.env['EXAS_BENCH_RSS_AGENTS'] === undefined ? CHOSEN : { ...CHOSEN, rssAgents: Number(process.env['EXAS_BENCH_RSS_AGENTS']) };
/** `EXAS_BENCH_CLIENTS=1,4` overrides the client counts the overload and latency phases run with. */
const PROFILE: Profile =
  process.env['EXAS_BENCH_CLIENTS'] === undefined ? WITH_RSS : { ...WITH_RSS, clientCounts: process.env['EXAS_BENCH_CLIENTS'].split(',').map(Number) };
const RULES_FILE = resolve('exas.rules.yaml');
/** GC user ids of the emulators' generated users (`e0a5e000-…`), as they appear in inject bodies. */
const USER_ID = /e0a5e000-0000-4000-8000-[0-9a-f]{12}/g;

// ---------------------------------------------------------------------------------------------------------
// Child process: both emulators (started at the end of the file, once every declaration exists).

async function serve(): Promise<void> {
  // Imported here only, so the EXAS processes (bench and memory phase) never load emulator code.
  const { startStatServerEmulator } = await import('../src/emulators/statserver/index.ts');
  const { startGcEmulator } = await import('../src/emulators/gc/index.ts');
  const [agents, budget, clients] = process.argv.slice(process.argv.indexOf('--serve') + 1).map(Number) as [number, number, number];
  const statServer = await startStatServerEmulator({ agents, seed: 11 });
  // An org whose users already have EXAS's source primary: this bench measures syncing, not the one-off
  // migration (bench/primary-source.bench.ts does).
  const gc = await startGcEmulator({ usersCount: agents, budget, clients: benchClients(clients), primarySourceFor: 'EXAS' });
  process.stdout.write(`${JSON.stringify({ statServer: statServer.url, gc: gc.url })}\n`);
  // Each `check` line asks how many agents do not show their mapping yet. The check reads every agent and user
  // (megabytes of JSON at 50,000 agents): done here, it stays out of the EXAS process whose memory is measured.
  const rules = await rulesProgram();
  const urls = { statServer: statServer.url, gc: gc.url };
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line !== 'check') return;
    void mismatches(urls, rules).then((left) => process.stdout.write(`${JSON.stringify({ left })}\n`));
  });
  process.stdin.on('end', () => void Promise.all([statServer.close(), gc.close()]).then(() => process.exit(0)));
}

/** The GC emulator's default credentials (src/emulators/gc DEFAULT_CLIENT), spelled out to keep its code out. */
const DEFAULT_CLIENT = { clientId: 'exas-demo', clientSecret: 'exas-demo-secret' } as const;

function benchClients(count: number): Array<{ clientId: string; clientSecret: string }> {
  return Array.from({ length: count }, (_, index) => (index === 0 ? { ...DEFAULT_CLIENT } : { clientId: `bench-${index + 1}`, clientSecret: `bench-secret-${index + 1}` }));
}

// ---------------------------------------------------------------------------------------------------------
// Parent: EXAS and the measurements.

interface Emulators {
  readonly statServer: string;
  readonly gc: string;
  readonly child: ChildProcess;
  /** Agents whose GC state is not the mapping of their Engage state yet (counted in the emulators' process). */
  check(): Promise<number>;
  close(): Promise<void>;
}

async function startEmulators(agents: number, budget: number, clients: number): Promise<Emulators> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', String(agents), String(budget), String(clients)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const urls = await new Promise<{ statServer: string; gc: string }>((resolveUrls, reject) => {
    lines.once('line', (line) => resolveUrls(JSON.parse(line) as { statServer: string; gc: string }));
    child.once('exit', (code) => reject(new Error(`emulators exited with ${code}`)));
  });
  const answers: Array<(left: number) => void> = [];
  lines.on('line', (line) => answers.shift()?.((JSON.parse(line) as { left: number }).left));
  return {
    ...urls,
    child,
    check: () =>
      new Promise<number>((answer) => {
        answers.push(answer);
        child.stdin!.write('check\n');
      }),
    close: () =>
      new Promise<void>((done) => {
        child.once('exit', () => done());
        child.stdin!.end();
      }),
  };
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

async function send(url: string, method: 'POST' | 'PUT', body: unknown): Promise<void> {
  const response = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${method} ${url}: HTTP ${response.status}`);
  await response.arrayBuffer();
}

/** Every GC request EXAS sends: when, with which token, to which endpoint, carrying which users. */
interface SentRequest {
  readonly at: number;
  readonly token: string;
  readonly path: string;
  readonly inject: boolean;
}

/** Wraps the global fetch (the GC client binds it at creation) to record EXAS's GC requests as they leave. */
function recordGcRequests(gcUrl: () => string | undefined, onInject: (at: number, body: string) => void): SentRequest[] {
  const sent: SentRequest[] = [];
  const original = globalThis.fetch.bind(globalThis);
  globalThis.fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const base = gcUrl();
    if (base !== undefined && url.startsWith(`${base}/api/`)) {
      const at = performance.timeOrigin + performance.now();
      const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
      const path = new URL(url).pathname;
      const inject = path.startsWith('/api/v2/events/users/');
      sent.push({ at, token: headers.get('authorization') ?? '', path, inject });
      if (inject && typeof init?.body === 'string') onInject(at, init.body);
    }
    return original(input, init);
  };
  return sent;
}

/** Pauses of over a second between two GC requests of the last 150 s of `sent` (when, how long, ms). */
function exasGaps(sent: readonly SentRequest[]): Array<{ at: string; ms: number }> {
  const times = sent.map((request) => request.at).sort((a, b) => a - b);
  const last = times.at(-1) ?? 0;
  const gaps: Array<{ at: string; ms: number }> = [];
  for (let index = 1; index < times.length; index += 1) {
    const gap = (times[index] as number) - (times[index - 1] as number);
    if (gap > 1_000 && (times[index] as number) > last - 150_000) gaps.push({ at: new Date(times[index - 1] as number).toISOString().slice(11, 23), ms: Math.round(gap) });
  }
  return gaps;
}

/** The most requests any one token sent within any 60 s window. */
function maxPerMinute(sent: readonly SentRequest[], from = 0, to = Number.POSITIVE_INFINITY): number {
  const byToken = new Map<string, number[]>();
  for (const request of sent) {
    if (request.at < from || request.at > to) continue;
    let times = byToken.get(request.token);
    if (times === undefined) byToken.set(request.token, (times = []));
    times.push(request.at);
  }
  let most = 0;
  for (const times of byToken.values()) {
    times.sort((a, b) => a - b);
    let start = 0;
    for (let end = 0; end < times.length; end += 1) {
      while ((times[end] as number) - (times[start] as number) >= 60_000) start += 1;
      most = Math.max(most, end - start + 1);
    }
  }
  return most;
}

function expectedShows(rules: RulesProgram, agent: AgentView, user: { presence: string; routingStatus: string } | undefined): boolean {
  const decision = rules.decide(agent.state, agent.callType, agent.reason);
  if (user === undefined || decision.presence === null || decision.routingStatus === null) return false;
  if (user.routingStatus !== decision.routingStatus) return false;
  return decision.presence === KEEP ? user.presence !== 'Available' : user.presence === decision.presence;
}

/** Agents whose GC state is not the mapping of their Engage state (all agents, read over the control APIs). */
async function mismatches(emulators: { statServer: string; gc: string }, rules: RulesProgram): Promise<number> {
  const [agents, users] = await Promise.all([
    getJson<AgentView[]>(`${emulators.statServer}/emulator/agents`),
    getJson<Array<{ externalId?: string; presence: string; routingStatus: string }>>(`${emulators.gc}/emulator/users`),
  ]);
  const byAgent = new Map(users.map((user) => [user.externalId ?? '', user]));
  return agents.filter((agent) => !expectedShows(rules, agent, byAgent.get(agent.agentId))).length;
}

/** Polls (every second) until every agent shows its mapping; returns the seconds it took, or null on timeout. */
async function waitConverged(emulators: Emulators, rules: RulesProgram, timeoutSeconds: number): Promise<{ seconds: number | null; left: number }> {
  const started = Date.now();
  let left = Number.POSITIVE_INFINITY;
  while (Date.now() - started < timeoutSeconds * 1000) {
    left = await emulators.check();
    if (left === 0) return { seconds: (Date.now() - started) / 1000, left };
    await new Promise((wake) => setTimeout(wake, 1000));
  }
  return { seconds: null, left };
}

interface RunningExas {
  readonly sidecar: Sidecar;
  readonly sent: SentRequest[];
  readonly directory: string;
  /** The latency phase made a change to this user's agent in Stat Server at `at`. */
  noteChange(userId: string, at: number): void;
  readonly latencies: number[];
  /** Of each latency: change → snapshot reached EXAS, and snapshot → GC request. */
  readonly statServerSide: number[];
  readonly exasSide: number[];
  /** Of each measured change: when EXAS saw it and when the first request carrying it left. */
  readonly carried: Array<[number, number]>;
  stop(): Promise<void>;
}

let currentGcUrl: string | undefined;
let injectListener: (at: number, body: string) => void = () => undefined;
let allSent: SentRequest[] = [];

async function startExas(emulators: Emulators, agents: number, clients: number, budget: number): Promise<RunningExas> {
  const directory = mkdtempSync(join(tmpdir(), 'exas-bench-'));
  const agentIds = Array.from({ length: agents }, (_, index) => String(1001 + index));
  writeFileSync(join(directory, 'agents.txt'), agentIds.join('\n'));
  const text = stringify({
    statServer: { endpoints: [{ baseUrl: emulators.statServer }], apiKey: 'exas-demo', bearerToken: 'exas-demo' },
    gc: { baseUrl: emulators.gc, clients: benchClients(clients), requestsPerMinute: budget, headroom: 0 },
    identity: { key: 'employeeId' },
    scope: { source: 'file', file: 'agents.txt' },
    rules: { file: RULES_FILE, watch: false },
    store: { path: 'state.json' },
    http: { listen: '127.0.0.1:0' },
    log: { level: 'warn' },
  });
  const { config, errors } = loadConfig(text, join(directory, 'exas.yaml'), { env: {} });
  if (config === null) throw new Error(errors.map(formatYamlDiagnostic).join('\n'));
  currentGcUrl = emulators.gc;
  const start = allSent.length;
  const changedAt = new Map<string, number>();
  const latencies: number[] = [];
  const statServerSide: number[] = [];
  const exasSide: number[] = [];
  const carried: Array<[number, number]> = [];
  injectListener = (at, body) => {
    if (changedAt.size === 0) return;
    for (const userId of body.match(USER_ID) ?? []) {
      const changed = changedAt.get(userId);
      const observed = observedAt.get(userId);
      // A request before the change's snapshot reached EXAS carries an older state: not this change's write.
      if (changed === undefined || observed === undefined) continue;
      changedAt.delete(userId);
      observedAt.delete(userId);
      latencies.push(at - changed);
      statServerSide.push(observed - changed);
      exasSide.push(at - observed);
      carried.push([observed, at]);
      if (TRACE && at - observed > 1_000) log(`trace ${userId} sent ${Math.round(at - observed)} ms after EXAS saw it (changed ${new Date(changed).toISOString().slice(11, 23)})`);
    }
  };
  // The sidecar's own Statistics API source, wrapped to note when each agent's snapshot reaches EXAS, so the
  // latency splits into the Stat Server side (emulator, CometD, settle window) and EXAS's own (rules, writer).
  const observedAt = new Map<string, number>();
  const source = createStatisticsApiSource({
    endpoints: config.statServer.endpoints.map((endpoint) => ({ baseUrl: endpoint.baseUrl })),
    apiKey: 'exas-demo',
    bearerToken: 'exas-demo',
    reasonKey: config.statServer.reasonKey,
    settleMs: config.statServer.settleMs,
    batchSize: config.statServer.batchSize,
  });
  const timedSource: StatSource = {
    ...source,
    start: () => source.start(),
    stop: () => source.stop(),
    open: (agentIds) => source.open(agentIds),
    close: (agentIds) => source.close(agentIds),
    peek: (agentIds) => source.peek(agentIds),
    onConnection: (listener) => source.onConnection(listener),
    isConnected: () => source.isConnected(),
    stats: () => source.stats(),
    onObservation: (listener) =>
      source.onObservation((observation) => {
        if (observation.kind === 'snapshot' && changedAt.size > 0) {
          const userId = emulatedUserId(Number(observation.snapshot.agentId) - 1001);
          if (changedAt.has(userId) && !observedAt.has(userId)) {
            observedAt.set(userId, performance.timeOrigin + performance.now());
            if (TRACE) traceSlow(userId, () => observedAt.has(userId), () => sidecarRef?.writer.get(userId));
          }
        }
        listener(observation);
      }),
  };
  let sidecarRef: Sidecar | undefined;
  const sidecar = createSidecar(config, { source: timedSource });
  sidecarRef = sidecar;
  await sidecar.start();
  return {
    sidecar,
    get sent() {
      return allSent.slice(start);
    },
    directory,
    noteChange(userId, at) {
      changedAt.set(userId, at);
      observedAt.delete(userId);
    },
    latencies,
    statServerSide,
    exasSide,
    carried,
    async stop() {
      await sidecar.stop(1_000);
      currentGcUrl = undefined;
      injectListener = () => undefined;
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** `EXAS_BENCH_TRACE=1`: log what the writer holds for a measured change still unsent 1 s after EXAS saw it. */
const TRACE = process.env['EXAS_BENCH_TRACE'] === '1';
function traceSlow(userId: string, unsent: () => boolean, view: () => unknown): void {
  const seen = Date.now();
  for (const after of [1_000, 3_000]) {
    setTimeout(() => {
      if (unsent()) log(`trace ${userId} unsent ${after} ms after EXAS saw it (seen ${new Date(seen).toISOString().slice(11, 23)}): ${JSON.stringify(view())}`);
    }, after).unref();
  }
}

const rss = (): number => process.memoryUsage().rss / 2 ** 20;
const round = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const log = (text: string): void => void process.stderr.write(`[sync bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

interface OverloadResult {
  clients: number;
  coldResyncSeconds: number | null;
  maxPerMinute: number;
  burstRequests: number;
  lastMinuteRequests: number;
  utilisation: number;
  rateLimited: number;
  convergeSeconds: number | null;
  left: number;
  eventsReceived: number;
}

async function overload(rules: RulesProgram, clients: number): Promise<OverloadResult> {
  const { agents, budget, overloadRate, burstSeconds } = PROFILE;
  const emulators = await startEmulators(agents, budget, clients);
  const exas = await startExas(emulators, agents, clients, budget);
  try {
    const cold = await waitConverged(emulators, rules, 600);
    log(`${clients} client(s): cold resync of ${agents} agents converged in ${round(cold.seconds ?? Number.NaN, 1)} s`);
    const eventsBefore = totalEvents(exas.sidecar);
    await send(`${emulators.statServer}/emulator/simulation`, 'POST', { running: true, eventsPerSecond: overloadRate });
    const burstStart = Date.now();
    await new Promise((wake) => setTimeout(wake, burstSeconds * 1000));
    await send(`${emulators.statServer}/emulator/simulation`, 'POST', { running: false });
    const burstEnd = Date.now();
    const eventsReceived = totalEvents(exas.sidecar) - eventsBefore;
    log(`${clients} client(s): burst of ${burstSeconds} s done (${eventsReceived} Stat Server events received); waiting for convergence`);
    const converged = await waitConverged(emulators, rules, 600);
    const sent = exas.sent;
    const stats = await getJson<{ rateLimited: number }>(`${emulators.gc}/emulator/stats`);
    const inBurst = sent.filter((request) => request.at >= burstStart && request.at <= burstEnd).length;
    const lastMinute = sent.filter((request) => request.at > burstEnd - 60_000 && request.at <= burstEnd).length;
    return {
      clients,
      coldResyncSeconds: cold.seconds,
      maxPerMinute: maxPerMinute(sent),
      burstRequests: inBurst,
      lastMinuteRequests: lastMinute,
      utilisation: lastMinute / (budget * clients),
      rateLimited: stats.rateLimited,
      convergeSeconds: converged.seconds,
      left: converged.left,
      eventsReceived,
    };
  } finally {
    await exas.stop();
    await emulators.close();
  }
}

function totalEvents(sidecar: Sidecar): number {
  return Object.values(sidecar.connector.metricsSnapshot().statServer.eventsReceived).reduce((sum, count) => sum + count, 0);
}

interface LatencyResult {
  clients: number;
  changes: number;
  measured: number;
  p50: number;
  p99: number;
  max: number;
  statServerP50: number;
  statServerP99: number;
  exasP50: number;
  exasP99: number;
  /** Changes that left with a later presence request than the first one after EXAS saw them (batches built early). */
  missedFirstPresence: number;
  maxPerMinute: number;
  rateLimited: number;
}

/** How many changes left with a later presence request than the first one to leave after EXAS saw them. */
function missedFirstPresence(carried: ReadonlyArray<[number, number]>, sent: readonly SentRequest[]): number {
  const presenceTimes = sent.filter((request) => request.path.endsWith('/presence')).map((request) => request.at);
  let missed = 0;
  for (const [observed, at] of carried) {
    const next = presenceTimes.find((time) => time >= observed);
    if (next !== undefined && at > next + 1) missed += 1;
  }
  return missed;
}

async function latency(rules: RulesProgram, clients: number): Promise<LatencyResult> {
  const { agents, budget, latencyRate, latencySeconds } = PROFILE;
  const emulators = await startEmulators(agents, budget, clients);
  const exas = await startExas(emulators, agents, clients, budget);
  try {
    const cold = await waitConverged(emulators, rules, 600);
    log(`latency (${clients} client${clients === 1 ? '' : 's'}): cold resync converged in ${round(cold.seconds ?? Number.NaN, 1)} s; waiting for the budget window to clear`);
    // Within budget means a full budget: wait until the cold resync's requests have left the 60 s window.
    const recent = () => exas.sent.filter((request) => request.at > Date.now() - 60_000).length;
    while (recent() > budget / 20) await new Promise((wake) => setTimeout(wake, 500));
    // Two states that differ in both presence and routing status, so every change costs GC writes.
    const ready = { state: 'Ready', callType: 'None', reason: null };
    const onBreak = { state: 'NotReady', callType: 'None', reason: 'Break' };
    const flip = new Map<number, boolean>();
    const startedAt = Date.now();
    let changes = 0;
    const interval = 1000 / latencyRate;
    while (Date.now() - startedAt < latencySeconds * 1000) {
      const due = startedAt + changes * interval;
      if (Date.now() < due) await new Promise((wake) => setTimeout(wake, due - Date.now()));
      const index = (changes * 7919) % agents; // a stride that visits every agent before repeating
      const next = !(flip.get(index) ?? false);
      flip.set(index, next);
      exas.noteChange(emulatedUserId(index), performance.timeOrigin + performance.now());
      await send(`${emulators.statServer}/emulator/agents/${1001 + index}`, 'PUT', next ? onBreak : ready);
      changes += 1;
    }
    await waitConverged(emulators, rules, 120);
    const stats = await getJson<{ rateLimited: number }>(`${emulators.gc}/emulator/stats`);
    const values = exas.latencies;
    return {
      clients,
      changes,
      measured: values.length,
      p50: percentile(values, 50),
      p99: percentile(values, 99),
      max: Math.max(...values),
      statServerP50: percentile(exas.statServerSide, 50),
      statServerP99: percentile(exas.statServerSide, 99),
      exasP50: percentile(exas.exasSide, 50),
      exasP99: percentile(exas.exasSide, 99),
      missedFirstPresence: missedFirstPresence(exas.carried, exas.sent),
      maxPerMinute: maxPerMinute(exas.sent),
      rateLimited: stats.rateLimited,
    };
  } finally {
    await exas.stop();
    await emulators.close();
  }
}

interface MemoryResult {
  agents: number;
  coldResyncSeconds: number | null;
  baselineMiB: number;
  afterResyncMiB: number;
  peakMiB: number;
  afterBurstMiB: number;
  heapAfterResyncMiB: number;
  heapAfterBurstMiB: number;
  /** process.memoryUsage() after the resync (MiB): where the RSS beyond the JS heap sits. */
  breakdownAfterResync: Record<string, number>;
  /**
   * RSS after the resync once the heap is compacted (five more full collections): one collection frees the
   * garbage but keeps the old-space pages the resync scattered live objects over; V8's memory reducer compacts
   * them the same way once a process's allocation rate drops, so this is what an idle EXAS settles at.
   */
  afterResyncCompactedMiB: number;
  heapTotalAfterResyncCompactedMiB: number;
  /** V8 heap spaces after the resync, `used / size` MiB: which space keeps the heap V8 grew and did not give back. */
  spacesAfterResync: Record<string, string>;
  convergeSeconds: number | null;
}

async function memory(rules: RulesProgram): Promise<MemoryResult> {
  const { rssAgents, budget, overloadRate, rssBurstSeconds } = PROFILE;
  const clients = 4;
  const collect = (): void => (globalThis as { gc?: () => void }).gc?.();
  collect();
  const baselineMiB = rss();
  const emulators = await startEmulators(rssAgents, budget, clients);
  const exas = await startExas(emulators, rssAgents, clients, budget);
  let peakMiB = rss();
  // EXAS_BENCH_MEM_TRACE=1: one stderr line per second with RSS and the V8 heap, to see when the peak happens.
  const memTrace = process.env['EXAS_BENCH_MEM_TRACE'] === '1';
  let ticks = 0;
  const sampler = setInterval(() => {
    peakMiB = Math.max(peakMiB, rss());
    ticks += 1;
    if (memTrace && ticks % 4 === 0) {
      const usage = process.memoryUsage();
      log(`mem rss ${round(usage.rss / 2 ** 20)} heap ${round(usage.heapUsed / 2 ** 20)}/${round(usage.heapTotal / 2 ** 20)} external ${round(usage.external / 2 ** 20)}`);
    }
  }, 250);
  // EXAS_BENCH_HEAP_SNAPSHOT_AT=<seconds>: a heap snapshot that long after start (mid-resync), to EXAS_BENCH_HEAP_SNAPSHOT.
  const snapshotAt = Number(process.env['EXAS_BENCH_HEAP_SNAPSHOT_AT'] ?? '0');
  if (snapshotAt > 0) setTimeout(() => log(`memory: mid-resync heap snapshot ${writeHeapSnapshot(`${process.env['EXAS_BENCH_HEAP_SNAPSHOT'] ?? 'mid'}.mid`)}`), snapshotAt * 1000);
  try {
    const cold = await waitConverged(emulators, rules, 900);
    log(`memory: cold resync of ${rssAgents} agents converged in ${round(cold.seconds ?? Number.NaN, 1)} s`);
    collect();
    const afterResyncMiB = rss();
    const heapAfterResyncMiB = process.memoryUsage().heapUsed / 2 ** 20;
    const breakdownAfterResync = Object.fromEntries(Object.entries(process.memoryUsage()).map(([key, bytes]) => [key, Math.round(bytes / 2 ** 20)]));
    const spacesAfterResync = Object.fromEntries(
      getHeapSpaceStatistics().map((space) => [space.space_name, `${round(space.space_used_size / 2 ** 20, 1)} / ${round(space.space_size / 2 ** 20, 1)}`]),
    );
    for (let round = 0; round < 5; round += 1) collect();
    const afterResyncCompactedMiB = rss();
    const heapTotalAfterResyncCompactedMiB = process.memoryUsage().heapTotal / 2 ** 20;
    // EXAS_BENCH_HEAP_SNAPSHOT=<file>: a V8 heap snapshot after the resync, to see where the heap per agent goes.
    const snapshotFile = process.env['EXAS_BENCH_HEAP_SNAPSHOT'];
    if (snapshotFile !== undefined && snapshotFile !== '') log(`memory: heap snapshot ${writeHeapSnapshot(snapshotFile)}`);
    await send(`${emulators.statServer}/emulator/simulation`, 'POST', { running: true, eventsPerSecond: overloadRate });
    await new Promise((wake) => setTimeout(wake, rssBurstSeconds * 1000));
    await send(`${emulators.statServer}/emulator/simulation`, 'POST', { running: false });
    const converged = await waitConverged(emulators, rules, 900);
    collect();
    return {
      agents: rssAgents,
      coldResyncSeconds: cold.seconds,
      baselineMiB,
      afterResyncMiB,
      peakMiB,
      afterBurstMiB: rss(),
      heapAfterResyncMiB,
      heapAfterBurstMiB: process.memoryUsage().heapUsed / 2 ** 20,
      breakdownAfterResync,
      spacesAfterResync,
      afterResyncCompactedMiB,
      heapTotalAfterResyncCompactedMiB,
      convergeSeconds: converged.seconds,
    };
  } finally {
    clearInterval(sampler);
    await exas.stop();
    await emulators.close();
  }
}

/**
 * The Node flags docs/deploy.md recommends for `agents`: a V8 heap cap of about 1.2 × (20 MiB + 1 KiB per agent)
 * in steps of 8 MiB, at least 64 (88 MiB at 50,000 agents, where the heap in use is 58 MiB after the resync and
 * about 76 MiB while the resync's writes are all owed at once: 80 MiB left too little room in earlier builds), a
 * 1 MiB young generation, and one V8 worker thread (four by default, each with its own malloc arena).
 */
function recommendedHeapFlags(agents: number): string[] {
  const capMiB = Math.max(64, Math.ceil(((20 + agents / 1024) * 1.2) / 8) * 8);
  return [`--max-old-space-size=${capMiB}`, '--max-semi-space-size=1', '--v8-pool-size=1'];
}

/**
 * The glibc malloc settings docs/deploy.md recommends beside the cap: fixed thresholds, so freed memory goes back
 * to the system instead of staying in the process (glibc raises them as a process runs; about 10 MiB at 50,000).
 */
const RECOMMENDED_MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_TRIM_THRESHOLD_: '131072', MALLOC_MMAP_THRESHOLD_: '131072' };

/** The memory phase in a process of its own, so the RSS is EXAS's alone (not the earlier phases' leftovers). */
async function memoryInFreshProcess(extraFlags: readonly string[] = [], extraEnv: Readonly<Record<string, string>> = {}): Promise<MemoryResult> {
  // EXAS_BENCH_NODE_FLAGS (e.g. `--max-old-space-size=128`) adds flags of your own to the same run.
  const flags = [...extraFlags, ...(process.env['EXAS_BENCH_NODE_FLAGS'] ?? '').split(' ').filter((flag) => flag !== '')];
  const child = spawn(process.execPath, ['--expose-gc', ...flags, fileURLToPath(import.meta.url), '--memory'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...extraEnv },
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  const line = output.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`memory phase exited with ${code}: ${output.slice(-500)}`);
  return JSON.parse(line) as MemoryResult;
}

/** The memory phase as Node starts by default, then with the recommended flags and malloc settings; both logged. */
async function memoryPhases(): Promise<{ mem: MemoryResult; capped: MemoryResult; cappedFlags: string[] }> {
  const mem = await memoryInFreshProcess();
  log(`memory: ${JSON.stringify(mem)}`);
  const cappedFlags = recommendedHeapFlags(PROFILE.rssAgents);
  const capped = await memoryInFreshProcess(cappedFlags, RECOMMENDED_MALLOC_ENV);
  log(`memory with ${cappedFlags.join(' ')} and ${recommendedEnvText()}: ${JSON.stringify(capped)}`);
  return { mem, capped, cappedFlags };
}

const recommendedEnvText = (): string => Object.entries(RECOMMENDED_MALLOC_ENV).map(([name, value]) => `${name}=${value}`).join(' ');

async function rulesProgram(): Promise<RulesProgram> {
  const loaded = await loadRulesFile(RULES_FILE);
  if (loaded.program === null) throw new Error('exas.rules.yaml does not load');
  return loaded.program;
}

function quietLogs(): Map<string, number> {
  const warnings = new Map<string, number>();
  setLogLevel('warn');
  setLogSink((line) => {
    const message = (JSON.parse(line) as { msg?: string }).msg ?? line;
    warnings.set(message, (warnings.get(message) ?? 0) + 1);
  });
  return warnings;
}

async function main(): Promise<void> {
  const warnings = quietLogs();
  const rules = await rulesProgram();
  log(`profile ${PROFILE.name}: ${JSON.stringify(PROFILE)}`);
  // `EXAS_BENCH_ONLY=latency`: only the latency phases, logged, RESULTS.md untouched (for diagnosis).
  if (process.env['EXAS_BENCH_ONLY'] === 'latency') {
    for (const clients of PROFILE.clientCounts) {
      const result = await latency(rules, clients);
      log(`latency: ${JSON.stringify(result)}`);
      const gaps = exasGaps(allSent);
      log(`request gaps over 1 s during the run: ${JSON.stringify(gaps)}`);
      const last = allSent.at(-1)?.at ?? 0;
      const byPath = new Map<string, number>();
      for (const request of allSent) {
        if (request.at < last - 75_000) continue;
        const path = request.path.replace(/[0-9a-f-]{36}/g, 'ID');
        byPath.set(path, (byPath.get(path) ?? 0) + 1);
      }
      log(`requests in the last 75 s by path: ${JSON.stringify([...byPath])}`);
    }
    log(`warnings: ${JSON.stringify([...warnings])}`);
    return;
  }

  // `EXAS_BENCH_ONLY=memory`: only the two memory phases, logged, RESULTS.md untouched.
  if (process.env['EXAS_BENCH_ONLY'] === 'memory') {
    await memoryPhases();
    return;
  }

  const overloads: OverloadResult[] = [];
  for (const clients of PROFILE.clientCounts) overloads.push(await overload(rules, clients));
  log(`overload: ${JSON.stringify(overloads)}`);
  const delays: LatencyResult[] = [];
  for (const clients of PROFILE.clientCounts) delays.push(await latency(rules, clients));
  log(`latency: ${JSON.stringify(delays)}`);
  const delay = delays[0] as LatencyResult;
  const { mem, capped, cappedFlags } = await memoryPhases();

  const budget = PROFILE.budget;
  const rows = overloads.map(
    (result) =>
      `| ${result.clients} | ${round(result.coldResyncSeconds ?? Number.NaN, 1)} s | ${result.maxPerMinute} (limit ${budget}) | ${result.rateLimited} | ${result.lastMinuteRequests} / ${budget * result.clients} = **${round(result.utilisation * 100, 1)} %** | ${result.convergeSeconds === null ? `not within 600 s (${result.left} left)` : `${round(result.convergeSeconds, 1)} s`} | ${result.eventsReceived.toLocaleString('en')} |`,
  );
  const worstUtilisation = Math.min(...overloads.map((result) => result.utilisation));
  const anyOver = overloads.some((result) => result.maxPerMinute > budget);
  const any429 = overloads.some((result) => result.rateLimited > 0) || delays.some((result) => result.rateLimited > 0);
  const latencyRows = delays.map(
    (result) =>
      `| ${result.clients} | **${round(result.p50)}** / **${round(result.p99)}** / ${round(result.max)} ms | ${round(result.statServerP50)} / ${round(result.statServerP99)} ms | ${round(result.exasP50)} / ${round(result.exasP99)} ms | ${result.measured.toLocaleString('en')} of ${result.changes.toLocaleString('en')} | ${result.maxPerMinute} | ${result.rateLimited} |`,
  );
  const markdown = `
Profile **${PROFILE.name}** (\`EXAS_BENCH_PROFILE=${PROFILE.name}\`): ${PROFILE.agents.toLocaleString('en')} agents, overload bursts of ${PROFILE.overloadRate.toLocaleString('en')} Stat Server events/s for ${PROFILE.burstSeconds} s, GC emulator at ${budget} requests/min per client, EXAS with \`gc.headroom: 0\`. Emulators in a child process, EXAS in the bench process; every agent checked after each phase (Engage state from the Stat Server emulator, mapping by the rules engine, GC state from the GC emulator).

Overload (events far beyond what the budget can carry; EXAS must coalesce, batch and pace):

| GC clients | cold resync, all agents converged | most requests in any 60 s, per client | 429s | burst's last minute: requests / budget = utilisation | all agents converged after the burst stopped | Stat Server events received in the burst |
|---|---|---|---|---|---|---|
${rows.join('\n')}

Added latency within budget (${PROFILE.latencyRate} changes/s for ${PROFILE.latencySeconds} s, each change Ready ↔ NotReady(Break), so both presence and routing status change; after the cold resync's requests left the window), Stat Server change → first GC inject request carrying that user. Change → snapshot in EXAS is the Stat Server side (emulator, CometD, 50 ms settle window); snapshot → GC request is EXAS's (rules, writer, pacing):

| GC clients | change → GC request p50 / p99 / max | change → snapshot p50 / p99 | snapshot → GC request p50 / p99 | changes measured | most requests in any 60 s (all clients) | 429s |
|---|---|---|---|---|---|---|
${latencyRows.join('\n')}

Memory (RSS of a process running only EXAS, ${mem.agents.toLocaleString('en')} agents, 4 clients): ${round(mem.baselineMiB)} MiB with the code loaded, before start; **${round(mem.afterResyncMiB)} MiB** after the cold resync (${round(mem.afterResyncCompactedMiB)} MiB once the heap is compacted: V8 heap ${round(mem.heapTotalAfterResyncCompactedMiB)} MiB), peak **${round(mem.peakMiB)} MiB** through a ${PROFILE.rssBurstSeconds} s burst at ${PROFILE.overloadRate.toLocaleString('en')} events/s, ${round(mem.afterBurstMiB)} MiB after it; JS heap in use ${round(mem.heapAfterResyncMiB)} MiB after the resync, ${round(mem.heapAfterBurstMiB)} MiB after the burst (converged ${mem.convergeSeconds === null ? 'not within 900 s' : `in ${round(mem.convergeSeconds, 1)} s`}). With the V8 heap cap and malloc settings docs/deploy.md recommends (\`NODE_OPTIONS="${cappedFlags.join(' ')}" ${recommendedEnvText()}\`): ${round(capped.baselineMiB)} MiB before start, **${round(capped.afterResyncMiB)} MiB** after the cold resync, peak **${round(capped.peakMiB)} MiB**, ${round(capped.afterBurstMiB)} MiB after the burst; JS heap in use ${round(capped.heapAfterResyncMiB)} MiB (cold resync ${round(capped.coldResyncSeconds ?? Number.NaN, 1)} s, converged after the burst ${capped.convergeSeconds === null ? 'not within 900 s' : `in ${round(capped.convergeSeconds, 1)} s`}).

| target | goal | measured |
|---|---|---|
| requests per minute per client | never above ${budget} | ${overloads.map((result) => result.maxPerMinute).join(' / ')} (${PROFILE.clientCounts.join(' / ')} clients): ${anyOver ? '**missed**' : 'met'} |
| 429s caused by EXAS's pacing | 0 | ${overloads.map((result) => result.rateLimited).join(' / ')} and ${delay.rateLimited} in the latency run: ${any429 ? '**missed**' : 'met'} |
| budget utilisation under overload | ≥ 95 % | ${overloads.map((result) => `${round(result.utilisation * 100, 1)} %`).join(' / ')}: ${worstUtilisation >= 0.95 ? 'met' : '**missed**'} |
| added latency p99 at ${PROFILE.latencyRate} events/s, one client | ≤ 250 ms | ${round(delay.p99)} ms: ${delay.p99 <= 250 ? 'met' : '**missed**'}${delays.slice(1).map((result) => ` (${result.clients} clients: ${round(result.p99)} ms)`).join('')} |
| RSS at ${PROFILE.rssAgents.toLocaleString('en')} agents | ≤ 150 MB | peak ${round(mem.peakMiB)} MiB, ${round(capped.peakMiB)} MiB with the recommended heap cap and malloc settings: ${Math.min(mem.peakMiB, capped.peakMiB) * 1.048576 <= 150 ? 'met' : '**missed**'} |
${warnings.size > 0 ? `\nSidecar warnings during the run: ${[...warnings].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([message, count]) => `${count}× “${message}”`).join('; ')}.` : ''}
`;
  console.log(markdown);
  if (PROFILE.name !== 'smoke') writeSection(`sync-${PROFILE.name}`, `End-to-end sync between the emulators (${PROFILE.name} profile)`, markdown);
}

if (process.argv.includes('--serve')) await serve();
else if (process.argv.includes('--memory')) {
  quietLogs();
  allSent = recordGcRequests(
    () => currentGcUrl,
    (at, body) => injectListener(at, body),
  );
  process.stdout.write(`${JSON.stringify(await memory(await rulesProgram()))}\n`);
} else {
  allSent = recordGcRequests(
    () => currentGcUrl,
    (at, body) => injectListener(at, body),
  );
  await main();
}
