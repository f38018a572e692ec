/**
 * @module
 * The soak (`npm run soak -- [--minutes 10] [--agents 20000] [--seed N] [--events 50] [--fault-every 60]`):
 * EXAS as a child process between the emulators for a long storm with a fault every minute or so, sampling its
 * RSS, heap and event loop lag from its own /metrics. Reports the linear trend (slope) of RSS and heap after
 * warm-up, the lag, and the final convergence, 429 and stale-write checks. Not part of CI.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { allStaleWrites, awaitConvergence, BudgetSampler } from './checks.ts';
import { FAULTS, type Fault } from './faults.ts';
import { createWorld, type World } from './world.ts';

interface Sample {
  /** Seconds since the storm started. */
  t: number;
  rssMb: number;
  heapUsedMb: number;
  lagP99Ms: number;
  lagMeanMs: number;
}

const SOAK_FAULTS = ['gc-503', 'gc-slow', 'token-revoked', 'stat-drops', 'stat-backup-switch', 'stat-invalid', 'drift', 'rules-reload', 'gc-refused', 'gc-timeouts'];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Least-squares slope and R² of y over x. */
export function linearFit(points: ReadonlyArray<readonly [number, number]>): { slope: number; r2: number } {
  const n = points.length;
  if (n < 2) return { slope: 0, r2: 0 };
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const [x, y] of points) {
    sxy += (x - meanX) * (y - meanY);
    sxx += (x - meanX) ** 2;
    syy += (y - meanY) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const r2 = sxx === 0 || syy === 0 ? 0 : (sxy * sxy) / (sxx * syy);
  return { slope, r2 };
}

function metric(text: string, name: string): number | undefined {
  const match = new RegExp(`^${name} ([0-9.eE+-]+)$`, 'm').exec(text);
  return match === null ? undefined : Number(match[1]);
}

