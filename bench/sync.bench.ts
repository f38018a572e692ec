/**
 * End-to-end sync benchmark (`npm run bench sync`, issue 6 part 11): the real sidecar between the Stat Server
 * emulator and the GC emulator, which run in a child process (this same file with `--serve`) so EXAS's event
 * loop and memory are its own. What it measures, per profile:
 *
 * 1. Overload, with 1 and with 4 GC clients: the crowd changes at R events/s for a burst; GC requests per
 *    minute of the busiest client (the most in any 60 s, from EXAS's own send times), 429s (from the GC
 *    emulator), budget utilisation (requests in the burst's last full minute ÷ budget), and the time until every
 *    agent's GC state equals the mapping of its Engage state once the burst stops (checked for all agents).
 *    Each run starts with a cold resync, reported against its request floor (issue 17 part 3, `ColdResync`):
 *    requests made and needed, the floor time, the first inject.
 * 2. Latency at 100 changes/s with 1, 2 and 4 clients, once the cold resync's requests have left the budget
 *    window: Stat Server change (control API PUT) → GC holds every field of the change (the GC emulator's own
 *    change times), two-field and presence-only changes apart, each beside its floor (`latencyFloor`).
 * 3. Memory of the EXAS process with M agents in scope, after the cold resync and through an overload burst;
 *    once as Node starts by default and once with the Node settings the deploy files set (the bench's
 *    recommended ones while they set none): RSS peak, heap in use per agent, heap cap against the need.
 *
 * Diagnosis: `EXAS_BENCH_ONLY=latency|memory|resync` runs only those phases (logged, RESULTS.md untouched);
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
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { createSidecar, type Sidecar } from '../src/sidecar/index.ts';
import { KEEP } from '../src/vocabulary.ts';
import { createSlidingWindowBudget, PACED_BURST_SHARE } from '../src/gc/index.ts';
import { median, percentile, writeSection } from './lib/results.ts';

interface Profile {
  readonly name: 'short' | 'full' | 'smoke';
  readonly agents: number;
  readonly overloadRate: number;
  readonly burstSeconds: number;
  readonly clientCounts: readonly number[];
  /** Client counts of the latency phase. */
  readonly latencyClientCounts: readonly number[];
  readonly budget: number;
  readonly latencyRate: number;
  readonly latencySeconds: number;
  readonly rssAgents: number;
  readonly rssBurstSeconds: number;
}

const PROFILES: Record<Profile['name'], Profile> = {
  full: { name: 'full', agents: 20_000, overloadRate: 2_000, burstSeconds: 150, clientCounts: [1, 4], latencyClientCounts: [1, 2, 4], budget: 300, latencyRate: 100, latencySeconds: 60, rssAgents: 50_000, rssBurstSeconds: 60 },
  /** Checks the bench itself in under a minute; its numbers mean nothing. */
  smoke: { name: 'smoke', agents: 300, overloadRate: 50, burstSeconds: 10, clientCounts: [1, 4], latencyClientCounts: [1, 2, 4], budget: 300, latencyRate: 100, latencySeconds: 5, rssAgents: 500, rssBurstSeconds: 5 },
  short: { name: 'short', agents: 2_000, overloadRate: 200, burstSeconds: 75, clientCounts: [1, 4], latencyClientCounts: [1, 2, 4], budget: 300, latencyRate: 100, latencySeconds: 30, rssAgents: 5_000, rssBurstSeconds: 20 },
};
const CHOSEN = PROFILES[(process.env['EXAS_BENCH_PROFILE'] ?? 'short') as Profile['name']] ?? PROFILES.short;
/** `EXAS_BENCH_RSS_AGENTS` overrides the memory phase's agent count (e.g. to profile at 10,000). */
const WITH_RSS: Profile = process.env['EXAS_BENCH_RSS_AGENTS'] === undefined ? CHOSEN : { ...CHOSEN, rssAgents: Number(process.env['EXAS_BENCH_RSS_AGENTS']) };
/** `EXAS_BENCH_CLIENTS=1,4` overrides the client counts the overload and latency phases run with. */
const PROFILE: Profile =
  process.env['EXAS_BENCH_CLIENTS'] === undefined ? WITH_RSS : { ...WITH_RSS, clientCounts: process.env['EXAS_BENCH_CLIENTS'].split(',').map(Number), latencyClientCounts: process.env['EXAS_BENCH_CLIENTS'].split(',').map(Number) };
const RULES_FILE = resolve('exas.rules.yaml');
/** The sidecar's `gc.headroom` in every phase: it paces to GC's whole budget (see the top comment). */
const HEADROOM = 0;
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
  const write = (message: ChildMessage): void => void process.stdout.write(`${JSON.stringify(message)}\n`);
  let unwatch: (() => void) | undefined;
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line === 'check') {
      // With the answer, when GC applied its latest change (its state's change times): when a resync ended.
      void mismatches(urls, rules).then((left) => {
        let lastChangeAt = 0;
        for (const userId of gc.userIds()) {
          const at = gc.changedAt(userId);
          if (at !== undefined) lastChangeAt = Math.max(lastChangeAt, at.presence, at.routingStatus);
        }
        write({ kind: 'left', left, lastChangeAt });
      });
    } else if (line === 'needed') {
      void neededWrites(urls, rules).then((needed) => write({ kind: 'needed', ...needed }));
    } else if (line === 'watch') {
      // Every change of what a GC user shows, with the emulator's change times: when GC held a measured change.
      unwatch ??= gc.onUserChange((userId, _part, view) => {
        const at = gc.changedAt(userId);
        if (at === undefined) return;
        write({ kind: 'change', userId, presence: view.presence, routingStatus: view.routingStatus, presenceAt: at.presence, routingStatusAt: at.routingStatus });
      });
    } else if (line === 'unwatch') {
      unwatch?.();
      unwatch = undefined;
    }
  });
  process.stdin.on('end', () => void Promise.all([statServer.close(), gc.close()]).then(() => process.exit(0)));
}

