/**
 * A connection attempt whose subscription request hangs must not block the reconnect that follows a drop:
 * a stalling proxy in front of the emulator holds the first POST /subscriptions forever.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startStatServerEmulator, emulatedAgentIds } from '../../../src/emulators/statserver/index.ts';
import { createStatisticsApiSource, type ConnectionEvent } from '../../../src/statserver/index.ts';
import { listen } from '../../../src/platform/serve.ts';
import { setLogSink } from '../../../src/log.ts';

describe('Statistics API adapter with a hanging subscription request', () => {
  it('a drop during a hanging open still leads to a reconnect and a full open', async () => {
    const previous = setLogSink(() => undefined);
    const emulator = await startStatServerEmulator({ agents: 4 });
    const target = new URL(emulator.url);
    let stall = true;
    const held: ServerResponse[] = [];
    let stalled: () => void = () => undefined;
    const firstStall = new Promise<void>((resolve) => (stalled = resolve));
    const proxy = await listen(
      createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
        if (stall && incoming.method === 'POST' && incoming.url?.startsWith('/statistics/v3/subscriptions')) {
          held.push(outgoing);
          stalled();
          return;
        }
        const forward = httpRequest(
          { host: target.hostname, port: target.port, path: incoming.url, method: incoming.method, headers: incoming.headers },
          (answer) => {
            outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(outgoing);
          },
        );
        forward.on('error', () => outgoing.destroy());
        incoming.pipe(forward);
      }),
      '127.0.0.1',
      0,
    );
    const events: ConnectionEvent[] = [];
    const source = createStatisticsApiSource({
      endpoints: [{ baseUrl: proxy.url }],
      apiKey: emulator.apiKey,
      bearerToken: emulator.bearerToken,
      reconnect: { initialMs: 10, maxMs: 50 },
      requestTimeoutMs: 60_000,
    });
    let connected: () => void = () => undefined;
    const isConnected = new Promise<void>((resolve) => (connected = resolve));
    source.onConnection((event) => {
      events.push(event);
      if (event.state === 'connected') connected();
    });
    try {
      await source.open(emulatedAgentIds(4));
      const starting = source.start();
      await firstStall;
      stall = false;
      emulator.applyFaults({ disconnect: true });
      await isConnected;
      expect(events.map((event) => event.state)).toEqual(['connected']);
      expect(emulator.statisticCount().primary).toBe(8);
      for (const response of held) response.destroy();
      await starting;
    } finally {
      await source.stop();
      await proxy.close();
      await emulator.close();
      setLogSink(previous);
    }
  });
});
