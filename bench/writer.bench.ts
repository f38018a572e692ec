/**
 * Writer benchmark: how many users per second the writer itself can process (coalesce, queue oldest-first,
 * batch, settle) when GC is not the bottleneck, how fast setDesired absorbs an update storm, and how much
 * memory one tracked user costs. GC's budget, not this, limits EXAS in production (DESIGN.md "Performance
 * model"); this shows the writer's own cost is negligible beside it.
 *
 * Run: `npm run bench writer` (writes its section of bench/RESULTS.md).
 */
import type { GcWriteTarget, RequestBudget, WriteOutcome } from '../src/gc/ports.ts';
import { setLogSink } from '../src/log.ts';
import { createWriter } from '../src/sync/writer/index.ts';
import type { GcUserState, RoutingStatus } from '../src/vocabulary.ts';
import { median, writeSection } from './lib/results.ts';

setLogSink(() => undefined);

/** A budget that never makes anyone wait. */
const unlimitedBudget: RequestBudget = {
  take: () => Promise.resolve(),
  available: () => Number.MAX_SAFE_INTEGER,
  sentInWindow: () => 0,
  nextSlotAt: () => 0,
  pauseFor: () => undefined,
  limit: Number.MAX_SAFE_INTEGER,
};

/** A GC target that acknowledges every event at once. */
function instantTarget(name: string, maxBatchSize: number): GcWriteTarget & { requests: number } {
  const target = {
    name,
    budget: unlimitedBudget,
    maxBatchSize,
    requests: 0,
    canSetRoutingStatus: (_status: RoutingStatus) => true,
    writePresence(items: ReadonlyArray<{ userId: string }>): Promise<WriteOutcome[]> {
      target.requests += 1;
      return Promise.resolve(items.map((item) => ({ userId: item.userId, ok: true as const })));
    },
    writeRoutingStatus(items: ReadonlyArray<{ userId: string }>): Promise<WriteOutcome[]> {
      target.requests += 1;
      return Promise.resolve(items.map((item) => ({ userId: item.userId, ok: true as const })));
    },
  };
  return target;
}

const STATES: GcUserState[] = [
  { presence: 'OnQueue', routingStatus: 'Idle' },
  { presence: 'OnQueue', routingStatus: 'Interacting' },
  { presence: 'Busy', routingStatus: 'OffQueue' },
  { presence: 'Break', routingStatus: 'OffQueue' },
];

/** Full sync of `users` users (presence + routing each) through one instant target, batch 1000. */
async function fullSync(users: number): Promise<{ seconds: number; requests: number }> {
  const target = instantTarget('instant', 1000);
  const writer = createWriter({ targets: [target], batchSize: 1000, maxInFlightPerTarget: 4 });
  const ids = Array.from({ length: users }, (_, i) => `user-${i}`);
  const started = performance.now();
  writer.start();
  for (let i = 0; i < users; i += 1) writer.setDesired(ids[i]!, STATES[i % STATES.length]!);
  await writer.onIdle();
  const seconds = (performance.now() - started) / 1000;
  await writer.stop();
  return { seconds, requests: target.requests };
}

/** setDesired calls per second for a storm of `updates` over `users` users, writer not started (pure intake). */
function storm(users: number, updates: number): number {
  const writer = createWriter({ targets: [instantTarget('instant', 1000)], batchSize: 1000 });
  const ids = Array.from({ length: users }, (_, i) => `user-${i}`);
  const started = performance.now();
  for (let i = 0; i < updates; i += 1) writer.setDesired(ids[i % users]!, STATES[(i * 7 + (i >> 12)) % STATES.length]!);
  const seconds = (performance.now() - started) / 1000;
  if (writer.stats().queueLength > users) throw new Error('queue grew beyond one entry per user');
  return updates / seconds;
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) {
    gc();
    gc();
  }
}

/** Bytes held in the JS heap and in array buffers (typed-array columns live outside the heap). */
function memoryInUse(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** Heap and array-buffer bytes per tracked user with desired and acknowledged state (half pending, half settled). */
function memoryPerUser(users: number): number {
  collect();
  const before = memoryInUse();
  const writer = createWriter({ targets: [instantTarget('instant', 1000)], batchSize: 1000 });
  for (let i = 0; i < users; i += 1) {
    const userId = `user-${String(i).padStart(8, '0')}`;
    writer.seedAcknowledged(userId, STATES[i % STATES.length]!, 1);
    writer.setDesired(userId, STATES[(i + (i % 2)) % STATES.length]!);
  }
  collect();
  const after = memoryInUse();
  if (writer.stats().trackedUsers !== users) throw new Error('not all users tracked');
  return (after - before) / users;
}

const RUNS = 5;
const SYNC_USERS = 100_000;
const syncRuns: Array<{ seconds: number; requests: number }> = [];
for (let run = 0; run < RUNS; run += 1) syncRuns.push(await fullSync(SYNC_USERS));
const syncSeconds = median(syncRuns.map((run) => run.seconds));
const usersPerSecond = SYNC_USERS / syncSeconds;

const STORM_USERS = 10_000;
const STORM_UPDATES = 1_000_000;
const stormRates: number[] = [];
for (let run = 0; run < RUNS; run += 1) stormRates.push(storm(STORM_USERS, STORM_UPDATES));
const stormRate = median(stormRates);

const MEMORY_USERS = 100_000;
const memoryRuns: number[] = [];
for (let run = 0; run < 3; run += 1) memoryRuns.push(memoryPerUser(MEMORY_USERS));
const bytesPerUser = median(memoryRuns);

const budgetRequestsPerMinute = 300;
const resyncMinutes = (SYNC_USERS * 2) / 100 / budgetRequestsPerMinute;

const lines = [
  `| measure | value |`,
  `|---|---|`,
  `| full sync of ${SYNC_USERS.toLocaleString('en')} users through an instant GC target, batch 1000 (presence + routing status each) | ${Math.round(usersPerSecond).toLocaleString('en')} users/s (median of ${RUNS}: ${syncSeconds.toFixed(3)} s, ${syncRuns[0]!.requests} requests) |`,
  `| setDesired intake, ${STORM_UPDATES.toLocaleString('en')} updates over ${STORM_USERS.toLocaleString('en')} users (coalesced; each queue holds ≤ 1 entry per user) | ${Math.round(stormRate).toLocaleString('en')} updates/s (median of ${RUNS}) |`,
  `| heap + array buffers per tracked user (desired + acknowledged, ${MEMORY_USERS.toLocaleString('en')} users, half pending) | ${Math.round(bytesPerUser)} bytes (median of 3) |`,
  `| for scale: the same ${SYNC_USERS.toLocaleString('en')}-user resync within GC's default budget (${budgetRequestsPerMinute} requests/min, batch 100) | ${resyncMinutes.toFixed(1)} min of budget on one client |`,
];
const markdown = `${lines.join('\n')}\n\nThe writer's own work is a few microseconds per user; GC's request budget is the limit by orders of magnitude.`;
console.log(markdown);
writeSection('writer', 'Writer throughput and memory', markdown);
