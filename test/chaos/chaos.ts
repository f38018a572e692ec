/**
 * @module
 * The chaos suite (`npm run chaos -- [--profile short|full] [--seed N]`): EXAS as a child process between the
 * real emulators, thousands of agents changing state, and faults injected alone and combined. After each
 * fault it asserts that every agent's GC state converges to the mapping of its current Engage state within a
 * bound, that GC never answered 429 while only EXAS's pacing was in play, and that no user's state ever moved
 * backwards (a stale write). Seedable; the seed, the timeline and the EXAS log tail are printed on failure.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { allStaleWrites, awaitConvergence, BudgetSampler } from './checks.ts';
import { FAULTS, type Fault } from './faults.ts';
import { PROFILES, type ChaosProfile } from './profiles.ts';
import { createWorld, type World } from './world.ts';
import type { ChaosContext } from './context.ts';
import { describeEngage } from './oracle.ts';

interface PhaseResult {
  phase: string;
  faults: string[];
  engageChanges: number;
  /** From the end of the fault to every agent converged. */
  convergenceMs: number;
  boundMs: number;
  unconverged: number;
  gcRequests: number;
  rateLimitedDuringFault: number;
  rateLimitedAfterFault: number;
  exempt429: boolean;
  failures: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One agent's recent Engage states and GC changes (run-relative seconds), for the timeline of a failure. */
function histories(context: ChaosContext, agentId: string): { engage: string[]; gc: string[] } {
  const origin = context.timeline.startedAt;
  const at = (time: number): string => ((time - origin) / 1000).toFixed(2);
  const userId = context.userIds.get(agentId) as string;
  return {
    engage: (context.engage.history.get(agentId) ?? []).slice(-6).map((entry) => `${at(entry.at)} ${describeEngage(entry)}`),
    gc: (context.gcHistory.byUser.get(userId) ?? []).slice(-10).map((entry) => `${at(entry.at)} ${entry.part}=${entry.value}${entry.foreign ? ' (foreign)' : ''}`),
  };
}

/**
 * How long convergence may take: a full resync of N agents (N/500 identity pages, N/100 bulk reads, 2N/100
 * injects) at EXAS's paced budget, twice over, plus a fixed allowance for restarts and reconnect backoff,
 * plus any Retry-After EXAS must honour.
 */
export function convergenceBoundMs(profile: ChaosProfile, faults: readonly Fault[]): number {
  const requests = Math.ceil(profile.agents / 500) + Math.ceil(profile.agents / 100) * 3 + 10;
  const perSecond = (profile.requestsPerMinute * 0.9) / 60;
  const retryAfter = faults.some((fault) => fault.emits429) ? profile.retryAfterSeconds * 1000 : 0;
  return Math.round(2 * (requests / perSecond) * 1000 + 20_000 + retryAfter);
}

