/**
 * Dry runs refused for the concurrency cap (429) while a client is still sending its body: the answer must reach
 * the client, never a reset connection. A server that closed the connection on a client still uploading 700 KiB
 * reset it, and a client that had not read the 429 yet saw a failed request instead (the operator-isolation
 * bench's unexplained "status 0" answers). A body of declared length within the limit is drained instead and the
 * connection kept; one of unknown length is still refused with the connection closed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createOperatorJobPool, startOperatorServer } from '../../src/http/index.ts';
import { started } from '../helpers/servers.ts';
import { createFakeDeps } from '../unit/http/fake-deps.ts';
import { heldPool } from './operator-surface.fixture.ts';
import { openRaw } from './raw-http.ts';

const jobs = heldPool(createOperatorJobPool(1));
const server = await started(() => startOperatorServer(createFakeDeps(), { jobs, maxConcurrentDryRuns: 1 }));
// The one dry run allowed, held until the end: every other one is refused.
const holding = fetch(`${server.url}/dry-run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"events":[]}' });
await jobs.started;
afterAll(async () => {
  jobs.release();
  await (await holding).arrayBuffer();
});

const BODY = JSON.stringify({ events: Array.from({ length: 9_000 }, (_, i) => ({ agentId: String(1001 + (i % 200)), state: 'Ready', callType: 'None', reason: null })), explain: true });

describe('dry runs refused for the concurrency cap', () => {
  it('a fetch client sending 700 KiB bodies back to back gets the 429 with Retry-After every time, never a reset', async () => {
    expect(BODY.length).toBeGreaterThan(600_000);
    for (let round = 0; round < 20; round += 1) {
      const response = await fetch(`${server.url}/dry-run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY });
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBe('1');
      expect(response.headers.get('connection')).not.toBe('close');
      await response.arrayBuffer();
    }
  });

  it('the refused body is drained and the connection serves the next request', async () => {
    const client = await openRaw(server.port);
    await client.write(`POST /dry-run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`);
    await client.waitFor(/^HTTP\/1\.1 429[\s\S]*\r\n\r\n\{[^}]*\}/);
    await client.write('GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    const all = await client.closed;
    expect(all).toMatch(/HTTP\/1\.1 200[\s\S]*\{"status":"alive"\}$/);
  });

  it('a chunked body (length unknown) is refused with the connection closed, unread', async () => {
    const client = await openRaw(server.port);
    await client.write('POST /dry-run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"eve\r\n');
    const answer = await client.closed;
    expect(answer).toMatch(/^HTTP\/1\.1 429/);
    expect(answer.toLowerCase()).toContain('connection: close');
  });
});
