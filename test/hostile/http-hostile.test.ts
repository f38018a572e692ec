/**
 * Hostile clients against the operator app served on a real loopback port: slow headers (slowloris), slow
 * bodies, bodies over the limit (declared or chunked), oversized headers, deep-nested JSON and invalid UTF-8.
 * Each gets a clear HTTP error and the connection is released, and the server keeps serving everyone else.
 */
import { describe, expect, it } from 'vitest';
import { startOperatorServer } from '../../src/http/index.ts';
import { setLogSink } from '../../src/log.ts';
import { started } from '../helpers/servers.ts';
import { createFakeDeps } from '../unit/http/fake-deps.ts';
import { openRaw, trickle } from './raw-http.ts';

const BODY_LIMIT = 1024 * 1024;
const HEADERS_TIMEOUT_MS = 300;
const REQUEST_TIMEOUT_MS = 800;

const lines: string[] = [];
setLogSink((line) => lines.push(line));
const server = await started(() =>
  startOperatorServer(createFakeDeps(), { bodyLimitBytes: BODY_LIMIT, headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS }),
);

async function stillServing(): Promise<void> {
  const response = await fetch(`${server.url}/livez`);
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ status: 'alive' });
}

function statusOf(raw: string): number {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(raw);
  return match ? Number(match[1]) : 0;
}

async function post(body: BodyInit, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.url}/dry-run`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('hostile clients on a real socket', () => {
  it('a slowloris client trickling its headers gets 408 and is disconnected, while other clients are served', async () => {
    const attacker = await openRaw(server.port);
    const trickling = trickle(attacker, `POST /dry-run HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'a'.repeat(10_000)}`, 1, 25);
    await stillServing();
    const answer = await attacker.closed;
    await trickling;
    expect(statusOf(answer)).toBe(408);
    await stillServing();
  });

  it('a client that sends its body too slowly gets 408 and the connection is closed', async () => {
    const attacker = await openRaw(server.port);
    await attacker.write('POST /dry-run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n');
    const trickling = trickle(attacker, `{"events":[${' '.repeat(4990)}]}`, 5, 25);
    await stillServing();
    const answer = await attacker.closed;
    await trickling;
    expect(statusOf(answer)).toBe(408);
    await stillServing();
  });

  it('a body declared larger than the limit gets 413 before it is read', async () => {
    const client = await openRaw(server.port);
    await client.write('POST /dry-run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n');
    await client.write('{"events":[' + ' '.repeat(1000));
    const answer = await client.waitFor(/\r\n\r\n\{.*\}/s);
    expect(statusOf(answer)).toBe(413);
    expect(answer).toContain(`request body is larger than ${BODY_LIMIT} bytes`);
    client.destroy();
    await stillServing();
  });

  it('a standard client sending 2, 8 and 20 MB bodies gets the 413 every time, not a reset connection', async () => {
    for (let round = 0; round < 3; round += 1) {
      for (const size of [2_000_000, 8_000_000, 20_000_000]) {
        const response = await fetch(`${server.url}/dry-run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"events":[],"rules":"${'x'.repeat(size)}"}` });
        expect({ size, status: response.status }).toEqual({ size, status: 413 });
        expect(response.headers.get('connection')).toBe('close');
        expect(await response.json()).toEqual({ error: `request body is larger than ${BODY_LIMIT} bytes` });
      }
    }
    await stillServing();
  });

  it('a chunked body that grows past the limit gets 413', async () => {
    const client = await openRaw(server.port);
    await client.write('POST /dry-run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 80 && statusOf(client.received()) === 0; i += 1) {
      if (!(await client.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`))) break;
    }
    const answer = await client.waitFor(/^HTTP\/1\.1 \d{3}/);
    expect(statusOf(answer)).toBe(413);
    client.destroy();
    await stillServing();
  });

  it('headers larger than the HTTP parser accepts get 431', async () => {
    const client = await openRaw(server.port);
    await client.write(`GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'b'.repeat(64 * 1024)}\r\n\r\n`);
    const answer = await client.closed;
    expect(statusOf(answer)).toBe(431);
    await stillServing();
  });

  it('bytes that are not HTTP get 400 from the parser', async () => {
    const client = await openRaw(server.port);
    await client.write(new Uint8Array([0x47, 0x45, 0x54, 0x20, 0x2f, 0xff, 0x00, 0x0d, 0x0a, 0x0d, 0x0a]));
    const answer = await client.closed;
    expect(statusOf(answer)).toBe(400);
    await stillServing();
  });

  it('JSON nested 100 000 deep within the limit is a 400 naming the field, not a crash', async () => {
    const depth = 100_000;
    for (const body of [
      `{"events":${'['.repeat(depth)}${']'.repeat(depth)}}`,
      `{"events":[{"agentId":${'{"a":'.repeat(depth / 10)}1${'}'.repeat(depth / 10)},"state":"Ready"}]}`,
      `{"events":[],"rules":${'['.repeat(depth)}${']'.repeat(depth)}}`,
    ]) {
      expect(body.length).toBeLessThan(BODY_LIMIT);
      const answer = await post(body);
      expect(answer.status).toBe(400);
      expect(typeof answer.body['error']).toBe('string');
    }
    await stillServing();
  });

  it('a candidate rules file nested 30 000 deep is a 400 with positioned errors', async () => {
    const rules = `rules: ${'['.repeat(30_000)}${']'.repeat(30_000)}`;
    const answer = await post(JSON.stringify({ events: [], rules }));
    expect(answer.status).toBe(400);
    expect(answer.body['error']).toMatch(/candidate rules file has \d+ errors?/);
    await stillServing();
  });

  it('a body that is not valid UTF-8 is a 400 that says so, not a silently altered agent id', async () => {
    const prefix = new TextEncoder().encode('{"events":[{"agentId":"10');
    const suffix = new TextEncoder().encode('01","state":"Ready"}]}');
    for (const bad of [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf0, 0x28, 0x8c, 0x28], [0xc0, 0xaf]]) {
      const body = new Uint8Array([...prefix, ...bad, ...suffix]);
      const answer = await post(body);
      expect(answer.status).toBe(400);
      expect(answer.body['error']).toMatch(/UTF-8/);
    }
    await stillServing();
  });

  it('none of the hostile requests above made the server log an error', () => {
    expect(lines.filter((line) => /"level":"error"/.test(line))).toEqual([]);
  });
});
