/**
 * Pacing latency floor (`npm run bench pacing`): the writer and the GC budget exactly as the sidecar builds them
 * (300 requests/min per client, `burstShare` `PACED_BURST_SHARE`, headroom 0), with nothing else: an in-process GC target that
 * takes from the budget and acknowledges 5 ms later, and a steady 100 changes/s of which every one changes
 * both presence and routing status (Ready ↔ NotReady(Break)), started with the budgets' burst spent, as after
 * a resync. It measures change → the first request carrying that user, for 1, 2 and 4 clients.
 *
 * Why: the end-to-end sync bench's latency (emulators, CometD, settle window, HTTP) sits on top of this floor,
 * and this floor is arithmetic: one client may send a request every 60.25 s / 291 ≈ 207 ms (the 9-request
 * burst is spent); presence and routing status are separate inject requests and a user's routing status goes
 * after its presence (GC keeps routing status off queue otherwise), so under a steady stream presence batches
 * leave every other slot, about every 414 ms. A change that arrives just after one waits up to ~414 ms: p99 ≈
 * 410 ms on one client, whatever the writer does, and it halves with each doubling of clients.
 */
import { createSlidingWindowBudget, PACED_BURST_SHARE } from '../src/gc/budget.ts';
import type { GcWriteTarget, WriteOutcome } from '../src/gc/ports.ts';
import { setLogSink } from '../src/log.ts';
import { createWriter } from '../src/sync/writer/index.ts';
import type { GcUserState } from '../src/vocabulary.ts';
import { percentile, writeSection } from './lib/results.ts';

setLogSink(() => undefined);

const CHANGES_PER_SECOND = 100;
const SECONDS = Number(process.env['EXAS_BENCH_PACING_SECONDS'] ?? 30);
const USERS = 2_000;
const REQUESTS_PER_MINUTE = 300;
const ACK_MS = 5;
const READY: GcUserState = { presence: 'OnQueue', routingStatus: 'Idle' };
const ON_BREAK: GcUserState = { presence: 'Break', routingStatus: 'OffQueue' };

interface PacingResult {
  clients: number;
  measured: number;
  p50: number;
  p99: number;
  max: number;
  requests: number;
  usersPerRequest: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function run(clients: number): Promise<PacingResult> {
  const changedAt = new Map<string, number>();
  const latencies: number[] = [];
  let requests = 0;
  let usersCarried = 0;
  const carried = (items: ReadonlyArray<{ userId: string }>): void => {
    const at = performance.now();
    requests += 1;
    usersCarried += items.length;
    for (const { userId } of items) {
      const changed = changedAt.get(userId);
      if (changed === undefined) continue;
      latencies.push(at - changed);
      changedAt.delete(userId);
    }
  };
  const acknowledge = async (items: ReadonlyArray<{ userId: string }>): Promise<WriteOutcome[]> => {
    await sleep(ACK_MS);
    return items.map((item) => ({ userId: item.userId, ok: true as const }));
  };
  const targets: GcWriteTarget[] = Array.from({ length: clients }, (_, index) => {
    const budget = createSlidingWindowBudget({ requestsPerMinute: REQUESTS_PER_MINUTE, headroom: 0, burstShare: PACED_BURST_SHARE });
    return {
      name: `client-${index + 1}`,
      budget,
      maxBatchSize: 100,
      canSetRoutingStatus: () => true,
      async writePresence(items) {
        await budget.take();
        carried(items);
        return acknowledge(items);
      },
      async writeRoutingStatus(items) {
        await budget.take();
        carried(items);
        return acknowledge(items);
      },
    };
  });
  // The burst allowance spent, as right after a resync: the steady state, not the first idle seconds.
  for (const target of targets) while (target.budget.available() > 0) await target.budget.take();
  const writer = createWriter({ targets });
  for (let user = 0; user < USERS; user += 1) writer.seedAcknowledged(`user-${user}`, READY, 0);
  writer.start();
  const onBreak = new Set<number>();
  const startedAt = performance.now();
  for (let change = 0; performance.now() - startedAt < SECONDS * 1000; change += 1) {
    const due = startedAt + (change * 1000) / CHANGES_PER_SECOND;
    if (performance.now() < due) await sleep(due - performance.now());
    const user = (change * 7919) % USERS; // visits every user before repeating
    const next = !onBreak.has(user);
    if (next) onBreak.add(user);
    else onBreak.delete(user);
    const userId = `user-${user}`;
    if (!changedAt.has(userId)) changedAt.set(userId, performance.now());
    writer.setDesired(userId, next ? ON_BREAK : READY);
  }
  await writer.stop();
  return {
    clients,
    measured: latencies.length,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: Math.max(...latencies),
    requests,
    usersPerRequest: usersCarried / Math.max(1, requests),
  };
}

const results: PacingResult[] = [];
for (const clients of [1, 2, 4]) {
  results.push(await run(clients));
  console.error(`[pacing bench] ${JSON.stringify(results.at(-1))}`);
}
const round = (value: number): number => Math.round(value);
const rows = results.map(
  (result) =>
    `| ${result.clients} | **${round(result.p50)}** / **${round(result.p99)}** / ${round(result.max)} ms | ${result.measured.toLocaleString('en')} | ${result.requests} (${(result.usersPerRequest).toFixed(1)} users each) |`,
);
const markdown = `
Writer + GC budget as the sidecar builds them (${REQUESTS_PER_MINUTE} requests/min per client, \`burstShare\` ${PACED_BURST_SHARE}), an in-process GC target acknowledging after ${ACK_MS} ms, ${CHANGES_PER_SECOND} changes/s for ${SECONDS} s over ${USERS.toLocaleString('en')} users, every change flipping both presence and routing status, burst allowance spent at the start. Change → first request carrying the user:

| GC clients | p50 / p99 / max | changes measured | requests |
|---|---|---|---|
${rows.join('\n')}

The floor under the end-to-end latency: a client's slot comes every ~207 ms (60.25 s / 291: the 3 % burst is spent and the spacing runs at the rate left after it), presence and routing-status batches take turns, and a user's routing status follows its presence, so a presence batch leaves about every 414 ms per client. No scheduling inside one client's 300 requests/min gets a steady stream of two-field changes under that; more clients (or fewer changes that need both fields) do.
`;
console.log(markdown);
writeSection('pacing', 'Pacing latency floor (writer + budget, no network)', markdown);