async function sampleExas(url: string, t: number): Promise<Sample | undefined> {
  try {
    const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
    const text = await response.text();
    const rss = metric(text, 'process_resident_memory_bytes');
    const heap = metric(text, 'nodejs_heap_size_used_bytes');
    const p99 = metric(text, 'nodejs_eventloop_lag_p99_seconds');
    const mean = metric(text, 'nodejs_eventloop_lag_mean_seconds');
    if (rss === undefined || heap === undefined) return undefined;
    return { t, rssMb: rss / 2 ** 20, heapUsedMb: heap / 2 ** 20, lagP99Ms: (p99 ?? 0) * 1000, lagMeanMs: (mean ?? 0) * 1000 };
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      agents: { type: 'string', default: '20000' },
      seed: { type: 'string' },
      events: { type: 'string', default: '50' },
      'fault-every': { type: 'string', default: '60' },
      'fault-seconds': { type: 'string', default: '10' },
      out: { type: 'string', default: 'test/artifacts/chaos' },
    },
    strict: true,
  });
  const minutes = Number(values.minutes);
  const agents = Number(values.agents);
  const eventsPerSecond = Number(values.events);
  const faultEveryMs = Number(values['fault-every']) * 1000;
  const faultMs = Number(values['fault-seconds']) * 1000;
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  const requestsPerMinute = 300;
  process.stderr.write(`[soak] ${minutes} min, ${agents} agents, ${eventsPerSecond} changes/s, a fault every ${faultEveryMs / 1000} s for ${faultMs / 1000} s, seed ${seed}\n`);
  const failures: string[] = [];
  const samples: Sample[] = [];
  const faultsRun: Array<{ t: number; fault: string; convergenceMs?: number }> = [];
  let world: World | undefined;
  let sampler: BudgetSampler | undefined;
  let initialMs = 0;
  let finalConvergence: { ms: number; remaining: number } = { ms: 0, remaining: -1 };
  let staleCount = 0;
  const onSignal = (): void => void world?.close().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // 20 000 users need 40 000 topics; one client's 20 channels × 1 000 topics watch half of them, the rest are
    // checked by bulk reads, every 5 minutes here (default 10).
    const extraYaml = ['drift:', '  bulkReadIntervalSeconds: 300'];
    world = await createWorld({ agents, seed, requestsPerMinute, gcTimeoutMs: 3000, retryAfterSeconds: 10, faultMs, nodeArgs: [], extraYaml });
    const context = world.context;
    sampler = new BudgetSampler(() => ({ requests: context.gc.stats().requests, epoch: context.exas.starts }));
    const url = await context.exas.start();
    const initial = await awaitConvergence(context, 10 * 60_000, 1000);
    initialMs = initial.ms;
    context.timeline.add('initial resync', { convergenceMs: initial.ms, unconverged: initial.remaining.length, gcRequests: context.gc.stats().requests });
    if (initial.remaining.length > 0) failures.push(`initial resync: ${initial.remaining.length} agents not converged`);
    const started = Date.now();
    const seconds = (): number => Math.round((Date.now() - started) / 100) / 10;
    let sampling = true;
    const samplingLoop = (async () => {
      while (sampling) {
        const sample = await sampleExas(url, seconds());
        if (sample !== undefined) samples.push(sample);
        await sleep(5000);
      }
    })();
    context.engage.start(eventsPerSecond);
    const end = started + minutes * 60_000;
    let nextFault = started + faultEveryMs / 2;
    let index = 0;
    while (Date.now() < end) {
      await sleep(Math.max(0, Math.min(nextFault, end) - Date.now()));
      if (Date.now() >= end) break;
      const name = SOAK_FAULTS[index % SOAK_FAULTS.length] as string;
      index += 1;
      const fault = FAULTS[name] as Fault;
      const entry: { t: number; fault: string; convergenceMs?: number } = { t: seconds(), fault: name };
      faultsRun.push(entry);
      context.timeline.add(`fault start ${name}`);
      await fault.start(context);
      const faultEnd = Date.now() + faultMs;
      while (Date.now() < faultEnd) {
        await sleep(1000);
        await fault.tick?.(context);
      }
      await fault.end(context);
      context.timeline.add(`fault end ${name}`);
      nextFault += faultEveryMs;
    }
    context.engage.stop();
    context.timeline.add('storm stopped');
    const final = await awaitConvergence(context, 5 * 60_000, 1000);
    finalConvergence = { ms: final.ms, remaining: final.remaining.length };
    context.timeline.add('final convergence', finalConvergence);
    if (final.remaining.length > 0) failures.push(`final: ${final.remaining.length} agents not converged after 5 min, e.g. ${JSON.stringify(final.remaining.slice(0, 5))}`);
    sampling = false;
    await samplingLoop;
    const stale = allStaleWrites(context);
    staleCount = stale.length;
    if (stale.length > 0) failures.push(`${stale.length} stale writes, e.g. ${JSON.stringify(stale.slice(0, 3))}`);
    const rateLimited = context.gc.stats().rateLimited;
    if (rateLimited > 0) failures.push(`GC answered 429 ${rateLimited} times while only EXAS paced`);
    const exit = await context.exas.stop(15_000);
    if (exit !== undefined && exit.code !== 0) failures.push(`EXAS did not stop cleanly: ${JSON.stringify(exit)}`);
  } catch (error) {
    failures.push(`harness error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  } finally {
    sampler?.stop();
  }
  // Trend after warm-up (the first minute of the storm fills caches and histories).
  const warm = samples.filter((sample) => sample.t >= 60);
  const rss = linearFit(warm.map((sample) => [sample.t / 60, sample.rssMb] as const));
  const heap = linearFit(warm.map((sample) => [sample.t / 60, sample.heapUsedMb] as const));
  const context = world?.context;
  const summary = {
    seed,
    minutes,
    agents,
    eventsPerSecond,
    initialResyncMs: initialMs,
    engageChanges: context?.engage.changes ?? 0,
    gcStateChanges: context?.gcHistory.writes ?? 0,
    gcStats: context?.gc.stats(),
    peakRequestsPerMinute: sampler?.peakPerMinute ?? 0,
    faults: faultsRun,
    finalConvergence,
    staleWrites: staleCount,
    rssMb: { first: warm[0]?.rssMb, last: warm[warm.length - 1]?.rssMb, max: Math.max(0, ...samples.map((s) => s.rssMb)), slopeMbPerMin: rss.slope, r2: rss.r2 },
    heapUsedMb: { first: warm[0]?.heapUsedMb, last: warm[warm.length - 1]?.heapUsedMb, max: Math.max(0, ...samples.map((s) => s.heapUsedMb)), slopeMbPerMin: heap.slope, r2: heap.r2 },
    eventLoopLagMs: {
      p99Max: Math.max(0, ...samples.map((s) => s.lagP99Ms)),
      p99Median: [...samples.map((s) => s.lagP99Ms)].sort((a, b) => a - b)[Math.floor(samples.length / 2)] ?? 0,
      meanMax: Math.max(0, ...samples.map((s) => s.lagMeanMs)),
    },
    failures,
  };
  mkdirSync(values.out ?? 'test/artifacts/chaos', { recursive: true });
  const outFile = `${values.out ?? 'test/artifacts/chaos'}/soak-${seed}.json`;
  writeFileSync(outFile, JSON.stringify({ ...summary, samples, timeline: context?.timeline.entries ?? [] }, null, 2));
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\nsamples and timeline: ${outFile}\n`);
  await world?.close().catch(() => undefined);
  if (failures.length > 0) {
    process.stdout.write(`\nSOAK FAILED (seed ${seed})\n${failures.map((failure) => `  - ${failure}`).join('\n')}\n`);
    if (world !== undefined) process.stdout.write(`EXAS log: ${world.directory}/exas.log\n`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
