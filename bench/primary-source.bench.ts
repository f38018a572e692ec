/**
 * Primary presence source at start (`npm run bench primary-source`, issue 15): GC requests and time EXAS spends
 * making its presence source primary for N users (default 20,000; `EXAS_BENCH_PRIMARY_USERS`), side by side:
 *
 * - the first build's `fix`: one GET and, where needed, one PUT per user at every start (`ensurePrimarySource`);
 * - the keeper (`gc.primarySource: fix` now): evidence from the start-up bulk read EXAS makes anyway, one PUT per
 *   user found without EXAS's source primary, confirmed users saved with the store;
 *
 * each at a first start (a new org: nobody has EXAS's source primary) and at a restart (everybody has it).
 * Requests are counted by the GC emulator (exact). Time is measured with a budget too large to bind (what the
 * work itself costs on this machine, in-process emulator over loopback), and computed for GC's default budget
 * (300 requests/min per client, 10 % headroom: 270/min), where the budget, not the work, sets the time.
 * The restart of the keeper must cost no primary-source request: the bench fails otherwise.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { DEFAULT_CLIENT, startGcEmulator, type GcEmulator } from '../src/emulators/gc/index.ts';
import { createGcClient, createPresenceCatalog, createSlidingWindowBudget, ensurePrimarySource, type GcClient } from '../src/gc/index.ts';
import { setLogSink } from '../src/log.ts';
import { gcShownReader, gcStateReader } from '../src/sync/gc-adapters.ts';
import { createPrimarySourceKeeper } from '../src/sync/primary-source.ts';
import { createFileStore } from '../src/sync/store.ts';
import { median, writeSection } from './lib/results.ts';

const USERS = Number(process.env['EXAS_BENCH_PRIMARY_USERS'] ?? 20_000);
/** Rounds of the keeper's two cases (cheap); the first build's cases run once each (40,000 requests a first start). */
const ROUNDS = Number(process.env['EXAS_BENCH_PRIMARY_ROUNDS'] ?? 2);
const UNBOUND = 100_000_000;
const PUT = 'PUT /api/v2/presence/users/:userId/primarysource';
const GET = 'GET /api/v2/presence/users/:userId/primarysource';
const READ = 'GET /api/v2/users';

interface Measured {
  readonly put: number;
  readonly get: number;
  /** Bulk reads of users (the start-up read EXAS makes anyway, and the keeper's own checks). */
  readonly read: number;
  readonly ms: number;
}

setLogSink(() => {});

async function connect(gc: GcEmulator): Promise<{ client: GcClient; sourceId: string; catalog: ReturnType<typeof createPresenceCatalog> }> {
  const client = createGcClient({
    baseUrl: gc.url,
    clientId: DEFAULT_CLIENT.clientId,
    clientSecret: DEFAULT_CLIENT.clientSecret,
    budget: createSlidingWindowBudget({ requestsPerMinute: UNBOUND, headroom: 0 }),
  });
  const catalog = createPresenceCatalog(client);
  await catalog.load();
  const sourceId = (await client.ensurePresenceSource('EXAS')).id;
  return { client, sourceId, catalog };
}

function counted(gc: GcEmulator, startedAt: number): Measured {
  const byRoute = gc.stats().byRoute;
  return { put: byRoute[PUT] ?? 0, get: byRoute[GET] ?? 0, read: byRoute[READ] ?? 0, ms: performance.now() - startedAt };
}

/** Makes PURECLOUD every user's primary source again: a new org for the next first start. */
function newOrg(gc: GcEmulator): void {
  const purecloud = gc.sources().find((source) => source.name === 'PURECLOUD')?.id as string;
  for (const userId of gc.userIds()) gc.setPrimarySource(userId, purecloud);
}

/** The keeper as the sidecar runs it at start: the start-up bulk read feeds it; confirmed users go to the store. */
async function keeperStart(gc: GcEmulator, storePath: string): Promise<Measured> {
  const { client, sourceId, catalog } = await connect(gc);
  const store = createFileStore(storePath);
  gc.resetStats();
  const startedAt = performance.now();
  const keeper = createPrimarySourceKeeper({
    mode: 'fix',
    workers: 1,
    setPrimary: async (userId, id, _worker, signal) => void (await client.setPrimarySource(userId, id, signal)),
    readShown: gcShownReader([client], () => catalog),
    acknowledgedPresence: () => undefined,
  });
  keeper.loadSaved((await store.load()).primarySource);
  keeper.sourceReady(sourceId);
  await gcStateReader([client], () => catalog, (shown) => keeper.observeShown(shown)).read(gc.userIds());
  await keeper.idle();
  await store.save({ forEach: () => undefined, primarySource: keeper.snapshot() });
  const measured = counted(gc, startedAt);
  await keeper.stop();
  if (keeper.stats().confirmed !== USERS) throw new Error(`keeper confirmed ${keeper.stats().confirmed} of ${USERS} users`);
  return measured;
}

