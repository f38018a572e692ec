/**
 * Hostile clients of the bridge listener (a loopback WebSocket that a PSDK bridge connects to): a client without
 * the shared token, or with a wrong one, is refused and cannot replace the connected bridge; garbage frames from
 * the bridge are counted, not fatal. (Frames over 64 MiB are refused by ws's `maxPayload`.)
 */
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeSimulator, Crowd, emulatedAgentIds } from '../../src/emulators/statserver/index.ts';
import { createBridgeSource, type AgentObservation } from '../../src/statserver/index.ts';
import type { BridgeSource } from '../../src/statserver/bridge-source.ts';
import { setLogSink, type LogSink } from '../../src/log.ts';

const TOKEN = 'bridge-token-4d2c';
const AGENTS = 3;
let source: BridgeSource;
let bridge: BridgeSimulator;
let previousSink: LogSink;
const logs: string[] = [];
const observed: AgentObservation[] = [];

/** Resolves with the HTTP status of a refused upgrade, or 101 when the server accepted it. */
function tryUpgrade(headers: Record<string, string>): Promise<{ status: number; socket: WebSocket }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(source.url!, { headers });
    socket.once('open', () => resolve({ status: 101, socket }));
    socket.once('unexpected-response', (_request, response) => resolve({ status: response.statusCode ?? 0, socket }));
    socket.once('error', () => resolve({ status: 0, socket }));
  });
}

async function eventually(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

beforeAll(async () => {
  previousSink = setLogSink((line) => logs.push(line));
  source = createBridgeSource({ port: 0, token: TOKEN, settleMs: 5 });
  source.onObservation((observation) => observed.push(observation));
  await source.open(emulatedAgentIds(AGENTS));
  await source.start();
  bridge = new BridgeSimulator({ url: source.url!, token: TOKEN, crowd: new Crowd(AGENTS, 3) });
  await bridge.connect();
  await eventually(() => source.isConnected());
});

afterAll(async () => {
  await bridge?.close();
  await source?.stop();
  setLogSink(previousSink);
});

describe('bridge listener under hostile clients', () => {
  it('refuses clients without the token or with a wrong one (401) and keeps the connected bridge', async () => {
    const attempts: Array<Record<string, string>> = [{}, { authorization: `Bearer ${TOKEN}x` }, { authorization: `Bearer ${TOKEN.slice(0, -1)}` }, { authorization: `Basic ${TOKEN}` }, { authorization: TOKEN }];
    for (const headers of attempts) {
      const { status, socket } = await tryUpgrade(headers);
      expect(status).toBe(401);
      socket.terminate();
    }
    expect(source.isConnected()).toBe(true);
    expect(logs.filter((line) => line.includes('refused a bridge connection')).length).toBeGreaterThanOrEqual(5);
    expect(logs.join('\n')).not.toContain(TOKEN);
  });

  it('counts garbage frames from an authorised bridge as unparsable and keeps reading', async () => {
    const before = source.stats().unknowns['unparsable'] ?? 0;
    const { status, socket: rogue } = await tryUpgrade({ authorization: `Bearer ${TOKEN}` });
    expect(status).toBe(101);
    for (const frame of ['not json', '{"message":"EventInfo"}', '[1,2,3]', JSON.stringify({ message: 'EventInfo', Statistic: 'CurrentState', ObjectId: '1001', StateValue: { place: 42 } }), '{"a":' + '['.repeat(10_000) + ']'.repeat(10_000) + '}']) {
      rogue.send(frame);
    }
    await eventually(() => (source.stats().unknowns['unparsable'] ?? 0) >= before + 4);
    rogue.close();
    await eventually(() => rogue.readyState === WebSocket.CLOSED);
  });

});
