/**
 * Bounded work on the operator surface: the answer-size cap (explanations counted as they are built), the
 * event cap, and the connection cap of the Node server.
 */
import { describe, expect, it } from 'vitest';
import { createOperatorApp, startOperatorServer } from '../../../src/http/index.ts';
import { started } from '../../helpers/servers.ts';
import { openRaw } from '../../hostile/raw-http.ts';
import { createFakeDeps } from './fake-deps.ts';
import { json, postJson } from './request.ts';

const events = (count: number): Array<{ agentId: string; state: string }> => Array.from({ length: count }, (_, i) => ({ agentId: `a${i}`, state: 'NotReady' }));

describe('dry-run limits', () => {
  it('refuses an answer over maxResponseBytes with a 400 that says what to send instead', async () => {
    const app = createOperatorApp(createFakeDeps(), { maxResponseBytes: 20_000 });
    const explained = await postJson(app, '/dry-run', { events: events(200), explain: true });
    expect(explained.status).toBe(400);
    expect((await json(explained))['error']).toMatch(/answer limit .*send fewer events, or leave out "explain"/);
    // Without explanations the same events fit.
    expect((await postJson(app, '/dry-run', { events: events(10) })).status).toBe(200);
  });

  it('refuses more than maxDryRunEvents events', async () => {
    const app = createOperatorApp(createFakeDeps(), { maxDryRunEvents: 10 });
    const response = await postJson(app, '/dry-run', { events: events(11) });
    expect(response.status).toBe(400);
    expect(await json(response)).toEqual({ error: 'too many events: 11; at most 10 per dry run', field: 'events' });
    expect((await postJson(app, '/dry-run', { events: events(10) })).status).toBe(200);
  });
});

describe('connection cap (Node server)', () => {
  it('closes connections beyond maxConnections at once, and serves again when they go', async () => {
    const server = await started(() => startOperatorServer(createFakeDeps(), { maxConnections: 4 }));
    const held = await Promise.all(Array.from({ length: 4 }, () => openRaw(server.port)));
    // The server must have accepted the four before the fifth is judged: a request on each proves it.
    for (const connection of held) {
      await connection.write('GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await connection.waitFor(/\r\n\r\n\{"status":"alive"\}/);
    }
    const extra = await openRaw(server.port);
    await extra.write('GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(await extra.closed).toBe('');
    for (const connection of held) connection.destroy();
    await Promise.all(held.map((connection) => connection.closed));
    // The server counts a connection gone once it sees the close; until then a new one may still be refused.
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 200; attempt += 1) status = await fetch(`${server.url}/livez`).then((r) => r.status, () => 0);
    expect(status).toBe(200);
  });
});
