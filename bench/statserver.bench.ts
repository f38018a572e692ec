/**
 * Stat Server side benchmark (`npm run bench statserver`): the Statistics API adapter opens CurrentState +
 * CurrentStateReason for 20,000 agents (40,000 statistics) against the Stat Server emulator and waits for
 * every agent's first folded snapshot; then the emulator's crowd changes at ~2,000 events/s and the bench
 * measures what arrives and how late (Stat Server timestamp → snapshot delivered, settle window included).
 *
 * The emulator runs in a child process (this same file with `--serve`), so the adapter and the emulator do
 * not share one event loop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { BridgeSimulator, Crowd, startStatServerEmulator, emulatedAgentIds } from '../src/emulators/statserver/index.ts';
import { createBridgeSource, createStatisticsApiSource, type AgentObservation } from '../src/statserver/index.ts';
import { setLogSink } from '../src/log.ts';
import { median, percentile, writeSection } from './lib/results.ts';

const AGENTS = 20_000;
const EVENTS_PER_SECOND = 2_000;
const STREAM_SECONDS = 10;

if (process.argv.includes('--serve')) {
  const emulator = await startStatServerEmulator({ agents: AGENTS, seed: 42 });
  process.stdout.write(`${emulator.url}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void emulator.close().then(() => process.exit(0)));
} else {
  await main();
}

async function startEmulatorProcess(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
  });
  return { url, child };
}

async function control(url: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
}

interface OpenRun {
  batchSize: number;
  startMs: number;
  firstValuesMs: number;
}

async function openRun(url: string, batchSize: number): Promise<OpenRun> {
  const source = createStatisticsApiSource({ endpoints: [{ baseUrl: url }], apiKey: 'exas-demo', bearerToken: 'exas-demo', batchSize, concurrency: 4 });
  const seen = new Set<string>();
  let resolveAll: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (resolveAll = resolve));
  source.onObservation((observation) => {
    if (observation.kind !== 'snapshot') return;
    seen.add(observation.snapshot.agentId);
    if (seen.size === AGENTS) resolveAll();
  });
  await source.open(emulatedAgentIds(AGENTS));
  const t0 = performance.now();
  await source.start();
  const startMs = performance.now() - t0;
  if (!source.isConnected()) throw new Error('adapter did not connect');
  await all;
  const firstValuesMs = performance.now() - t0;
  await source.stop();
  return { batchSize, startMs, firstValuesMs };
}

async function streamRun(url: string): Promise<Record<string, number>> {
  const source = createStatisticsApiSource({ endpoints: [{ baseUrl: url }], apiKey: 'exas-demo', bearerToken: 'exas-demo' });
  let opened = false;
  const latencies: number[] = [];
  let snapshots = 0;
  let unknowns = 0;
  source.onObservation((observation: AgentObservation) => {
    if (!opened) return;
    if (observation.kind === 'snapshot') {
      snapshots += 1;
      latencies.push(Date.now() - observation.snapshot.at);
    } else unknowns += 1;
  });
  await source.open(emulatedAgentIds(AGENTS));
  await source.start();
  await new Promise((resolve) => setTimeout(resolve, 500));
  opened = true;
  const rssBefore = process.memoryUsage().rss;
  const updatesBefore = source.stats().eventsReceived['update'] ?? 0;
  await control(url, '/emulator/simulation', { running: true, eventsPerSecond: EVENTS_PER_SECOND });
  await new Promise((resolve) => setTimeout(resolve, STREAM_SECONDS * 1000));
  await control(url, '/emulator/simulation', { running: false });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const updates = (source.stats().eventsReceived['update'] ?? 0) - updatesBefore;
  const rssAfter = process.memoryUsage().rss;
  await source.stop();
  return {
    updatesPerSecond: updates / STREAM_SECONDS,
    snapshotsPerSecond: snapshots / STREAM_SECONDS,
    unknowns,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: percentile(latencies, 100),
    rssGrowthMiB: (rssAfter - rssBefore) / 2 ** 20,
  };
}

/** Bridge adapter: time from the bridge connecting to every agent's snapshot (bridge simulator in-process). */
async function bridgeRun(): Promise<number> {
  const source = createBridgeSource({ port: 0 });
  const seen = new Set<string>();
  let resolveAll: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (resolveAll = resolve));
  source.onObservation((observation) => {
    if (observation.kind !== 'snapshot') return;
    seen.add(observation.snapshot.agentId);
    if (seen.size === AGENTS) resolveAll();
  });
  await source.open(emulatedAgentIds(AGENTS));
  await source.start();
  const bridge = new BridgeSimulator({ url: source.url!, crowd: new Crowd(AGENTS, 42) });
  const t0 = performance.now();
  await bridge.connect();
  await all;
  const elapsed = performance.now() - t0;
  await bridge.close();
  await source.stop();
  return elapsed;
}

