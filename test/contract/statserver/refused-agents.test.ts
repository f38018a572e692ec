/**
 * Agents Stat Server refuses (unknown employee ids), against the strict emulator over loopback: the refused
 * batch is split until they are isolated, every other agent opens and mirrors the emulator, `connect()`
 * settles once, the refusal carries Stat Server's message, and refused agents are asked for again on the
 * slow schedule. Also: with 64-character and escaping-heavy ids, no request line exceeds 4 KiB.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { emulatedAgentIds, startStatServerEmulator, type StatServerEmulator } from '../../../src/emulators/statserver/index.ts';
import { createStatisticsApiSource, type AgentObservation, type ConnectionEvent, type StatSource } from '../../../src/statserver/index.ts';
import { setLogSink } from '../../../src/log.ts';
import { started } from '../../helpers/servers.ts';
import { Conditions, view } from './conditions.ts';

const sources: StatSource[] = [];
const logs: string[] = [];
const previousSink = setLogSink((line) => logs.push(line));
afterEach(async () => {
  await Promise.all(sources.splice(0).map((source) => source.stop()));
});
afterAll(() => {
  setLogSink(previousSink);
});

interface Rig {
  source: StatSource;
  latest: Map<string, AgentObservation>;
  connections: ConnectionEvent[];
  until(predicate: () => boolean): Promise<void>;
}

function rig(emulator: StatServerEmulator, options: { batchSize?: number; refusedRetryMs?: number } = {}): Rig {
  const conditions = new Conditions();
  const latest = new Map<string, AgentObservation>();
  const connections: ConnectionEvent[] = [];
  const source = createStatisticsApiSource({
    endpoints: [{ baseUrl: emulator.url }],
    apiKey: emulator.apiKey,
    bearerToken: emulator.bearerToken,
    reconnect: { initialMs: 20, maxMs: 200 },
    settleMs: 0,
    ...options,
  });
  sources.push(source);
  source.onObservation((observation) => {
    latest.set(observation.kind === 'snapshot' ? observation.snapshot.agentId : observation.agentId, observation);
    conditions.notify();
  });
  source.onConnection((event) => {
    connections.push(event);
    conditions.notify();
  });
  return { source, latest, connections, until: (predicate) => conditions.until(predicate) };
}

async function emulatorStatus(emulator: StatServerEmulator): Promise<Record<string, number>> {
  const status = (await (await fetch(`${emulator.url}/emulator/status`)).json()) as { servers: Array<Record<string, number>> };
  return status.servers[0]!;
}

function mirrors(emulator: StatServerEmulator, latest: Map<string, AgentObservation>, agentIds: readonly string[]): boolean {
  return agentIds.every((agentId) => JSON.stringify(view(latest.get(agentId))) === JSON.stringify(emulator.agent(agentId)));
}

describe('refused agents (strict Stat Server emulator)', () => {
  it('isolates the refused agents by splitting the batch, opens every other one, and connects once', async () => {
    const emulator = await started(() => startStatServerEmulator({ agents: 64, seed: 5 }));
    const refused = ['1003', '1040', '1041', '1064'];
    emulator.applyFaults({ unknownAgents: refused });
    const { source, latest, connections, until } = rig(emulator, { batchSize: 32 });
    const all = emulatedAgentIds(64);
    await source.open(all);
    await source.start();
    const others = all.filter((agentId) => !refused.includes(agentId));
    await until(() => mirrors(emulator, latest, others));
    expect(source.isConnected()).toBe(true);
    expect(connections.map((event) => event.state)).toEqual(['connected']);
    expect(emulator.statisticCount().primary).toBe(2 * others.length);
    for (const agentId of refused) {
      expect(latest.get(agentId)).toMatchObject({ kind: 'unknown', reason: 'open-failed' });
      expect(source.refusal(agentId)).toEqual({ message: expect.stringContaining('object not found'), since: expect.any(Number), lastAt: expect.any(Number) });
    }
    expect(source.refusal('1001')).toBeUndefined();
    expect(source.stats().refusedAgents).toBe(4);
    // 2 batches of 32; each refused one is halved down to single agents: far fewer requests than one per agent.
    const status = await emulatorStatus(emulator);
    expect(status['subscriptionsRefused']).toBeGreaterThanOrEqual(refused.length);
    expect(status['subscriptionsRefused']! + status['subscriptionsCreated']!).toBeLessThan(40);
    expect(logs.some((line) => line.includes('Stat Server refused to open the statistics of some agents') && line.includes('"refused":4'))).toBe(true);
    // A scope refresh naming them again does not ask again (only the slow retry does).
    const refusedBefore = status['subscriptionsRefused'];
    await source.open(all);
    expect((await emulatorStatus(emulator))['subscriptionsRefused']).toBe(refusedBefore);
  });

  it('every agent refused: connect still settles, nothing opens, and each refusal is reported', async () => {
    const emulator = await started(() => startStatServerEmulator({ agents: 6 }));
    const all = emulatedAgentIds(6);
    emulator.applyFaults({ unknownAgents: all });
    const { source, connections } = rig(emulator);
    await source.open(all);
    await source.start();
    expect(connections.map((event) => event.state)).toEqual(['connected']);
    expect(source.stats().refusedAgents).toBe(6);
  });

  it('when Stat Server refuses everyone (a statistic it lacks), splitting stops early instead of costing two requests per agent', async () => {
    const emulator = await started(() => startStatServerEmulator({ agents: 400 }));
    const all = emulatedAgentIds(400);
    emulator.applyFaults({ unknownAgents: all });
    const { source, connections } = rig(emulator, { batchSize: 100 });
    await source.open(all);
    await source.start();
    expect(connections.map((event) => event.state)).toEqual(['connected']);
    expect(source.stats().refusedAgents).toBe(400);
    // Isolating all 400 one by one would take about 800 refused requests.
    expect((await emulatorStatus(emulator))['subscriptionsRefused']).toBeLessThan(150);
    expect(logs.some((line) => line.includes('refuses the statistics of every agent tried'))).toBe(true);
  });

  it('a run of 40 refused agents first in the batch does not make the good agents after it look refused', async () => {
    const emulator = await started(() => startStatServerEmulator({ agents: 64 }));
    const all = emulatedAgentIds(64);
    const refused = all.slice(0, 40);
    emulator.applyFaults({ unknownAgents: refused });
    const { source, latest, until } = rig(emulator, { batchSize: 64, refusedRetryMs: 3_600_000 });
    await source.open(all);
    await source.start();
    await until(() => mirrors(emulator, latest, all.slice(40)));
    expect(source.stats().refusedAgents).toBe(40);
    for (const agentId of all.slice(40)) expect(source.refusal(agentId)).toBeUndefined();
  });

  it('asks again for refused agents on the slow schedule and opens them once Stat Server knows them', async () => {
    const emulator = await started(() => startStatServerEmulator({ agents: 8 }));
    emulator.applyFaults({ unknownAgents: ['1002', '1007'] });
    const { source, latest, until } = rig(emulator, { batchSize: 8, refusedRetryMs: 150 });
    const all = emulatedAgentIds(8);
    await source.open(all);
    await source.start();
    expect(source.stats().refusedAgents).toBe(2);
    const firstRefusal = source.refusal('1002')!;
    // Still unknown at the next round: the refusal keeps when it began and moves its latest time.
    await until(() => (source.refusal('1002')?.lastAt ?? 0) > firstRefusal.lastAt);
    expect(source.refusal('1002')!.since).toBe(firstRefusal.since);
    emulator.applyFaults({});
    await until(() => mirrors(emulator, latest, all));
    expect(source.stats().refusedAgents).toBe(0);
    expect(source.refusal('1007')).toBeUndefined();
    expect(source.stats().eventsReceived['refused-retry']).toBeGreaterThanOrEqual(2);
    // Leaving scope forgets a refusal.
    emulator.applyFaults({ unknownAgents: ['1008'] });
    await source.close(['1008']);
    await source.open(['1008']);
    expect(source.stats().refusedAgents).toBe(1);
    await source.close(['1008']);
    expect(source.stats().refusedAgents).toBe(0);
  });

  it('keeps every request line within 4 KiB with 64-character, escaping-heavy agent ids, and mirrors them all', async () => {
    const ids = Array.from({ length: 240 }, (_, i) => {
      const n = String(i).padStart(4, '0');
      return [`agent-${n}`.padEnd(64, 'x'), `€${n}`.padEnd(64, '€'), `a,b%c/d?e&f=g#h ${n}`.padEnd(64, '+'), `ü${n}`.padEnd(64, 'ü')][i % 4]!;
    });
    expect(ids.every((id) => [...id].length === 64)).toBe(true);
    const emulator = await started(() => startStatServerEmulator({ agentIds: ids, seed: 2 }));
    const { source, latest, until } = rig(emulator, { batchSize: 1000 });
    await source.open(ids);
    await source.start();
    await until(() => mirrors(emulator, latest, ids));
    // Peeks of everyone, then of a few: the emulator heard each request line and kept the longest.
    expect((await source.peek()).filter((observation) => observation.kind === 'snapshot')).toHaveLength(ids.length);
    const status = await emulatorStatus(emulator);
    expect(status['longestRequestLine']).toBeGreaterThan(2048);
    expect(status['longestRequestLine']).toBeLessThanOrEqual(4096);
    expect(status['requestLinesTooLong']).toBe(0);
  });
});
