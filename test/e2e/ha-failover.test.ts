/**
 * Done-when of high availability (issue 18): two `exas run` processes sharing a real etcd (short lease: 3 s,
 * renewal 1 s). Exactly one writes to GC (judged from a recording proxy in front of the GC emulator, by
 * User-Agent); kill -9 of it makes the other write within the lease duration + 2 s, and every agent converges,
 * including agents changed while no instance wrote.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExas, writeExasConfig, type ExasProcess } from '../chaos/exas-process.ts';
import { etcdHaYaml } from '../chaos/ha-config.ts';
import { startEtcd, type TestEtcd } from '../helpers/etcd.ts';
import { builtCli } from '../helpers/exas-cli.ts';
import { eventually, startE2eRig, type E2eRig } from '../helpers/e2e.ts';
import { startGcRequestLog, type GcRequestLog } from '../helpers/gc-request-log.ts';

const LEASE_SECONDS = 3;
const AGENTS = 60;

let etcd: TestEtcd;
let rig: E2eRig;
let gcLog: GcRequestLog;
const processes: ExasProcess[] = [];

beforeAll(async () => {
  process.env['EXAS_CHAOS_CLI'] = await builtCli();
  etcd = await startEtcd();
  rig = await startE2eRig({ agents: AGENTS, scope: 'file', statServer: { eventsPerSecond: 0 } });
  gcLog = await startGcRequestLog(rig.gc.url);
}, 60_000);

afterAll(async () => {
  for (const child of processes) child.kill('SIGKILL');
  await Promise.all(processes.map((child) => child.exited()));
  await gcLog?.close();
  await rig?.close();
  await etcd?.close();
});

function startInstance(identity: string): ExasProcess {
  const directory = join(rig.directory, identity);
  mkdirSync(directory, { recursive: true });
  const { configPath } = writeExasConfig({
    directory,
    statServerUrls: [rig.statServer.url],
    gcUrl: gcLog.url,
    agentIds: rig.agentIds,
    rulesFile: join(import.meta.dirname, '..', '..', 'exas.rules.yaml'),
    requestsPerMinute: 300,
    gcTimeoutMs: 2_000,
    logLevel: 'info',
    extraYaml: etcdHaYaml({ identity, leaseName: 'shard-e2e', durationSeconds: LEASE_SECONDS, renewSeconds: 1, endpoint: etcd.url }),
  });
  const child = startExas(configPath, join(directory, 'exas.log'));
  processes.push(child);
  return child;
}

async function readyz(child: ExasProcess): Promise<{ status: number; body: { ready: boolean; role?: string; leaseHolder?: string | null } }> {
  const response = await fetch(`${await child.operatorUrl()}/readyz`);
  return { status: response.status, body: (await response.json()) as { ready: boolean; role?: string; leaseHolder?: string | null } };
}

const STATES = [
  { state: 'Ready', callType: 'None', reason: null },
  { state: 'NotReady', callType: 'None', reason: 'Break' },
  { state: 'Ready', callType: 'Inbound', reason: null },
  { state: 'NotReady', callType: 'None', reason: null },
] as const;

function changeAgents(count: number, round: number): void {
  for (let index = 0; index < count; index += 1) {
    const agentId = rig.agentIds[(index * 7 + round) % rig.agentIds.length]!;
    rig.statServer.setAgent(agentId, STATES[(index + round) % STATES.length]!);
  }
}

describe('two exas run instances sharing an etcd', () => {
  it('exactly one writes; after kill -9 the other writes within the lease + 2 s and every agent converges', async () => {
    const a = startInstance('exas-a');
    const b = startInstance('exas-b');
    // Both ready: the leader after its start-up resync, the standby at once.
    const both = await eventually(
      async () => Promise.all([readyz(a), readyz(b)]),
      ([ra, rb]) => ra.status === 200 && rb.status === 200,
      45_000,
    );
    expect(both.map((r) => r.status)).toEqual([200, 200]);
    const roles = both.map((r) => r.body.role).sort();
    expect(roles).toEqual(['leader', 'standby']);
    const leaderName = both[0]!.body.role === 'leader' ? 'exas-a' : 'exas-b';
    const [leader, standby] = leaderName === 'exas-a' ? [a, b] : [b, a];
    const standbyName = leaderName === 'exas-a' ? 'exas-b' : 'exas-a';
    const holders = await eventually(async () => (await Promise.all([readyz(a), readyz(b)])).map((r) => r.body.leaseHolder), (seen) => seen.every((holder) => holder === leaderName), 5_000);
    if (holders.some((holder) => holder !== leaderName)) console.error(standby.tail().filter((line) => /lease|coordination|ha/.test(line)).join('\n'));
    expect(holders).toEqual([leaderName, leaderName]);
    expect(await rig.waitForConvergence({ timeoutMs: 30_000 })).toEqual([]);

    changeAgents(20, 1);
    expect(await rig.waitForConvergence({ timeoutMs: 30_000 })).toEqual([]);
    const writesBefore = gcLog.writes();
    expect(writesBefore.length).toBeGreaterThan(0);
    expect(new Set(writesBefore.map((write) => write.instance))).toEqual(new Set([leaderName]));

    // kill -9 the leader, and change agents while nobody writes.
    const killedAt = Date.now();
    leader.kill('SIGKILL');
    await leader.exited();
    changeAgents(25, 2);
    const firstWrite = await eventually(
      () => gcLog.writes().find((write) => write.instance === standbyName),
      (write) => write !== undefined,
      (LEASE_SECONDS + 10) * 1000,
    );
    expect(firstWrite).toBeDefined();
    const takeoverMs = firstWrite!.at - killedAt;
    expect(takeoverMs).toBeLessThanOrEqual((LEASE_SECONDS + 2) * 1000);
    expect(await rig.waitForConvergence({ timeoutMs: 30_000 })).toEqual([]);
    // Nothing from the dead leader after the kill; the survivor leads and is ready.
    expect(gcLog.writes().filter((write) => write.instance === leaderName && write.at > killedAt)).toEqual([]);
    const after = await readyz(standby);
    expect(after).toMatchObject({ status: 200, body: { ready: true, role: 'leader', leaseHolder: standbyName } });
    console.info(`[ha e2e] kill -9 → standby's first GC write: ${takeoverMs} ms (lease ${LEASE_SECONDS} s)`);
  }, 120_000);
});