/** The GC emulator's default credentials (src/emulators/gc DEFAULT_CLIENT), spelled out to keep its code out. */
const DEFAULT_CLIENT = { clientId: 'exas-demo', clientSecret: 'exas-demo-secret' } as const;

function benchClients(count: number): Array<{ clientId: string; clientSecret: string }> {
  return Array.from({ length: count }, (_, index) => (index === 0 ? { ...DEFAULT_CLIENT } : { clientId: `bench-${index + 1}`, clientSecret: `bench-secret-${index + 1}` }));
}

/** What the emulators' process answers on its stdout, one JSON line each (after the first line, the URLs). */
type ChildMessage =
  | { readonly kind: 'left'; readonly left: number; readonly lastChangeAt: number }
  | { readonly kind: 'needed'; readonly presence: number; readonly routingStatus: number; readonly users: number }
  | ({ readonly kind: 'change' } & GcChange);

/** One change of what a GC user shows, with when GC applied each field last (emulator clock, epoch ms). */
interface GcChange {
  readonly userId: string;
  readonly presence: string;
  readonly routingStatus: string;
  readonly presenceAt: number;
  readonly routingStatusAt: number;
}

// ---------------------------------------------------------------------------------------------------------
// Parent: EXAS and the measurements.

interface Emulators {
  readonly statServer: string;
  readonly gc: string;
  readonly child: ChildProcess;
  /**
   * Agents whose GC state is not the mapping of their Engage state yet (counted in the emulators' process), and
   * when GC applied its latest change (epoch ms).
   */
  check(): Promise<{ left: number; lastChangeAt: number }>;
  /** Users whose presence, whose routing status GC must be told to reach the mapping of their Engage state. */
  needed(): Promise<{ presence: number; routingStatus: number; users: number }>;
  /** Streams every change of what a GC user shows to `listener` until `unwatch()`. */
  watch(listener: (change: GcChange) => void): void;
  unwatch(): void;
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
  const checks: Array<(answer: { left: number; lastChangeAt: number }) => void> = [];
  const neededs: Array<(answer: { presence: number; routingStatus: number; users: number }) => void> = [];
  let watcher: ((change: GcChange) => void) | undefined;
  lines.on('line', (line) => {
    const message = JSON.parse(line) as ChildMessage;
    if (message.kind === 'left') checks.shift()?.(message);
    else if (message.kind === 'needed') neededs.shift()?.(message);
    else watcher?.(message);
  });
  return {
    ...urls,
    child,
    check: () =>
      new Promise((answer) => {
        checks.push(answer);
        child.stdin!.write('check\n');
      }),
    needed: () =>
      new Promise((answer) => {
        neededs.push(answer);
        child.stdin!.write('needed\n');
      }),
    watch(listener) {
      watcher = listener;
      child.stdin!.write('watch\n');
    },
    unwatch() {
      watcher = undefined;
      child.stdin!.write('unwatch\n');
    },
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
      if (inject) {
        return original(input, init).then((response) => {
          injectRoundTrips.push({ at, ms: performance.timeOrigin + performance.now() - at });
          return response;
        });
      }
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

/**
 * Writes GC must be told of before every agent shows its mapping: users whose presence differs (a `keep` presence
 * differs only while the user shows Available), users whose routing status differs, and all users.
 */
async function neededWrites(emulators: { statServer: string; gc: string }, rules: RulesProgram): Promise<{ presence: number; routingStatus: number; users: number }> {
  const [agents, users] = await Promise.all([
    getJson<AgentView[]>(`${emulators.statServer}/emulator/agents`),
    getJson<Array<{ externalId?: string; presence: string; routingStatus: string }>>(`${emulators.gc}/emulator/users`),
  ]);
  const byAgent = new Map(users.map((user) => [user.externalId ?? '', user]));
  let presence = 0;
  let routingStatus = 0;
  for (const agent of agents) {
    const user = byAgent.get(agent.agentId);
    const decision = rules.decide(agent.state, agent.callType, agent.reason);
    if (user === undefined || decision.presence === null || decision.routingStatus === null) continue;
    if (decision.presence === KEEP ? user.presence === 'Available' : user.presence !== decision.presence) presence += 1;
    if (user.routingStatus !== decision.routingStatus) routingStatus += 1;
  }
  return { presence, routingStatus, users: users.length };
}

/**
 * Polls (every second) until every agent shows its mapping; returns the seconds it took (null on timeout), and
 * when GC applied its latest change (the moment it converged, to the millisecond, whatever the polling).
 */
async function waitConverged(emulators: Emulators, rules: RulesProgram, timeoutSeconds: number): Promise<{ seconds: number | null; left: number; lastChangeAt: number }> {
  const started = Date.now();
  let answer = { left: Number.POSITIVE_INFINITY, lastChangeAt: 0 };
  while (Date.now() - started < timeoutSeconds * 1000) {
    answer = await emulators.check();
    if (answer.left === 0) return { seconds: (Date.now() - started) / 1000, ...answer };
    await new Promise((wake) => setTimeout(wake, 1000));
  }
  return { seconds: null, ...answer };
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
  /** When `sidecar.start()` was called (epoch ms). */
  readonly startedAt: number;
  /** The Stat Server settle window EXAS runs with (ms). */
  readonly settleMs: number;
  stop(): Promise<void>;
}

let currentGcUrl: string | undefined;
let injectListener: (at: number, body: string) => void = () => undefined;
let allSent: SentRequest[] = [];
/** Each inject request's round trip: departure to GC's response (headers) in EXAS, ms. */
const injectRoundTrips: Array<{ at: number; ms: number }> = [];

async function startExas(emulators: Emulators, agents: number, clients: number, budget: number): Promise<RunningExas> {
  const directory = mkdtempSync(join(tmpdir(), 'exas-bench-'));
  const agentIds = Array.from({ length: agents }, (_, index) => String(1001 + index));
  writeFileSync(join(directory, 'agents.txt'), agentIds.join('\n'));
  const text = stringify({
    statServer: { endpoints: [{ baseUrl: emulators.statServer }], apiKey: 'exas-demo', bearerToken: 'exas-demo' },
    gc: { baseUrl: emulators.gc, clients: benchClients(clients), requestsPerMinute: budget, headroom: HEADROOM },
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
  const startedAt = Date.now();
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
    startedAt,
    settleMs: config.statServer.settleMs,
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

/**
 * A cold resync against its request floor (issue 17 part 3): every request it needs is an inject batch of up to
 * 100 users per field, plus one identity listing page per 500 users; at 5 requests/s per client (300/min) that
 * many requests take `floorSeconds`, and the goal is within 1.1 × that, with the first inject within 5 s.
 */
interface ColdResync {
  clients: number;
  users: number;
  /** Users whose presence / routing status GC had to be told of at start. */
  presenceNeeded: number;
  routingStatusNeeded: number;
  /** ⌈presence / 100⌉ + ⌈routing status / 100⌉ + ⌈users / 500⌉. */
  requestsNeeded: number;
  /** GC API requests EXAS sent from start until GC applied the resync's last change. */
  requestsMade: number;
  floorSeconds: number;
  /** Start → GC applied the last change the resync needed (null: not converged). */
  seconds: number | null;
  firstInjectSeconds: number | null;
  /** The requests made by endpoint (ids replaced by `ID`), for the log: where requests beyond the floor went. */
  byPath: Record<string, number>;
}

const INJECT_BATCH = 100;
const LISTING_PAGE = 500;

function coldResyncOf(clients: number, needed: { presence: number; routingStatus: number; users: number }, exas: RunningExas, converged: { seconds: number | null; lastChangeAt: number }, budget: number): ColdResync {
  const requestsNeeded = Math.ceil(needed.presence / INJECT_BATCH) + Math.ceil(needed.routingStatus / INJECT_BATCH) + Math.ceil(needed.users / LISTING_PAGE);
  const end = converged.seconds === null ? Number.POSITIVE_INFINITY : converged.lastChangeAt;
  const sent = exas.sent.filter((request) => request.at <= end);
  const firstInject = sent.find((request) => request.inject);
  return {
    clients,
    users: needed.users,
    presenceNeeded: needed.presence,
    routingStatusNeeded: needed.routingStatus,
    requestsNeeded,
    requestsMade: sent.length,
    floorSeconds: requestsNeeded / ((budget / 60) * clients),
    seconds: converged.seconds === null ? null : (converged.lastChangeAt - exas.startedAt) / 1000,
    firstInjectSeconds: firstInject === undefined ? null : (firstInject.at - exas.startedAt) / 1000,
    byPath: sent.reduce<Record<string, number>>((counts, request) => {
      const path = request.path.replace(/[0-9a-f]{8}-[0-9a-f-]{26}[0-9a-f]|streaming-[\w-]+/g, 'ID');
      counts[path] = (counts[path] ?? 0) + 1;
      return counts;
    }, {}),
  };
}

interface OverloadResult {
  clients: number;
  coldResyncSeconds: number | null;
  resync: ColdResync;
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
  const needed = await emulators.needed();
  const exas = await startExas(emulators, agents, clients, budget);
  try {
    const cold = await waitConverged(emulators, rules, 600);
    const resync = coldResyncOf(clients, needed, exas, cold, budget);
    log(`${clients} client(s): cold resync of ${agents} agents converged in ${round(cold.seconds ?? Number.NaN, 1)} s: ${JSON.stringify(resync)}`);
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
      coldResyncSeconds: resync.seconds,
      resync,
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

/** Latency percentiles of one kind of change, ms. */
interface Spread {
  measured: number;
  p50: number;
  p99: number;
  max: number;
}

const spreadOf = (values: readonly number[]): Spread => ({
  measured: values.length,
  p50: percentile(values, 50),
  p99: percentile(values, 99),
  max: values.length === 0 ? Number.NaN : Math.max(...values),
});

/**
 * The least latency the budget and the writer's policy allow, at quantile `q` of a steady stream of changes:
 *
 * - `slotMs`: the pool's slot interval, the sliding-window budget's paced spacing per client ÷ clients
 *   (`paced budget slot interval`, measured on a real `createSlidingWindowBudget` with the sidecar's settings);
 * - each field takes a slot of its own and presence goes first (the writer's documented policy), so presence and
 *   routing-status batches take turns: a field's batch leaves every 2 slots, and a change waits for the next
 *   presence batch `q × 2 × slotMs` (uniform over 0 … 2 slots);
 * - the routing status goes in the first slot after GC acknowledged the presence: `slotMs × max(1, ⌈rtt / slotMs⌉)`
 *   after the presence batch (the next slot, while GC answers within a slot);
 * - plus the Stat Server settle window before EXAS sees the change, and one GC round trip for the last request to
 *   reach GC (`rttMs`, the run's median inject round trip: an upper bound of departure → applied).
 *
 * two fields:    settle + q × 2 × slot + slot × max(1, ⌈rtt / slot⌉) + rtt
 * presence only: settle + q × 2 × slot + rtt
 *
 * The Stat Server's own delivery (emulator → CometD → EXAS, beyond the settle window) is not in the floor.
 */
function latencyFloor(slotMs: number, settleMs: number, rttMs: number, q: number): { twoFields: number; presenceOnly: number } {
  const presenceWait = q * 2 * slotMs;
  const routingWait = slotMs * Math.max(1, Math.ceil(rttMs / slotMs));
  return { twoFields: settleMs + presenceWait + routingWait + rttMs, presenceOnly: settleMs + presenceWait + rttMs };
}

/** One client's paced slot interval (ms): the spacing a sliding-window budget with the sidecar's settings keeps once its burst is spent. */
function pacedSlotMs(requestsPerMinute: number, headroom: number): number {
  let clock = 0;
  const budget = createSlidingWindowBudget({ requestsPerMinute, headroom, burstShare: PACED_BURST_SHARE, now: () => clock });
  while (budget.available() > 0) void budget.take();
  clock = budget.nextSlotAt();
  void budget.take();
  const first = clock;
  const slots = 1_000;
  for (let slot = 0; slot < slots; slot += 1) {
    clock = budget.nextSlotAt();
    void budget.take();
  }
  return (clock - first) / slots;
}

interface LatencyResult {
  clients: number;
  changes: number;
  /** Changes made per second (the goal's rate when the machine keeps up). */
  changesPerSecond: number;
  /** Changes made of each kind (`other`: routing status alone, not reported). */
  kinds: { twoFields: number; presenceOnly: number; other: number };
  /** Changes of both fields (Ready ↔ NotReady(reason)): Stat Server change → GC holds both. */
  twoFields: Spread;
  /** Changes of presence alone (one NotReady reason → another): Stat Server change → GC holds it. */
  presenceOnly: Spread;
  /** Change → snapshot reached EXAS (emulator, CometD, settle window). */
  statServerP50: number;
  statServerP99: number;
  /** Snapshot reached EXAS → the first GC request carrying the user left (a diagnosis of EXAS's own share). */
  firstRequestP50: number;
  firstRequestP99: number;
  /** The floor's terms (see `latencyFloor`). */
  slotMs: number;
  settleMs: number;
  rttMs: number;
  floorP50: { twoFields: number; presenceOnly: number };
  floorP99: { twoFields: number; presenceOnly: number };
  /** Most requests any one client sent in any 60 s (the busiest client). */
  maxPerMinute: number;
  rateLimited: number;
}

type EngageView = Omit<AgentView, 'agentId'>;
const READY: EngageView = { state: 'Ready', callType: 'None', reason: null };
/** Not Ready without a call, one reason each: presence Break, Meal, Meeting, Training; routing status Off Queue. */
const OFF_QUEUE_REASONS: readonly EngageView[] = ['Break', 'Meal', 'Meeting', 'Training'].map((reason) => ({ state: 'NotReady', callType: 'None', reason }));

/**
 * The latency phase's next Engage state for an agent whose GC user shows `before`: every third change moves
 * presence alone (another Not Ready reason, where the user is off queue; else it moves both), the others move
 * both fields (Ready ↔ Not Ready(reason)).
 */
function nextChange(rules: RulesProgram, before: { presence: string; routingStatus: string }, presenceOnly: boolean): EngageView {
  const shows = (view: EngageView) => rules.decide(view.state, view.callType, view.reason);
  if (before.routingStatus === 'OffQueue') {
    if (presenceOnly) {
      const other = OFF_QUEUE_REASONS.find((view) => shows(view).presence !== before.presence);
      if (other !== undefined) return other;
    }
    return READY;
  }
  return OFF_QUEUE_REASONS.find((view) => shows(view).presence !== before.presence) ?? READY;
}

/** What one measured change waits for: GC showing this presence and routing status. */
interface Expected {
  readonly at: number;
  readonly presence: string;
  readonly routingStatus: string;
  readonly kind: 'twoFields' | 'presenceOnly' | 'other';
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
    const shown = await getJson<Array<{ externalId?: string; presence: string; routingStatus: string }>>(`${emulators.gc}/emulator/users`);
    const kinds = { twoFields: 0, presenceOnly: 0, other: 0 };
    const shownOf = new Map(shown.map((user) => [user.externalId ?? '', { presence: user.presence, routingStatus: user.routingStatus }]));
    const waiting = new Map<string, Expected>();
    const held = { twoFields: [] as number[], presenceOnly: [] as number[] };
    emulators.watch((change) => {
      const expected = waiting.get(change.userId);
      if (expected === undefined || change.presence !== expected.presence || change.routingStatus !== expected.routingStatus) return;
      waiting.delete(change.userId);
      if (expected.kind !== 'other') held[expected.kind].push(Math.max(change.presenceAt, change.routingStatusAt) - expected.at);
    });
    const measuredFrom = Date.now();
    const startedAt = Date.now();
    let changes = 0;
    let overtaken = 0;
    const interval = 1000 / latencyRate;
    while (Date.now() - startedAt < latencySeconds * 1000) {
      const due = startedAt + changes * interval;
      if (Date.now() < due) await new Promise((wake) => setTimeout(wake, due - Date.now()));
      const index = (changes * 7919) % agents; // a stride that visits every agent before repeating
      const agentId = String(1001 + index);
      const before = shownOf.get(agentId) ?? { presence: '', routingStatus: '' };
      const next = nextChange(rules, before, changes % 3 === 2);
      const decision = rules.decide(next.state, next.callType, next.reason);
      const after = { presence: String(decision.presence), routingStatus: String(decision.routingStatus) };
      const presenceMoves = after.presence !== before.presence;
      const routingMoves = after.routingStatus !== before.routingStatus;
      const userId = emulatedUserId(index);
      if (waiting.has(userId)) overtaken += 1;
      waiting.set(userId, { at: Date.now(), ...after, kind: presenceMoves && routingMoves ? 'twoFields' : presenceMoves ? 'presenceOnly' : 'other' });
      shownOf.set(agentId, after);
      kinds[waiting.get(userId)!.kind] += 1;
      exas.noteChange(userId, performance.timeOrigin + performance.now());
      // One at a time, as the change's time is taken before its PUT: PUTs queued behind each other on a busy
      // machine would count their queueing as latency. The rate made is reported beside the figures.
      await send(`${emulators.statServer}/emulator/agents/${agentId}`, 'PUT', next);
      changes += 1;
    }
    const changeSeconds = (Date.now() - startedAt) / 1000;
    const drained = Date.now();
    while (waiting.size > 0 && Date.now() - drained < 60_000) await new Promise((wake) => setTimeout(wake, 200));
    emulators.unwatch();
    log(`latency (${clients} client${clients === 1 ? '' : 's'}): ${JSON.stringify(kinds)} changes in ${round(changeSeconds, 1)} s; ${waiting.size} GC never showed, ${overtaken} overtaken by the agent's next change`);
    const stats = await getJson<{ rateLimited: number }>(`${emulators.gc}/emulator/stats`);
    const slotMs = pacedSlotMs(budget, HEADROOM) / clients;
    const rttMs = median(injectRoundTrips.filter((trip) => trip.at >= measuredFrom).map((trip) => trip.ms));
    return {
      clients,
      changes,
      changesPerSecond: changes / changeSeconds,
      kinds,
      twoFields: spreadOf(held.twoFields),
      presenceOnly: spreadOf(held.presenceOnly),
      statServerP50: percentile(exas.statServerSide, 50),
      statServerP99: percentile(exas.statServerSide, 99),
      firstRequestP50: percentile(exas.exasSide, 50),
      firstRequestP99: percentile(exas.exasSide, 99),
      slotMs,
      settleMs: exas.settleMs,
      rttMs,
      floorP50: latencyFloor(slotMs, exas.settleMs, rttMs, 0.5),
      floorP99: latencyFloor(slotMs, exas.settleMs, rttMs, 0.99),
      maxPerMinute: maxPerMinute(exas.sent.filter((request) => request.at >= measuredFrom)),
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
  /** JS heap in use with the code loaded, before start (after a full collection), and the most sampled in the run. */
  heapBaselineMiB: number;
  heapPeakMiB: number;
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
  const heapBaselineMiB = process.memoryUsage().heapUsed / 2 ** 20;
  const emulators = await startEmulators(rssAgents, budget, clients);
  const exas = await startExas(emulators, rssAgents, clients, budget);
  let peakMiB = rss();
  let heapPeakMiB = heapBaselineMiB;
  // EXAS_BENCH_MEM_TRACE=1: one stderr line per second with RSS and the V8 heap, to see when the peak happens.
  const memTrace = process.env['EXAS_BENCH_MEM_TRACE'] === '1';
  let ticks = 0;
  const sampler = setInterval(() => {
    peakMiB = Math.max(peakMiB, rss());
    heapPeakMiB = Math.max(heapPeakMiB, process.memoryUsage().heapUsed / 2 ** 20);
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
      heapBaselineMiB,
      heapPeakMiB,
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

/** Node flags and environment for the memory phase's capped run, and where they come from. */
interface NodeSettings {
  readonly flags: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Which deploy files set them, or why the bench's recommended ones stand in. */
  readonly source: string;
}

/** The shipped deploy files (Docker, systemd, Kubernetes), read for the Node/V8 and malloc settings they set. */
const DEPLOY_FILES = ['deploy/docker/Dockerfile', 'deploy/systemd/exas.service', 'deploy/systemd/exas.env', 'deploy/kubernetes/base/exas.yaml'];

/**
 * The settings the shipped deploy files set themselves (issue 17 part 2: the RSS target holds with those), read
 * from `NODE_OPTIONS` or Deno's `--v8-flags` and the malloc variables; when no deploy file sets a heap cap, the
 * bench's recommended flags (docs/deploy.md), and the report says so.
 */
function deployNodeSettings(agents: number): NodeSettings {
  const flags = new Map<string, string>();
  const env: Record<string, string> = {};
  const setBy: string[] = [];
  for (const file of DEPLOY_FILES) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    let sets = false;
    for (const match of text.matchAll(/--(max-old-space-size|max-semi-space-size|v8-pool-size)[= ](\d+)/g)) {
      flags.set(match[1]!, match[2]!);
      sets = true;
    }
    for (const match of text.matchAll(/(MALLOC_[A-Z_]+_)["']?\s*(?:[=:]|\n\s*value:)\s*["']?(\d+)/g)) {
      env[match[1]!] = match[2]!;
      sets = true;
    }
    if (sets) setBy.push(file);
  }
  if (!flags.has('max-old-space-size')) {
    return {
      flags: recommendedHeapFlags(agents),
      env: RECOMMENDED_MALLOC_ENV,
      source: `no deploy file (${DEPLOY_FILES.join(', ')}) sets a heap cap, so these are the bench's recommended settings (docs/deploy.md), not shipped ones`,
    };
  }
  return { flags: [...flags].map(([name, value]) => `--${name}=${value}`), env, source: `as set by ${setBy.join(', ')}` };
}

const heapCapMiB = (flags: readonly string[]): number => Number(/--max-old-space-size=(\d+)/.exec(flags.join(' '))?.[1] ?? Number.NaN);

/** The memory phase as Node starts by default, then with the deploy files' (or recommended) settings; both logged. */
async function memoryPhases(): Promise<{ mem: MemoryResult; capped: MemoryResult; settings: NodeSettings }> {
  const mem = await memoryInFreshProcess();
  log(`memory: ${JSON.stringify(mem)}`);
  const settings = deployNodeSettings(PROFILE.rssAgents);
  const capped = await memoryInFreshProcess(settings.flags, settings.env);
  log(`memory with ${settings.flags.join(' ')} ${envText(settings.env)} (${settings.source}): ${JSON.stringify(capped)}`);
  return { mem, capped, settings };
}

const envText = (env: Readonly<Record<string, string>>): string => Object.entries(env).map(([name, value]) => `${name}=${value}`).join(' ');

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
    for (const clients of PROFILE.latencyClientCounts) {
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

  // `EXAS_BENCH_ONLY=resync`: only the cold resyncs (the start of each overload run), logged, RESULTS.md untouched.
  if (process.env['EXAS_BENCH_ONLY'] === 'resync') {
    for (const clients of PROFILE.clientCounts) {
      const emulators = await startEmulators(PROFILE.agents, PROFILE.budget, clients);
      const needed = await emulators.needed();
      const exas = await startExas(emulators, PROFILE.agents, clients, PROFILE.budget);
      try {
        const cold = await waitConverged(emulators, rules, 600);
        log(`cold resync: ${JSON.stringify(coldResyncOf(clients, needed, exas, cold, PROFILE.budget))}`);
      } finally {
        await exas.stop();
        await emulators.close();
      }
    }
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
  for (const clients of PROFILE.latencyClientCounts) delays.push(await latency(rules, clients));
  log(`latency: ${JSON.stringify(delays)}`);
  const { mem, capped, settings } = await memoryPhases();
  console.log(report(overloads, delays, mem, capped, settings, warnings));
  if (PROFILE.name !== 'smoke') writeSection(`sync-${PROFILE.name}`, `End-to-end sync between the emulators (${PROFILE.name} profile)`, report(overloads, delays, mem, capped, settings, warnings));
}

const metText = (met: boolean): string => (met ? 'met' : '**not met**');
const secondsText = (seconds: number | null, digits = 1): string => (seconds === null ? 'not converged' : `${round(seconds, digits)} s`);

/** The profile's figures as the markdown of its bench/RESULTS.md section, each next to its goal. */
function report(overloads: readonly OverloadResult[], delays: readonly LatencyResult[], mem: MemoryResult, capped: MemoryResult, settings: NodeSettings, warnings: ReadonlyMap<string, number>): string {
  const budget = PROFILE.budget;
  const rows = overloads.map(
    (result) =>
      `| ${result.clients} | ${secondsText(result.coldResyncSeconds)} | ${result.maxPerMinute} (limit ${budget}) | ${result.rateLimited} | ${result.lastMinuteRequests} / ${budget * result.clients} = **${round(result.utilisation * 100, 1)} %** | ${result.convergeSeconds === null ? `not within 600 s (${result.left} left)` : `${round(result.convergeSeconds, 1)} s`} | ${result.eventsReceived.toLocaleString('en')} |`,
  );
  const worstUtilisation = Math.min(...overloads.map((result) => result.utilisation));
  const anyOver = overloads.some((result) => result.maxPerMinute > budget);
  const any429 = overloads.some((result) => result.rateLimited > 0) || delays.some((result) => result.rateLimited > 0);

  const resyncMet = (resync: ColdResync): boolean => resync.seconds !== null && resync.seconds <= 1.1 * resync.floorSeconds;
  const firstInjectMet = (resync: ColdResync): boolean => resync.firstInjectSeconds !== null && resync.firstInjectSeconds <= 5;
  const resyncRows = overloads.map(({ resync }) =>
    [
      resync.clients,
      `${resync.users.toLocaleString('en')} (${resync.presenceNeeded.toLocaleString('en')} / ${resync.routingStatusNeeded.toLocaleString('en')})`,
      resync.requestsMade,
      `${resync.requestsNeeded} = ${Math.ceil(resync.presenceNeeded / INJECT_BATCH) + Math.ceil(resync.routingStatusNeeded / INJECT_BATCH)} + ${Math.ceil(resync.users / LISTING_PAGE)}`,
      `${round(resync.floorSeconds, 1)} s`,
      `${round(1.1 * resync.floorSeconds, 1)} s`,
      `**${secondsText(resync.seconds)}** (${resync.seconds === null ? 'n/a' : `${round(resync.seconds / resync.floorSeconds, 2)}×`}): ${metText(resyncMet(resync))}`,
      `**${secondsText(resync.firstInjectSeconds, 2)}**: ${metText(firstInjectMet(resync))}`,
    ].join(' | '),
  );
  const oneClient = overloads.find((result) => result.clients === 1)?.resync;

  const ratio = (value: number, floor: number): string => `${round(value / floor, 2)}×`;
  const latencyRows = delays.map((result) =>
    [
      result.clients,
      `${round(result.slotMs, 1)} ms`,
      `**${round(result.twoFields.p50)}** / **${round(result.twoFields.p99)}** / ${round(result.twoFields.max)} ms`,
      `${round(result.floorP50.twoFields)} / ${round(result.floorP99.twoFields)} ms`,
      `${ratio(result.twoFields.p50, result.floorP50.twoFields)} / **${ratio(result.twoFields.p99, result.floorP99.twoFields)}**`,
      `${round(result.presenceOnly.p50)} / ${round(result.presenceOnly.p99)} / ${round(result.presenceOnly.max)} ms`,
      `${round(result.floorP50.presenceOnly)} / ${round(result.floorP99.presenceOnly)} ms (${ratio(result.presenceOnly.p99, result.floorP99.presenceOnly)} at p99)`,
      `${round(result.statServerP50)} / ${round(result.statServerP99)} ms`,
      `${round(result.firstRequestP50)} / ${round(result.firstRequestP99)} ms`,
      `${round(result.rttMs, 1)} ms`,
      `${round(result.changesPerSecond)}/s; ${result.twoFields.measured.toLocaleString('en')} of ${result.kinds.twoFields.toLocaleString('en')} + ${result.presenceOnly.measured.toLocaleString('en')} of ${result.kinds.presenceOnly.toLocaleString('en')}`,
      `${result.maxPerMinute} (limit ${budget})`,
      result.rateLimited,
    ].join(' | '),
  );
  const latencyMet = (result: LatencyResult): boolean => result.twoFields.p99 <= 1.1 * result.floorP99.twoFields;
  const fourClients = delays.find((result) => result.clients === 4);

  const perAgentKiB = (result: MemoryResult): number => ((result.heapAfterResyncMiB - result.heapBaselineMiB) * 1024) / result.agents;
  const capMiB = heapCapMiB(settings.flags);
  const capRatio = capMiB / capped.heapPeakMiB;
  const memoryText = (result: MemoryResult): string =>
    `${round(result.baselineMiB)} MiB with the code loaded, before start; **${round(result.afterResyncMiB)} MiB** after the cold resync (${round(result.afterResyncCompactedMiB)} MiB once the heap is compacted: V8 heap ${round(result.heapTotalAfterResyncCompactedMiB)} MiB), peak **${round(result.peakMiB)} MiB** through a ${PROFILE.rssBurstSeconds} s burst at ${PROFILE.overloadRate.toLocaleString('en')} events/s, ${round(result.afterBurstMiB)} MiB after it; JS heap in use ${round(result.heapBaselineMiB)} MiB before start, ${round(result.heapAfterResyncMiB)} MiB after the resync (**${round(perAgentKiB(result), 2)} KiB per agent** beyond the start), ${round(result.heapAfterBurstMiB)} MiB after the burst, at most ${round(result.heapPeakMiB)} MiB (sampled every 250 ms); cold resync ${secondsText(result.coldResyncSeconds)}, converged after the burst ${result.convergeSeconds === null ? 'not within 900 s' : `in ${round(result.convergeSeconds, 1)} s`}`;

  return `
Profile **${PROFILE.name}** (\`EXAS_BENCH_PROFILE=${PROFILE.name}\`): ${PROFILE.agents.toLocaleString('en')} agents, overload bursts of ${PROFILE.overloadRate.toLocaleString('en')} Stat Server events/s for ${PROFILE.burstSeconds} s, GC emulator at ${budget} requests/min per client, EXAS with \`gc.headroom: 0\`. Emulators in a child process, EXAS in the bench process; every agent checked after each phase (Engage state from the Stat Server emulator, mapping by the rules engine, GC state from the GC emulator).

Overload (events far beyond what the budget can carry; EXAS must coalesce, batch and pace):

| GC clients | cold resync, all agents converged | most requests in any 60 s, busiest client | 429s | burst's last minute: requests / budget (all clients) = utilisation | all agents converged after the burst stopped | Stat Server events received in the burst |
|---|---|---|---|---|---|---|
${rows.join('\n')}

Cold resync at the request floor (the start of each overload run; GC starts with every user Offline / Off Queue). Requests needed = inject batches needed (⌈users whose presence differs ÷ ${INJECT_BATCH}⌉ + ⌈users whose routing status differs ÷ ${INJECT_BATCH}⌉) + identity listing pages (⌈users ÷ ${LISTING_PAGE}⌉); floor = requests needed ÷ (${budget / 60} requests/s × clients); took = start → GC applied the resync's last change (the GC emulator's change times); requests made = every GC API request EXAS sent in that time. Goals (one client): within 1.1 × the floor, first inject within 5 s of start.

| GC clients | users (presence / routing status to write) | requests made | requests needed (injects + pages) | floor | goal (1.1 × floor) | took (÷ floor) | first inject (goal ≤ 5 s) |
|---|---|---|---|---|---|---|---|
${resyncRows.map((row) => `| ${row} |`).join('\n')}

Latency within budget: ${PROFILE.latencyRate} changes/s for ${PROFILE.latencySeconds} s once the cold resync's requests left the window, each agent cycled Ready ↔ NotReady(a reason), so two changes in three move both presence and routing status; every third moves presence alone (another NotReady reason) where the agent is off queue, else both. Measured from the Stat Server change (control API PUT) until the GC emulator holds every field of the change (its state's change times: when GC applied each write), each kind beside its floor:

- slot = the pool's slot interval: one client's paced budget spacing (a sliding-window budget with the sidecar's settings, once its burst is spent: (60 s + 250 ms margin) ÷ (limit − burst)) ÷ clients;
- presence and routing status take a slot each and presence goes first (the writer's policy), so the two endpoints' batches take turns and a change waits for the next presence batch: q × 2 slots at quantile q;
- the routing status leaves in the first slot after GC acknowledged the presence: slot × max(1, ⌈rtt ÷ slot⌉);
- plus the Stat Server settle window (${delays[0]?.settleMs ?? 'n/a'} ms) and one GC round trip (rtt: the run's median inject round trip, an upper bound of departure → applied).

**floor(q), two fields = settle + q × 2 × slot + slot × max(1, ⌈rtt ÷ slot⌉) + rtt; presence only = settle + q × 2 × slot + rtt** (q = 0.5 for p50, 0.99 for p99). The Stat Server's delivery beyond the settle window is not in the floor.

| GC clients | slot | two fields: change → GC holds both, p50 / p99 / max | floor p50 / p99 | ÷ floor p50 / p99 | presence only: change → GC holds it, p50 / p99 / max | floor p50 / p99 | change → snapshot in EXAS p50 / p99 | snapshot → first GC request carrying the user p50 / p99 | GC round trip (median) | changes/s made; measured of made: two fields + presence only | most requests in any 60 s, busiest client | 429s |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
${latencyRows.map((row) => `| ${row} |`).join('\n')}

Memory (RSS of a process running only EXAS, ${mem.agents.toLocaleString('en')} agents, 4 clients). As Node starts by default: ${memoryText(mem)}. With \`NODE_OPTIONS="${settings.flags.join(' ')}" ${envText(settings.env)}\` (${settings.source}): ${memoryText(capped)}. Heap cap ${round(capMiB)} MiB against a measured need of ${round(capped.heapPeakMiB)} MiB (the most heap in use sampled in that run).

| target | goal | measured |
|---|---|---|
| requests per minute per client | never above ${budget} | ${overloads.map((result) => result.maxPerMinute).join(' / ')} (${PROFILE.clientCounts.join(' / ')} clients): ${anyOver ? '**missed**' : 'met'} |
| 429s caused by EXAS's pacing | 0 | ${overloads.map((result) => result.rateLimited).join(' / ')}, and ${delays.map((result) => result.rateLimited).join(' / ')} in the latency runs: ${any429 ? '**missed**' : 'met'} |
| budget utilisation under overload | ≥ 95 % | ${overloads.map((result) => `${round(result.utilisation * 100, 1)} %`).join(' / ')}: ${worstUtilisation >= 0.95 ? 'met' : '**missed**'} |
| cold resync of ${PROFILE.agents.toLocaleString('en')} users, one client | ≤ 1.1 × floor | ${oneClient === undefined ? 'not run' : `${secondsText(oneClient.seconds)} vs ${round(1.1 * oneClient.floorSeconds, 1)} s (${oneClient.requestsMade} requests made, ${oneClient.requestsNeeded} needed): ${metText(resyncMet(oneClient))}`} |
| first inject of a cold resync, one client | ≤ 5 s | ${oneClient === undefined ? 'not run' : `${secondsText(oneClient.firstInjectSeconds, 2)}: ${metText(firstInjectMet(oneClient))}`} |
${delays.map((result) => `| latency p99 at ${PROFILE.latencyRate} changes/s, two fields, ${result.clients} client${result.clients === 1 ? '' : 's'} | ≤ 1.1 × floor (${round(1.1 * result.floorP99.twoFields)} ms) | ${round(result.twoFields.p99)} ms: ${metText(latencyMet(result))} |`).join('\n')}
| latency p99 at ${PROFILE.latencyRate} changes/s, two fields, 4 clients | ≤ 250 ms | ${fourClients === undefined ? 'not run' : `${round(fourClients.twoFields.p99)} ms: ${metText(fourClients.twoFields.p99 <= 250)}`} |
| heap in use per agent at ${PROFILE.rssAgents.toLocaleString('en')} agents | ≤ 0.5 KiB | ${round(perAgentKiB(capped), 2)} KiB with the deploy settings, ${round(perAgentKiB(mem), 2)} KiB with Node's defaults: ${metText(perAgentKiB(capped) <= 0.5)} |
| RSS peak at ${PROFILE.rssAgents.toLocaleString('en')} agents, deploy settings | ≤ 120 MiB | ${round(capped.peakMiB)} MiB: ${metText(capped.peakMiB <= 120)}${settings.source.startsWith('as set by') ? '' : ' (recommended settings: the deploy files set none)'} |
| heap cap vs measured need | ≥ 1.5× | ${round(capMiB)} / ${round(capped.heapPeakMiB)} MiB = ${round(capRatio, 2)}×: ${metText(capRatio >= 1.5)} |
| RSS peak, Node's defaults | reported | ${round(mem.peakMiB)} MiB |
${warnings.size > 0 ? `\nSidecar warnings during the run: ${[...warnings].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([message, count]) => `${count}× “${message}”`).join('; ')}.` : ''}
`;
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