async function runPhase(context: ChaosContext, profile: ChaosProfile, names: readonly string[], index: number): Promise<PhaseResult> {
  const faults = names.map((name) => {
    const fault = FAULTS[name];
    if (fault === undefined) throw new Error(`unknown fault ${name}`);
    return fault;
  });
  const label = `${index + 1}/${profile.phases.length} ${names.join(' + ')}`;
  const changesBefore = context.engage.changes;
  const statsBefore = context.gc.stats();
  context.timeline.add(`phase ${label}: storm`, { eventsPerSecond: profile.eventsPerSecond });
  context.engage.start(profile.eventsPerSecond);
  await sleep(profile.warmMs);
  for (const fault of faults) {
    context.timeline.add(`fault start ${fault.name}`, { what: fault.description });
    await fault.start(context);
  }
  const faultEnd = Date.now() + profile.faultMs;
  while (Date.now() < faultEnd) {
    await sleep(Math.min(1000, Math.max(0, faultEnd - Date.now())));
    for (const fault of faults) await fault.tick?.(context);
  }
  context.engage.stop();
  for (const fault of [...faults].reverse()) {
    await fault.end(context);
    context.timeline.add(`fault end ${fault.name}`);
  }
  const statsAtEnd = context.gc.stats();
  const boundMs = convergenceBoundMs(profile, faults);
  const convergence = await awaitConvergence(context, boundMs);
  const statsAfter = context.gc.stats();
  const exempt429 = faults.some((fault) => fault.emits429);
  const result: PhaseResult = {
    phase: label,
    faults: [...names],
    engageChanges: context.engage.changes - changesBefore,
    convergenceMs: convergence.ms,
    boundMs,
    unconverged: convergence.remaining.length,
    gcRequests: statsAfter.requests - statsBefore.requests,
    rateLimitedDuringFault: statsAtEnd.rateLimited - statsBefore.rateLimited,
    rateLimitedAfterFault: statsAfter.rateLimited - statsAtEnd.rateLimited,
    exempt429,
    failures: [],
  };
  if (convergence.remaining.length > 0) {
    result.failures.push(`${convergence.remaining.length} agents not converged after ${boundMs} ms, e.g. ${JSON.stringify(convergence.remaining.slice(0, 5))}`);
    for (const mismatch of convergence.remaining.slice(0, 3)) context.timeline.add('not converged', { ...mismatch, ...histories(context, mismatch.agentId) });
  }
  if (!exempt429 && result.rateLimitedDuringFault > 0) result.failures.push(`GC answered 429 ${result.rateLimitedDuringFault} times during the fault while only EXAS paced`);
  if (result.rateLimitedAfterFault > 0) result.failures.push(`GC answered 429 ${result.rateLimitedAfterFault} times after the fault ended`);
  context.timeline.add(`phase ${label}: ${result.failures.length === 0 ? 'converged' : 'FAILED'}`, {
    convergenceMs: result.convergenceMs,
    boundMs,
    engageChanges: result.engageChanges,
    gcRequests: result.gcRequests,
    rateLimited: [result.rateLimitedDuringFault, result.rateLimitedAfterFault],
  });
  return result;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string', default: 'short' },
      seed: { type: 'string' },
      agents: { type: 'string' },
      only: { type: 'string' },
      out: { type: 'string', default: 'test/artifacts/chaos' },
    },
    strict: true,
  });
  const base = PROFILES[values.profile ?? 'short'];
  if (base === undefined) {
    process.stderr.write(`unknown profile ${values.profile} (known: ${Object.keys(PROFILES).join(', ')})\n`);
    return 2;
  }
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  const profile: ChaosProfile = {
    ...base,
    ...(values.agents === undefined ? {} : { agents: Number(values.agents) }),
    ...(values.only === undefined ? {} : { phases: values.only.split(';').map((phase) => phase.split('+').map((name) => name.trim())) }),
  };
  const reproduce = `npm run chaos -- --profile ${profile.name} --seed ${seed}${values.agents === undefined ? '' : ` --agents ${values.agents}`}${values.only === undefined ? '' : ` --only '${values.only}'`}`;
  process.stderr.write(`[chaos] profile ${profile.name}, seed ${seed}, ${profile.agents} agents, ${profile.phases.length} phases (reproduce: ${reproduce})\n`);
  const started = Date.now();
  let world: World | undefined;
  const results: PhaseResult[] = [];
  const failures: string[] = [];
  let sampler: BudgetSampler | undefined;
  const onSignal = (): void => void world?.close().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let staleCount = 0;
  try {
    world = await createWorld({
      agents: profile.agents,
      seed,
      requestsPerMinute: profile.requestsPerMinute,
      gcTimeoutMs: profile.gcTimeoutMs,
      retryAfterSeconds: profile.retryAfterSeconds,
      faultMs: profile.faultMs,
    });
    const context = world.context;
    sampler = new BudgetSampler(() => ({ requests: context.gc.stats().requests, epoch: context.exas.starts }));
    await context.exas.start();
    const initial = await awaitConvergence(context, convergenceBoundMs(profile, []));
    context.timeline.add('initial resync', { convergenceMs: initial.ms, unconverged: initial.remaining.length, gcRequests: context.gc.stats().requests });
    if (initial.remaining.length > 0) failures.push(`initial resync: ${initial.remaining.length} agents not converged, e.g. ${JSON.stringify(initial.remaining.slice(0, 5))}`);
    if (context.gc.stats().rateLimited > 0) failures.push(`initial resync: GC answered 429 ${context.gc.stats().rateLimited} times`);
    for (const [index, names] of profile.phases.entries()) {
      const result = await runPhase(context, profile, names, index);
      results.push(result);
      failures.push(...result.failures.map((failure) => `${result.phase}: ${failure}`));
    }
    const stale = allStaleWrites(context);
    staleCount = stale.length;
    if (stale.length > 0) failures.push(`${stale.length} stale writes (an older mapped state after a newer one), e.g. ${JSON.stringify(stale.slice(0, 3))}`);
    for (const write of stale.slice(0, 3)) {
      const agentId = [...context.userIds].find(([, userId]) => userId === write.userId)?.[0];
      if (agentId !== undefined) context.timeline.add('stale write', { userId: write.userId, part: write.part, value: write.value, ...histories(context, agentId) });
    }
    const exit = await context.exas.stop(15_000);
    if (exit !== undefined && exit.code !== 0) failures.push(`EXAS did not stop cleanly on SIGTERM: ${JSON.stringify(exit)}`);
  } catch (error) {
    failures.push(`harness error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  } finally {
    sampler?.stop();
  }
  const context = world?.context;
  const summary = {
    profile: profile.name,
    seed,
    agents: profile.agents,
    durationSeconds: Math.round((Date.now() - started) / 100) / 10,
    phases: results.length,
    engageChanges: context?.engage.changes ?? 0,
    gcWrites: context?.gcHistory.writes ?? 0,
    exasStarts: context?.exas.starts ?? 0,
    exasKills: context?.exas.kills ?? 0,
    gcStats: context?.gc.stats(),
    peakRequestsPerMinute: sampler?.peakPerMinute ?? 0,
    budgetPerMinute: profile.requestsPerMinute,
    maxConvergenceMs: Math.max(0, ...results.map((result) => result.convergenceMs)),
    staleWrites: staleCount,
    failures,
    results,
    reproduce,
  };
  mkdirSync(values.out ?? 'test/artifacts/chaos', { recursive: true });
  const outFile = `${values.out ?? 'test/artifacts/chaos'}/chaos-${profile.name}-${seed}.json`;
  writeFileSync(outFile, JSON.stringify({ ...summary, timeline: context?.timeline.entries ?? [] }, null, 2));
  process.stdout.write(
    [
      `chaos ${profile.name}: seed ${seed}, ${profile.agents} agents, ${results.length} phases in ${summary.durationSeconds} s`,
      ...results.map(
        (result) =>
          `  ${result.failures.length === 0 ? 'ok  ' : 'FAIL'} ${result.phase.padEnd(60)} converged in ${(result.convergenceMs / 1000).toFixed(1)} s (bound ${(result.boundMs / 1000).toFixed(0)} s), ${result.engageChanges} changes, ${result.gcRequests} GC requests, 429 ${result.rateLimitedDuringFault}/${result.rateLimitedAfterFault}${result.exempt429 ? ' (storm)' : ''}`,
      ),
      `  Engage changes ${summary.engageChanges}, GC state changes ${summary.gcWrites}, EXAS starts ${summary.exasStarts} (SIGKILLs ${summary.exasKills}), peak GC requests in 60 s of one EXAS process ${summary.peakRequestsPerMinute} (budget ${profile.requestsPerMinute}), stale writes ${staleCount}`,
      `  results: ${outFile}`,
      '',
    ].join('\n'),
  );
  await world?.close().catch(() => undefined);
  if (failures.length > 0) {
    process.stdout.write(`\nCHAOS FAILED (seed ${seed}; reproduce: ${reproduce})\n${failures.map((failure) => `  - ${failure}`).join('\n')}\n\ntimeline:\n${context?.timeline.entries.join('\n') ?? ''}\n`);
    if (world !== undefined) process.stdout.write(`\nEXAS log: ${world.directory}/exas.log\n`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
