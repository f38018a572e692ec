/**
 * The slow-client limits of `serve` apply to receiving a request, not to connections that were upgraded
 * (the GC emulator's notification WebSockets) nor to slow responses (long polls).
 */
import { WebSocket, WebSocketServer } from 'ws';
import { describe, expect, it } from 'vitest';
import { serve } from '../../src/platform/serve.ts';
import { started } from '../helpers/servers.ts';

const HEADERS_TIMEOUT_MS = 100;
const REQUEST_TIMEOUT_MS = 200;
/** Several times the limits and Node's check interval: long enough that a wrongly applied limit would fire. */
const OUTLIVE_MS = 800;

describe('serve: slow-client limits', () => {
  it('an upgraded WebSocket stays open well past the request timeouts', async () => {
    const sockets = new WebSocketServer({ noServer: true });
    const server = await started(() =>
      serve(() => new Response('ok'), {
        headersTimeoutMs: HEADERS_TIMEOUT_MS,
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        onUpgrade: (request, socket, head) => sockets.handleUpgrade(request, socket, head, (ws) => ws.on('message', (data) => ws.send(data))),
      }),
    );
    const client = new WebSocket(`ws://127.0.0.1:${server.port}/`);
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    let closed = false;
    client.once('close', () => (closed = true));
    // Absence of a close over a period cannot be awaited as an event; this wait is the input under test.
    await new Promise((resolve) => setTimeout(resolve, OUTLIVE_MS));
    expect(closed).toBe(false);
    const echoed = new Promise<string>((resolve) => client.once('message', (data) => resolve(String(data))));
    client.send('still here');
    expect(await echoed).toBe('still here');
    client.close();
    sockets.close();
  });

  it('a response slower than the request timeout is still delivered (long polls)', async () => {
    const server = await started(() =>
      serve(async () => {
        await new Promise((resolve) => setTimeout(resolve, OUTLIVE_MS));
        return new Response('late but whole');
      }, { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS }),
    );
    const response = await fetch(`${server.url}/poll`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('late but whole');
  });

  it('refuses limits that node:http would reject or that make no sense', async () => {
    await expect(serve(() => new Response(''), { headersTimeoutMs: 0 })).rejects.toThrow(/headersTimeoutMs/);
    await expect(serve(() => new Response(''), { headersTimeoutMs: 500, requestTimeoutMs: 100 })).rejects.toThrow(/requestTimeoutMs/);
  });
});
