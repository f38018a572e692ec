/**
 * @module
 * The chaos suite's high-availability profile (`npm run chaos -- --profile ha [--seed N] [--agents N]`): two
 * `exas run` processes for one shard sharing a lease in a real etcd (short lease: 4 s, renewal 1 s), the real
 * emulators, agents changing state throughout, and these phases:
 *   kill-9-leader, sigterm-leader (handover), etcd-down (longer than the lease),
 *   leader-cut-off-from-etcd (its etcd traffic black-holed while it still reaches GC), both-started-at-once.
 * The oracle reads GC's request log (a recording proxy in front of the GC emulator; each instance names itself
 * in User-Agent): no two instances write outside the documented overlap margin (one GC request timeout after
 * the old leader's gate closed), no instance writes while it cannot prove the lease, and every agent converges
 * to the mapping of its Engage state after each phase, with no stale write.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startGcEmulator } from '../../src/emulators/gc/index.ts';
import { startStatServerEmulator } from '../../src/emulators/statserver/index.ts';
import { loadRules } from '../../src/rules/index.ts';
import { startEtcd } from '../helpers/etcd.ts';
import { overlappingWrites, startGcRequestLog, type GcRequestRecord } from '../helpers/gc-request-log.ts';
import { startBlackholeProxy, type BlackholeProxy } from './blackhole-proxy.ts';
import { EngageDriver } from './engage-driver.ts';
import { ExasController } from './exas-controller.ts';
import { writeExasConfig } from './exas-process.ts';
import { GcHistory } from './gc-history.ts';
import { etcdHaYaml } from './ha-config.ts';
import { staleWrites, unconverged, type Mismatch } from './oracle.ts';
import { seededRandom } from './random.ts';
import { Timeline } from './timeline.ts';

const LEASE_SECONDS = 4;
const RENEW_SECONDS = 1;
/** When a leader that cannot renew closes its gate, after its last proof (renew + (lease - renew) / 2). */
const GATE_CLOSES_MS = (RENEW_SECONDS + (LEASE_SECONDS - RENEW_SECONDS) / 2) * 1000;
const GC_TIMEOUT_MS = 2_000;
/** The documented overlap: a request already open when the gate closed lands within one GC timeout. */
const OVERLAP_MARGIN_MS = GC_TIMEOUT_MS + 500;
/** Takeover bound asserted here (the e2e test holds kill -9 to lease + 2 s; this machine runs a storm too). */
const TAKEOVER_BOUND_MS = (LEASE_SECONDS + 4) * 1000;

interface Instance {
  readonly name: string;
  readonly controller: ExasController;
  readonly etcdProxy: BlackholeProxy;
}

