/**
 * The Statistics API adapter against the Stat Server emulator, through every fault the emulator injects:
 * after each, the snapshots the adapter delivered must equal the emulator's agents.
 */
import { appendFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStatServerEmulator, emulatedAgentIds, type StatServerEmulator } from '../../../src/emulators/statserver/index.ts';
import { createStatisticsApiSource, type AgentObservation, type ConnectionEvent, type StatSource } from '../../../src/statserver/index.ts';
import { setLogSink } from '../../../src/log.ts';
import { started } from '../../helpers/servers.ts';
import { Conditions, view } from './conditions.ts';

const AGENTS = 40;
let emulator: StatServerEmulator;
let source: StatSource;
const latest = new Map<string, AgentObservation>();
const connections: ConnectionEvent[] = [];
const conditions = new Conditions();
let previousSink: ((line: string) => void) | undefined;

const notify = (): void => conditions.notify();
/** Resolves when `predicate` holds, re-checked on every observation and connection event. */
const until = (predicate: () => boolean): Promise<void> => conditions.until(predicate);

function mirrorsEmulator(): boolean {
  return emulator.agents().every((agent) => JSON.stringify(view(latest.get(agent.agentId))) === JSON.stringify(agent));
}

function connectedAfter(count: number): () => boolean {
  return () => connections.length > count && connections.at(-1)!.state === 'connected';
}

beforeAll(async () => {
  previousSink = setLogSink(process.env["SS_DEBUG"] ? (line) => appendFileSync("/tmp/ss-log.txt", line + "\n") : () => undefined);
  emulator = await started(() => startStatServerEmulator({ agents: AGENTS, seed: 3, backupPort: 0 }));
  source = createStatisticsApiSource({
    endpoints: [{ baseUrl: emulator.url }, { baseUrl: emulator.backupUrl! }],
    apiKey: emulator.apiKey,
    bearerToken: async () => emulator.bearerToken,
    reconnect: { initialMs: 20, maxMs: 200 },
    batchSize: 16,
  });
  source.onObservation((observation) => {
    latest.set(observation.kind === 'snapshot' ? observation.snapshot.agentId : observation.agentId, observation);
    notify();
  });
  source.onConnection((event) => {
    connections.push(event);
    notify();
  });
  await source.open(emulatedAgentIds(AGENTS));
  await source.start();
});

afterAll(async () => {
  await source?.stop();
  if (previousSink) setLogSink(previousSink);
});