/** The first build's `fix`: a GET per user and a PUT where needed, at every start. */
async function firstBuildStart(gc: GcEmulator): Promise<Measured> {
  const { client, sourceId } = await connect(gc);
  gc.resetStats();
  const startedAt = performance.now();
  const report = await ensurePrimarySource(client, gc.userIds(), sourceId);
  if (report.failed.length > 0) throw new Error(`ensurePrimarySource failed for ${report.failed.length} users`);
  return counted(gc, startedAt);
}

const budgetMinutes = (requests: number, clients: number): string => {
  const minutes = requests / (270 * clients);
  return requests === 0 ? '0' : minutes < 1 ? `${Math.round(minutes * 60)} s` : `${minutes.toFixed(1)} min`;
};
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  const gc = await startGcEmulator({ usersCount: USERS, budget: UNBOUND, heartbeatMs: 0 });
  const directory = mkdtempSync(join(tmpdir(), 'exas-bench-primary-'));
  try {
    const keeperFirst: Measured[] = [];
    const keeperRestart: Measured[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      newOrg(gc);
      const storePath = join(directory, `store-${round}.json`);
      keeperFirst.push(await keeperStart(gc, storePath));
      keeperRestart.push(await keeperStart(gc, storePath));
      const restart = keeperRestart.at(-1) as Measured;
      if (restart.put + restart.get !== 0) throw new Error(`a restart with everybody confirmed sent ${restart.put + restart.get} primary-source requests`);
      console.error(`round ${round + 1}: first start ${seconds(keeperFirst.at(-1)!.ms)}, restart ${seconds(restart.ms)}`);
    }
    newOrg(gc);
    const oldFirst = await firstBuildStart(gc);
    console.error(`first build, first start: ${seconds(oldFirst.ms)}`);
    const oldRestart = await firstBuildStart(gc);
    console.error(`first build, restart: ${seconds(oldRestart.ms)}`);

    const row = (name: string, runs: readonly Measured[], primaryOf: (m: Measured) => number): string => {
      const last = runs.at(-1) as Measured;
      const times = runs.map((run) => run.ms);
      const spread = runs.length > 1 ? `${seconds(Math.min(...times))} – ${seconds(Math.max(...times))}` : 'one run';
      const primary = primaryOf(last);
      return `| ${name} | ${last.get} | ${last.put} | ${last.read} | ${seconds(median(times))} (${spread}) | ${budgetMinutes(primary, 1)} | ${budgetMinutes(primary, 4)} |`;
    };
    const primaryRequests = (m: Measured): number => m.get + m.put;
    const oldFirstPrimary = primaryRequests(oldFirst);
    const newFirstPrimary = primaryRequests(keeperFirst.at(-1) as Measured);
    const markdown = [
      `${USERS.toLocaleString('en')} users on the GC emulator (in-process, loopback), one GC client; keeper cases: median of ${ROUNDS} rounds, the first build's: one run each. The machine is shared with other work (noisy): times are indicative, request counts exact.`,
      '',
      "Primary-source requests are GET / PUT `…/presence/users/{id}/primarysource`. Bulk reads are `GET /api/v2/users?id=…&expand=presence` (100 users each): at start EXAS makes that read anyway to compare GC's state with its store, so it is listed but is no primary-source cost. Budget-bound time: primary-source requests ÷ 270 per minute per client (GC's 300 with EXAS's 10 % headroom), the time they hold a client's budget.",
      '',
      '| start | GETs | PUTs | bulk reads | time, budget not binding | at GC budget, 1 client | 4 clients |',
      '|---|---|---|---|---|---|---|',
      row('first build `fix`, new org', [oldFirst], primaryRequests),
      row('first build `fix`, restart', [oldRestart], primaryRequests),
      row('keeper, new org (first start)', keeperFirst, primaryRequests),
      row('keeper, restart (everybody confirmed)', keeperRestart, primaryRequests),
      '',
      `A first start costs ${newFirstPrimary.toLocaleString('en')} primary-source requests instead of ${oldFirstPrimary.toLocaleString('en')} (${(oldFirstPrimary / Math.max(1, newFirstPrimary)).toFixed(2)}× fewer); a restart ${primaryRequests(keeperRestart.at(-1) as Measured)} instead of ${primaryRequests(oldRestart).toLocaleString('en')} (asserted by the bench and, at 50 users through the whole sidecar, by test/e2e/primary-source.test.ts). The confirmations add ${USERS.toLocaleString('en')} ids to the store file.`,
    ].join('\n');
    writeSection('primary-source', 'Primary presence source at start', markdown);
    console.log(markdown);
  } finally {
    rmSync(directory, { recursive: true, force: true });
    await gc.close();
  }
}

await main();