interface PhaseResult {
  phase: string;
  takeoverMs?: number;
  convergenceMs: number;
  engageChanges: number;
  writes: number;
  writers: string[];
  failures: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((wake) => setTimeout(wake, ms));

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { profile: { type: 'string', default: 'ha' }, seed: { type: 'string' }, agents: { type: 'string' }, only: { type: 'string' }, out: { type: 'string', default: 'test/artifacts/chaos' } },
    strict: true,
  });
  const agents = values.agents === undefined ? 1000 : Number(values.agents);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  const reproduce = `npm run chaos -- --profile ha --seed ${seed}${values.agents === undefined ? '' : ` --agents ${agents}`}${values.only === undefined ? '' : ` --only ${values.only}`}`;
  process.stderr.write(`[chaos] profile ha, seed ${seed}, ${agents} agents, two instances sharing an etcd lease (${LEASE_SECONDS} s / ${RENEW_SECONDS} s) (reproduce: ${reproduce})\n`);
  const started = Date.now();
  const directory = mkdtempSync(join(tmpdir(), 'exas-chaos-ha-'));
  const timeline = new Timeline();
  const random = seededRandom(seed);
  const etcd = await startEtcd();
  // An org already migrated (as after exas doctor --fix): failover, not the first-run migration, is under test.
  const gc = await startGcEmulator({ usersCount: agents, budget: 300, primarySourceFor: 'EXAS' });
  const gcLog = await startGcRequestLog(gc.url);
  const statServer = await startStatServerEmulator({ agents, seed, eventsPerSecond: 0 });
  const rulesText = readFileSync(resolve('exas.rules.yaml'), 'utf8');
  const rulesFile = join(directory, 'exas.rules.yaml');
  writeFileSync(rulesFile, rulesText);
  const program = loadRules(rulesText, rulesFile).program;
  if (program === null) throw new Error('the default rules did not compile');
  const agentIds = statServer.agents().map((agent) => agent.agentId);
  const userIds = new Map(agentIds.map((agentId) => [agentId, gc.userIdOf(agentId) as string]));
  const engage = new EngageDriver(statServer, agentIds, random);
  const gcHistory = new GcHistory(gc);

  const instances: Instance[] = [];
  for (const name of ['exas-a', 'exas-b']) {
    const home = join(directory, name);
    mkdirSync(home, { recursive: true });
    const etcdProxy = await startBlackholeProxy(etcd.clientPort);
    const { configPath } = writeExasConfig({
      directory: home,
      statServerUrls: [statServer.url],
      gcUrl: gcLog.url,
      agentIds,
      rulesFile,
      requestsPerMinute: 300,
      gcTimeoutMs: GC_TIMEOUT_MS,
      logLevel: 'info',
      extraYaml: etcdHaYaml({ identity: name, leaseName: 'chaos-shard', durationSeconds: LEASE_SECONDS, renewSeconds: RENEW_SECONDS, endpoint: etcdProxy.url }),
    });
    instances.push({ name, controller: new ExasController(configPath, home, timeline), etcdProxy });
  }
  const [a, b] = instances as [Instance, Instance];
  const other = (instance: Instance): Instance => (instance === a ? b : a);

  const role = async (instance: Instance): Promise<string> => {
    if (!instance.controller.running) return 'down';
    try {
      const response = await fetch(`${instance.controller.operatorUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
      const body = (await response.json()) as { role?: string; ready?: boolean };
      return `${body.role ?? 'none'}${body.ready === true ? '' : ' (not ready)'}`;
    } catch {
      return 'unreachable';
    }
  };
  const until = async <T>(what: string, read: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(100);
    }
  };
  /** The one instance whose /readyz says leader (and ready), once the other is a ready standby or down. */
  const leader = (): Promise<Instance> =>
    until(
      'one ready leader',
      async () => {
        const roles = await Promise.all(instances.map(role));
        const leaders = instances.filter((_, index) => roles[index] === 'leader');
        const others = roles.filter((seen, index) => instances[index] !== leaders[0]);
        return leaders.length === 1 && others.every((seen) => seen === 'standby' || seen === 'down') ? leaders[0] : undefined;
      },
      60_000,
    );
  const firstWrite = (name: string, after: number): Promise<GcRequestRecord> =>
    until(`a GC write by ${name}`, () => gcLog.writes().find((write) => write.instance === name && write.at > after), 60_000);
  const mismatches = (): Mismatch[] =>
    unconverged(program, agentIds.map((agentId) => ({ agentId, userId: userIds.get(agentId)!, engage: engage.current(agentId), gc: gc.user(userIds.get(agentId)!) })));
  const converge = async (boundMs: number): Promise<{ ms: number; remaining: Mismatch[] }> => {
    const from = Date.now();
    for (;;) {
      const remaining = mismatches();
      if (remaining.length === 0 || Date.now() - from > boundMs) return { ms: Date.now() - from, remaining };
      await sleep(200);
    }
  };
  const writesBetween = (from: number, to: number): GcRequestRecord[] => gcLog.writes().filter((write) => write.at >= from && write.at <= to);

  type Phase = (result: PhaseResult) => Promise<void>;
  const phases: Record<string, Phase> = {
    async 'kill-9-leader'(result) {
      const old = await leader();
      const killedAt = Date.now();
      await old.controller.kill9();
      const first = await firstWrite(other(old).name, killedAt);
      result.takeoverMs = first.at - killedAt;
      if (result.takeoverMs > TAKEOVER_BOUND_MS) result.failures.push(`takeover took ${result.takeoverMs} ms (bound ${TAKEOVER_BOUND_MS})`);
      await old.controller.start();
    },
    async 'sigterm-leader'(result) {
      const old = await leader();
      const stoppedAt = Date.now();
      const exit = await old.controller.stop(15_000);
      if (exit?.code !== 0) result.failures.push(`SIGTERM exit ${JSON.stringify(exit)}`);
      const first = await firstWrite(other(old).name, stoppedAt);
      result.takeoverMs = first.at - stoppedAt;
      // Flush (≤ shutdownGraceSeconds 5 s), release, the standby's next attempt (≤ 1 s), its first write.
      if (result.takeoverMs > 5_000 + 3_000) result.failures.push(`handover took ${result.takeoverMs} ms`);
      await old.controller.start();
    },
    async 'etcd-down'(result) {
      await leader();
      const downAt = Date.now();
      await etcd.stop();
      timeline.add('etcd stopped');
      await sleep((LEASE_SECONDS + 3) * 1000);
      const upAt = Date.now();
      // Nobody can prove the lease: no write may start once every gate closed (+ one open request).
      const late = writesBetween(downAt + GATE_CLOSES_MS + OVERLAP_MARGIN_MS, upAt);
      if (late.length > 0) result.failures.push(`${late.length} GC writes while etcd was down, e.g. ${JSON.stringify(late.slice(0, 3))}`);
      await etcd.start();
      timeline.add('etcd started');
      const back = await leader();
      const first = await firstWrite(back.name, upAt).catch(() => undefined);
      if (first !== undefined) result.takeoverMs = first.at - upAt;
    },
    async 'leader-cut-off-from-etcd'(result) {
      const old = await leader();
      const cutAt = Date.now();
      old.etcdProxy.blackhole();
      timeline.add('etcd black-holed for the leader', { leader: old.name });
      const first = await firstWrite(other(old).name, cutAt);
      result.takeoverMs = first.at - cutAt;
      await sleep(2_000);
      const late = gcLog.writes().filter((write) => write.instance === old.name && write.at > cutAt + GATE_CLOSES_MS + OVERLAP_MARGIN_MS);
      if (late.length > 0) result.failures.push(`the cut-off leader wrote ${late.length} times after its gate had to close, e.g. ${JSON.stringify(late.slice(0, 3))}`);
      old.etcdProxy.restore();
      timeline.add('etcd reachable again for the old leader', { leader: old.name });
      // It rejoins as a standby.
      await until(`${old.name} to stand by`, async () => ((await role(old)) === 'standby' ? true : undefined), 30_000);
    },
    async 'both-started-at-once'(result) {
      await Promise.all(instances.map((instance) => instance.controller.kill9()));
      // Both leases must expire before the new ones compete on equal terms.
      await sleep((LEASE_SECONDS + 1) * 1000);
      const startedAt = Date.now();
      await Promise.all(instances.map((instance) => instance.controller.start()));
      const elected = await leader();
      const first = await firstWrite(elected.name, startedAt);
      result.takeoverMs = first.at - startedAt;
      const writers = new Set(writesBetween(startedAt, Date.now()).map((write) => write.instance));
      if (writers.size !== 1) result.failures.push(`writers after a simultaneous start: ${[...writers].join(', ')}`);
    },
  };

  const selected = values.only === undefined ? Object.keys(phases) : values.only.split(';').map((name) => name.trim());
  const results: PhaseResult[] = [];
  const failures: string[] = [];
  try {
    await Promise.all(instances.map((instance) => instance.controller.start()));
    const first = await leader();
    const initial = await converge(90_000);
    timeline.add('initial resync', { leader: first.name, convergenceMs: initial.ms, unconverged: initial.remaining.length });
    if (initial.remaining.length > 0) failures.push(`initial resync: ${initial.remaining.length} agents not converged`);
    for (const name of selected) {
      const phase = phases[name];
      if (phase === undefined) throw new Error(`unknown HA phase ${name} (known: ${Object.keys(phases).join(', ')})`);
      const result: PhaseResult = { phase: name, convergenceMs: 0, engageChanges: 0, writes: 0, writers: [], failures: [] };
      const from = Date.now();
      const changesBefore = engage.changes;
      timeline.add(`phase ${name}: storm`);
      engage.start(20);
      await sleep(1_000);
      try {
        await phase(result);
      } catch (error) {
        result.failures.push(`phase error: ${error instanceof Error ? error.message : String(error)}`);
      }
      await sleep(1_000);
      engage.stop();
      const convergence = await converge(60_000);
      result.convergenceMs = convergence.ms;
      result.engageChanges = engage.changes - changesBefore;
      if (convergence.remaining.length > 0) result.failures.push(`${convergence.remaining.length} agents not converged after 60 s, e.g. ${JSON.stringify(convergence.remaining.slice(0, 3))}`);
      const writes = writesBetween(from, Date.now());
      result.writes = writes.length;
      result.writers = [...new Set(writes.map((write) => write.instance))];
      const overlaps = overlappingWrites(writes, OVERLAP_MARGIN_MS, LEASE_SECONDS * 1000);
      if (overlaps.length > 0) result.failures.push(`${overlaps.length} writes while another instance was writing, e.g. ${JSON.stringify(overlaps.slice(0, 3))}`);
      timeline.add(`phase ${name}: ${result.failures.length === 0 ? 'ok' : 'FAILED'}`, { ...result });
      results.push(result);
      failures.push(...result.failures.map((failure) => `${name}: ${failure}`));
    }
    const stale = agentIds.flatMap((agentId) => staleWrites(userIds.get(agentId)!, engage.history.get(agentId) ?? [], gcHistory.byUser.get(userIds.get(agentId)!) ?? [], [program]));
    if (stale.length > 0) failures.push(`${stale.length} stale writes, e.g. ${JSON.stringify(stale.slice(0, 3))}`);
    const foreign = gcLog.writes().filter((write) => write.instance !== 'exas-a' && write.instance !== 'exas-b');
    if (foreign.length > 0) failures.push(`${foreign.length} GC writes without an instance identity in User-Agent`);
  } catch (error) {
    failures.push(`harness error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  } finally {
    engage.stop();
    await Promise.all(instances.map((instance) => instance.controller.stop(10_000).catch(() => undefined)));
  }
  const summary = {
    profile: 'ha',
    seed,
    agents,
    leaseSeconds: LEASE_SECONDS,
    renewSeconds: RENEW_SECONDS,
    overlapMarginMs: OVERLAP_MARGIN_MS,
    durationSeconds: Math.round((Date.now() - started) / 100) / 10,
    gcWrites: gcLog.writes().length,
    gcRequests: gcLog.records.length,
    failures,
    results,
    reproduce,
  };
  mkdirSync(values.out ?? 'test/artifacts/chaos', { recursive: true });
  const outFile = `${values.out ?? 'test/artifacts/chaos'}/chaos-ha-${seed}.json`;
  writeFileSync(outFile, JSON.stringify({ ...summary, timeline: timeline.entries }, null, 2));
  process.stdout.write(
    [
      `chaos ha: seed ${seed}, ${agents} agents, two instances, ${results.length} phases in ${summary.durationSeconds} s`,
      ...results.map(
        (result) =>
          `  ${result.failures.length === 0 ? 'ok  ' : 'FAIL'} ${result.phase.padEnd(26)} ${result.takeoverMs === undefined ? '' : `first write by the new leader after ${(result.takeoverMs / 1000).toFixed(2)} s, `}converged in ${(result.convergenceMs / 1000).toFixed(1)} s, ${result.engageChanges} changes, ${result.writes} GC writes by ${result.writers.join(' then ') || 'nobody'}`,
      ),
      `  GC requests ${summary.gcRequests} (writes ${summary.gcWrites}); overlap margin ${OVERLAP_MARGIN_MS} ms; results: ${outFile}`,
      '',
    ].join('\n'),
  );
  engage.stop();
  gcHistory.close();
  for (const instance of instances) await instance.etcdProxy.close();
  await gcLog.close();
  await statServer.close();
  await gc.close();
  await etcd.close();
  if (failures.length > 0) {
    process.stdout.write(`\nCHAOS HA FAILED (seed ${seed}; reproduce: ${reproduce})\n${failures.map((failure) => `  - ${failure}`).join('\n')}\n\ntimeline:\n${timeline.entries.join('\n')}\n\nlogs: ${directory}/exas-*/exas.log\n`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