describe('Statistics API adapter against the emulator', () => {
  it('opens both statistics for every agent in batched subscriptions and delivers snapshots equal to the emulator', async () => {
    await until(mirrorsEmulator);
    expect(source.isConnected()).toBe(true);
    expect(emulator.statisticCount().primary).toBe(2 * AGENTS);
    expect(connections).toEqual([{ state: 'connected', endpoint: emulator.url, at: expect.any(Number) }]);
    expect(source.stats()).toMatchObject({ connected: true, endpoint: emulator.url, openAgents: AGENTS, reconnects: 0 });
  });

  it('follows changes set through the control API and a running simulation', async () => {
    emulator.setAgent('1001', { state: 'NotReady', callType: 'None', reason: 'Meal' });
    emulator.setAgent('1002', { state: 'NotReady', callType: 'Internal', reason: 'Break' });
    emulator.setAgent('1003', { state: 'AfterCallWork', callType: 'None', reason: null });
    await until(mirrorsEmulator);
    const before = source.stats().eventsReceived['update'] ?? 0;
    emulator.setSimulation(true, 400);
    await until(() => (source.stats().eventsReceived['update'] ?? 0) > before + 100);
    emulator.setSimulation(false);
    await until(mirrorsEmulator);
  });

  it('peek reads current values of the agents asked for', async () => {
    const observations = await source.peek(['1004', '1005']);
    expect(observations.map(view)).toEqual([emulator.agent('1004'), emulator.agent('1005')]);
  });

  it('after every CometD client is dropped it reconnects, reopens and resyncs changes made during the gap', async () => {
    const seen = connections.length;
    emulator.applyFaults({ disconnect: true });
    emulator.setAgent('1006', { state: 'LoggedOff', callType: 'None', reason: null });
    emulator.setAgent('1007', { state: 'Ready', callType: 'Consult', reason: null });
    await until(connectedAfter(seen));
    expect(connections.slice(seen).map((event) => event.state)).toEqual(['disconnected', 'connected']);
    await until(mirrorsEmulator);
    expect(source.stats().reconnects).toBe(1);
  });

  it('while connections are refused it backs off and retries, then resyncs', async () => {
    const seen = connections.length;
    emulator.applyFaults({ refuseSeconds: 0.5 });
    emulator.setAgent('1008', { state: 'NotReady', callType: 'None', reason: 'Training' });
    await until(connectedAfter(seen));
    await until(mirrorsEmulator);
  });

  it('a statistic reported invalid makes the agent unknown until it is valid again', async () => {
    emulator.applyFaults({ invalidAgents: ['1009'] });
    await until(() => latest.get('1009')?.kind === 'unknown');
    expect(latest.get('1009')).toMatchObject({ kind: 'unknown', reason: 'invalid' });
    emulator.setAgent('1009', { state: 'NotReady', callType: 'None', reason: 'Meeting' });
    emulator.applyFaults({ validAgents: ['1009'] });
    await until(mirrorsEmulator);
    expect(source.stats().unknowns['invalid']).toBeGreaterThanOrEqual(1);
  });

  it('when the primary goes down it fails over to the backup and resyncs there', async () => {
    if (connections.at(-1)!.endpoint !== emulator.url) {
      // The refusal above may have ended while the backup was being tried: a drop sends it back to the primary.
      const before = connections.length;
      emulator.applyFaults({ disconnect: true });
      await until(connectedAfter(before));
    }
    expect(connections.at(-1)!.endpoint).toBe(emulator.url);
    const seen = connections.length;
    emulator.applyFaults({ primaryDown: true });
    emulator.setAgent('1010', { state: 'Ready', callType: 'Inbound', reason: null });
    await until(connectedAfter(seen));
    expect(connections.at(-1)!.endpoint).toBe(emulator.backupUrl);
    await until(mirrorsEmulator);
    expect(emulator.statisticCount().backup).toBe(2 * AGENTS);
    emulator.applyFaults({});
  });

  it('service Unavailable is a disconnect; it retries until Stat Server is Available again, then resyncs', async () => {
    const seen = connections.length;
    emulator.applyFaults({ serviceUnavailable: true });
    await until(() => connections.length > seen);
    expect(connections.at(-1)).toMatchObject({ state: 'disconnected', error: 'service Unavailable' });
    emulator.setAgent('1011', { state: 'NotReady', callType: 'None', reason: 'Personal' });
    emulator.applyFaults({ serviceUnavailable: false });
    await until(connectedAfter(seen + 1));
    await until(mirrorsEmulator);
  });

  it('closing agents removes their subscriptions and stops their observations', async () => {
    const ids = emulatedAgentIds(16);
    await source.close(ids);
    const { primary, backup } = emulator.statisticCount();
    expect(primary + backup).toBe(2 * (AGENTS - 16));
    expect(source.stats().openAgents).toBe(AGENTS - 16);
    expect(await source.peek(['1001'])).toEqual([]);
  });
});