async function main(): Promise<void> {
  setLogSink(() => undefined);
  const { url, child } = await startEmulatorProcess();
  try {
    const runs: OpenRun[] = [];
    for (const batchSize of [1000, 250, 2000, 1000, 250, 2000, 1000, 250, 2000]) {
      const run = await openRun(url, batchSize);
      console.error(`open: batch ${batchSize}: start ${run.startMs.toFixed(0)} ms, all first values ${run.firstValuesMs.toFixed(0)} ms`);
      runs.push(run);
    }
    const stream = await streamRun(url);
    console.error('stream:', stream);
    const bridgeTimes: number[] = [];
    for (let run = 0; run < 3; run += 1) bridgeTimes.push(await bridgeRun());
    console.error('bridge snapshot:', bridgeTimes.map((ms) => ms.toFixed(0)).join(', '), 'ms');
    const byBatch = (size: number) => runs.filter((run) => run.batchSize === size);
    const row = (size: number) => {
      const selected = byBatch(size);
      return `| ${size} agents (${2 * size} statistics) | ${Math.ceil(AGENTS / size)} | ${selected.length} | ${median(selected.map((run) => run.startMs)).toFixed(0)} | ${median(selected.map((run) => run.firstValuesMs)).toFixed(0)} |`;
    };
    const markdown = `
Adapter (\`createStatisticsApiSource\`, concurrency 4) against the Stat Server emulator in a separate process on the
same machine: open CurrentState + CurrentStateReason for **${AGENTS.toLocaleString('en')} agents (${(2 * AGENTS).toLocaleString('en')}
statistics)** in batched subscriptions, and wait for every agent's first folded snapshot (settle window 50 ms included).

| batch per subscription request | requests | runs | connect + open (ms, median) | all ${AGENTS.toLocaleString('en')} first snapshots (ms, median) |
|---|---|---|---|---|
${row(1000)}
${row(250)}
${row(2000)}

Then the crowd changes at ${EVENTS_PER_SECOND.toLocaleString('en')} agent changes/s for ${STREAM_SECONDS} s (each change is 2 statistic updates):

| measure | value |
|---|---|
| statistic updates received | ${stream['updatesPerSecond']!.toFixed(0)} /s |
| snapshots delivered (after settle-window folding) | ${stream['snapshotsPerSecond']!.toFixed(0)} /s |
| unknown observations | ${stream['unknowns']} |
| Stat Server timestamp → snapshot delivered, p50 / p99 / max | ${stream['p50']!.toFixed(0)} / ${stream['p99']!.toFixed(0)} / ${stream['max']!.toFixed(0)} ms |
| adapter RSS growth during the stream | ${stream['rssGrowthMiB']!.toFixed(1)} MiB |

Bridge adapter (\`createBridgeSource\`, EXAS listening) with the bridge simulator in the same process: from the
bridge connecting to every one of the ${AGENTS.toLocaleString('en')} agents' first snapshot (scope sent, ${(2 * AGENTS).toLocaleString('en')}
PSDK-shaped \`EventInfo\` messages in frames of 500, settle window included): **${median(bridgeTimes).toFixed(0)} ms** (median of 3).

Latency includes the 50 ms settle window and the emulator's 10 ms notification batching; the emulator and the
adapter share the machine's cores (and, when this ran, other engineers' test runs), so single runs vary by 2×.
`;
    writeSection('statserver', 'Stat Server side: opening 2 × 20,000 statistics', markdown);
  } finally {
    child.stdin?.end();
    child.kill();
  }
}
