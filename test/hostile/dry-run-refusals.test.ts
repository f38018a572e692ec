/**
 * Dry runs refused for the concurrency cap (429) while a client is still sending its body: the body is left
 * unread and the connection closed, so a flood of refused dry runs costs the sync's thread next to nothing
 * (reading and dropping 700 KiB bodies for a client retrying every 50 ms doubled the sync's p99 in the
 * operator-isolation bench). A client still sending when the connection closes may see a reset instead of the
 * 429 (the bench's "status 0" answers); one that sent its whole body reads the 429.
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
  it('a 700 KiB body gets the 429 with Retry-After, unread, and the connection is closed', async () => {
    expect(BODY.length).toBeGreaterThan(600_000);
    const client = await openRaw(server.port);
    await client.write(`POST /dry-run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\n\r\n`);
    const answer = await client.closed;
    expect(answer).toMatch(/^HTTP\/1\.1 429/);
    expect(answer.toLowerCase()).toContain('retry-after: 1');
    expect(answer.toLowerCase()).toContain('connection: close');
  });

  it('the server keeps serving while refused clients are cut off', async () => {
    for (let round = 0; round < 10; round += 1) {
      const status = await fetch(`${server.url}/dry-run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY }).then(
        (response) => response.status,
        () => 0,
      );
      // 0: a reset that came before the client read the 429 (it was still sending).
      expect([0, 429]).toContain(status);
    }
    expect((await fetch(`${server.url}/livez`)).status).toBe(200);
  });
});
