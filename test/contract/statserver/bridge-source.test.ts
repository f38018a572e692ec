/**
 * The bridge adapter with a bridge simulator: PSDK-shaped EventInfo JSON over a WebSocket, a snapshot after
 * every (re)connect, invalid statistics, garbage, and a bridge that drops and comes back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeSimulator, Crowd, emulatedAgentIds } from '../../../src/emulators/statserver/index.ts';
import { createBridgeSource, type AgentObservation, type ConnectionEvent } from '../../../src/statserver/index.ts';
import type { BridgeSource } from '../../../src/statserver/bridge-source.ts';
import { setLogSink } from '../../../src/log.ts';
import { Conditions, view } from './conditions.ts';

const AGENTS = 30;
const crowd = new Crowd(AGENTS, 11);
let source: BridgeSource;
let bridge: BridgeSimulator;
const latest = new Map<string, AgentObservation>();
const connections: ConnectionEvent[] = [];
const conditions = new Conditions();
let previousSink: ((line: string) => void) | undefined;

const until = (predicate: () => boolean): Promise<void> => conditions.until(predicate);

function mirrorsCrowd(): boolean {
  return crowd.agents.every((agent) => JSON.stringify(view(latest.get(agent.agentId))) === JSON.stringify(crowd.view(agent)));
}

beforeAll(async () => {
  previousSink = setLogSink(() => undefined);
  source = createBridgeSource({ port: 0, token: 'bridge-secret', settleMs: 5 });
  source.onObservation((observation) => {
    latest.set(observation.kind === 'snapshot' ? observation.snapshot.agentId : observation.agentId, observation);
    conditions.notify();
  });
  source.onConnection((event) => {
    connections.push(event);
    conditions.notify();
  });
  await source.open(emulatedAgentIds(AGENTS));
  await source.start();
  bridge = new BridgeSimulator({ url: source.url!, token: 'bridge-secret', crowd });
  await bridge.connect();
});

afterAll(async () => {
  await bridge?.close();
  await source?.stop();
  if (previousSink) setLogSink(previousSink);
});

describe('bridge adapter', () => {
  it('sends the scope on connect and is connected once the bridge snapshot is complete, mirroring every agent', async () => {
    await until(() => connections.length === 1);
    expect(connections[0]).toMatchObject({ state: 'connected', endpoint: 'bridge' });
    expect(bridge.received[0]).toEqual({ message: 'Scope', agentIds: emulatedAgentIds(AGENTS) });
    await until(mirrorsCrowd);
  });

  it('follows changes pushed as EventInfo for both statistics', async () => {
    for (let step = 0; step < 200; step += 1) crowd.step();
    crowd.set(crowd.get('1001')!, { state: 'NotReady', callType: 'None', reason: 'Break' });
    crowd.set(crowd.get('1002')!, { state: 'Ready', callType: 'Internal', reason: null });
    await until(mirrorsCrowd);
    expect(view(latest.get('1001'))).toEqual({ agentId: '1001', state: 'NotReady', callType: 'None', reason: 'Break' });
  });

  it('an invalid statistic makes the agent unknown until the bridge says valid and sends values', async () => {
    bridge.setInvalid('1003', true);
    await until(() => latest.get('1003')?.kind === 'unknown');
    expect(latest.get('1003')).toMatchObject({ reason: 'invalid' });
    crowd.set(crowd.get('1003')!, { state: 'AfterCallWork', callType: 'None', reason: null });
    bridge.setInvalid('1003', false);
    await until(mirrorsCrowd);
  });

  it('garbage frames are counted as unparsable, never a crash', async () => {
    bridge.sendRaw('not json');
    bridge.sendRaw(JSON.stringify([{ message: 'EventInfo', ObjectId: '1004' }, 42, { message: 'Nope' }]));
    const frames = source.stats().eventsReceived['bridge-frame'] ?? 0;
    await source.peek(['1004']);
    expect(source.stats().eventsReceived['bridge-frame']).toBeGreaterThan(frames);
    expect(source.stats().unknowns['unparsable']).toBe(4);
    expect(source.isConnected()).toBe(true);
  });

  it('peek asks the bridge and returns current values', async () => {
    const observations = await source.peek(['1005', '1006']);
    expect(observations.map(view)).toEqual([crowd.view(crowd.get('1005')!), crowd.view(crowd.get('1006')!)]);
  });

  it('a bridge disconnect is a Stat Server disconnect; changes during the gap arrive with the next snapshot', async () => {
    await bridge.disconnect();
    await until(() => connections.at(-1)?.state === 'disconnected');
    expect(source.isConnected()).toBe(false);
    crowd.set(crowd.get('1007')!, { state: 'LoggedOff', callType: 'None', reason: null });
    crowd.set(crowd.get('1008')!, { state: 'NotReady', callType: 'Outbound', reason: 'Coaching' });
    await bridge.connect();
    await until(() => connections.at(-1)?.state === 'connected');
    await until(mirrorsCrowd);
    expect(source.stats()).toMatchObject({ reconnects: 1, connected: true, openAgents: AGENTS });
  });

  it('open and close are forwarded to the bridge', async () => {
    await source.close(['1030']);
    await source.open(['1030']);
    await until(() => bridge.received.some((message) => message['message'] === 'Open'));
    expect(bridge.received.filter((message) => message['message'] === 'Close' || message['message'] === 'Open')).toEqual([
      { message: 'Close', agentIds: ['1030'] },
      { message: 'Open', agentIds: ['1030'] },
    ]);
  });

  it('refuses a bridge without the token', async () => {
    const intruder = new BridgeSimulator({ url: source.url!, token: 'wrong', crowd });
    await expect(intruder.connect()).rejects.toThrow(/401/);
    await intruder.close();
  });
});

describe('bridge adapter, connect mode (the bridge listens, EXAS connects)', () => {
  it('connects, mirrors the snapshot, and after the bridge drops it reconnects and resyncs', async () => {
    const listening = new BridgeSimulator({ token: 'other-secret', crowd });
    const url = await listening.listen();
    const dialer = createBridgeSource({ urls: [url], token: 'other-secret', settleMs: 5, reconnect: { initialMs: 10, maxMs: 50 } });
    const seen = new Map<string, AgentObservation>();
    const events: ConnectionEvent[] = [];
    const local = new Conditions();
    const wait = (predicate: () => boolean): Promise<void> => local.until(predicate);
    dialer.onObservation((observation) => {
      if (observation.kind === 'snapshot') seen.set(observation.snapshot.agentId, observation);
      local.notify();
    });
    dialer.onConnection((event) => {
      events.push(event);
      local.notify();
    });
    const ids = emulatedAgentIds(10);
    const mirrored = () => ids.every((id) => JSON.stringify(view(seen.get(id))) === JSON.stringify(crowd.view(crowd.get(id)!)));
    try {
      await dialer.open(ids);
      await dialer.start();
      await wait(() => events.length === 1 && mirrored());
      expect(events[0]).toMatchObject({ state: 'connected', endpoint: url });
      await listening.disconnect();
      crowd.set(crowd.get('1001')!, { state: 'NotReady', callType: 'None', reason: 'Meeting' });
      await wait(() => events.length === 3 && mirrored());
      expect(events.map((event) => event.state)).toEqual(['connected', 'disconnected', 'connected']);
    } finally {
      await dialer.stop();
      await listening.close();
    }
  });

  it('rejects ambiguous or missing modes by name', () => {
    expect(() => createBridgeSource({})).toThrow(/port.*urls/);
    expect(() => createBridgeSource({ port: 1, urls: ['ws://x'] })).toThrow(/port.*urls/);
    expect(() => createBridgeSource({ urls: ['http://x'] })).toThrow(/ws:\/\//);
  });
});

describe('bridge simulator', () => {
  it('close() resolves when EXAS already closed the link (its close event has been and gone)', async () => {
    const exas = createBridgeSource({ port: 0, settleMs: 5 });
    await exas.start();
    const simulator = new BridgeSimulator({ url: exas.url!, crowd });
    await simulator.connect();
    const closedByExas = simulator.closed();
    await exas.stop();
    await closedByExas;
    // The socket is closed already; close() must not wait for a second 'close' that never comes.
    await simulator.close();
    await simulator.close();
  });

  it('disconnect() closes its own link and close() afterwards has nothing left to wait for', async () => {
    const exas = createBridgeSource({ port: 0, settleMs: 5 });
    await exas.start();
    const simulator = new BridgeSimulator({ url: exas.url!, crowd });
    try {
      await simulator.connect();
      await simulator.disconnect();
      await simulator.close();
    } finally {
      await exas.stop();
    }
  });
});