describe('Statistics API adapter configuration', () => {
  it('rejects bad options by name', () => {
    expect(() => createStatisticsApiSource({ endpoints: [], apiKey: 'k' })).toThrow(/endpoints/);
    expect(() => createStatisticsApiSource({ endpoints: [{ baseUrl: 'ftp://x' }], apiKey: 'k' })).toThrow(/baseUrl/);
    expect(() => createStatisticsApiSource({ endpoints: [{ baseUrl: 'http://x' }], apiKey: '' })).toThrow(/apiKey/);
    expect(() => createStatisticsApiSource({ endpoints: [{ baseUrl: 'http://x' }], apiKey: 'k', batchSize: 0 })).toThrow(/batchSize/);
  });

  it('with a wrong API key it stays disconnected, and start still resolves', async () => {
    const wrong = createStatisticsApiSource({ endpoints: [{ baseUrl: emulator.url }], apiKey: 'nope', bearerToken: 'exas-demo', reconnect: { initialMs: 1000, maxMs: 1000 } });
    await wrong.start();
    expect(wrong.isConnected()).toBe(false);
    await wrong.stop();
  });

  it('an agent Stat Server does not know is reported unknown (open-failed), the others open', async () => {
    const source2 = createStatisticsApiSource({ endpoints: [{ baseUrl: emulator.url }], apiKey: emulator.apiKey, bearerToken: emulator.bearerToken });
    const seen: AgentObservation[] = [];
    source2.onObservation((observation) => seen.push(observation));
    await source2.start();
    await source2.open(['1030', 'ghost']);
    expect(seen.find((observation) => observation.kind === 'unknown')).toMatchObject({ agentId: 'ghost', reason: 'open-failed' });
    expect((await source2.peek(['1030'])).map(view)).toEqual([emulator.agent('1030')]);
    expect(source2.stats().unknowns).toEqual({ 'open-failed': 1 });
    await source2.stop();
  });

  it('HTTP calls and CometD share one session cookie: only the first request of a connection lacks it', async () => {
    const fresh = await startStatServerEmulator({ agents: 5 });
    const sessioned = createStatisticsApiSource({ endpoints: [{ baseUrl: fresh.url }], apiKey: fresh.apiKey, bearerToken: fresh.bearerToken, batchSize: 2 });
    try {
      await sessioned.open(emulatedAgentIds(5));
      await sessioned.start();
      await sessioned.peek();
      const status = (await (await fetch(`${fresh.url}/emulator/status`)).json()) as { servers: Array<Record<string, number>> };
      expect(status.servers[0]).toMatchObject({ requestsWithoutSession: 1, subscriptionsCreated: 3 });
      expect(status.servers[0]!['requestsWithSession']).toBeGreaterThanOrEqual(5);
    } finally {
      await sessioned.stop();
      await fresh.close();
    }
  });

  it('open() while the connection is still opening the scope does not open any agent twice', async () => {
    const fresh = await startStatServerEmulator({ agents: 24 });
    const racing = createStatisticsApiSource({ endpoints: [{ baseUrl: fresh.url }], apiKey: fresh.apiKey, bearerToken: fresh.bearerToken, batchSize: 4, concurrency: 1, settleMs: 0 });
    const extra: Array<Promise<void>> = [];
    racing.onObservation(() => {
      // First values of the first batch: the other batches are still being opened.
      if (extra.length === 0) extra.push(racing.open(emulatedAgentIds(24)));
    });
    try {
      await racing.open(emulatedAgentIds(20));
      await racing.start();
      await Promise.all(extra);
      expect(extra).toHaveLength(1);
      expect(fresh.statisticCount().primary).toBe(2 * 24);
    } finally {
      await racing.stop();
      await fresh.close();
    }
  });

  it('opens pre-configured statistics by name', async () => {
    const named = createStatisticsApiSource({
      endpoints: [{ baseUrl: emulator.url }],
      apiKey: emulator.apiKey,
      bearerToken: emulator.bearerToken,
      statistics: { mode: 'named', currentStateName: 'CurrentState', reasonsName: 'CurrentStateReason' },
    });
    await named.open(['1020', '1021']);
    await named.start();
    const observations = await named.peek();
    expect(observations.map(view)).toEqual([emulator.agent('1020'), emulator.agent('1021')]);
    await named.stop();
  });
});
