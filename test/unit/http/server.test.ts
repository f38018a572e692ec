import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startOperatorServer } from '../../../src/http/index.ts';
import { started } from '../../helpers/servers.ts';
import { createFakeDeps } from './fake-deps.ts';

describe('startOperatorServer', () => {
  it('binds loopback on an ephemeral port by default and serves the app', async () => {
    const server = await started(() => startOperatorServer(createFakeDeps()));
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    const response = await fetch(`${server.url}/livez`);
    expect(response.status).toBe(200);
  });

  it('answers a body over the limit with a proper 413 response over a real socket, not a reset connection', async () => {
    const server = await started(() => startOperatorServer(createFakeDeps(), { bodyLimitBytes: 1024 * 1024 }));
    const body = JSON.stringify({ events: [], rules: 'x'.repeat(2 * 1024 * 1024) });
    const response = await fetch(`${server.url}/dry-run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: 'request body is larger than 1048576 bytes' });
  });

  it('answers 413 to a chunked body (no Content-Length) once it passes the limit', async () => {
    const server = await started(() => startOperatorServer(createFakeDeps(), { bodyLimitBytes: 1000 }));
    const chunk = new TextEncoder().encode('x'.repeat(600));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(chunk);
        controller.enqueue(chunk);
        controller.close();
      },
    });
    const response = await fetch(`${server.url}/dry-run`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect(response.status).toBe(413);
  });

  it('accepts a body just under the limit', async () => {
    const server = await started(() => startOperatorServer(createFakeDeps(), { bodyLimitBytes: 4096 }));
    const body = JSON.stringify({ events: [{ agentId: 'a', state: 'Ready', reason: 'y'.repeat(3000) }] });
    const response = await fetch(`${server.url}/dry-run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(response.status).toBe(200);
  });

  it('stops listening on close', async () => {
    const server = await startOperatorServer(createFakeDeps());
    await server.close();
    await expect(fetch(`${server.url}/livez`)).rejects.toThrow();
  });
});

const DENO = fileURLToPath(new URL('../../../node_modules/.bin/deno', import.meta.url));

describe.runIf(existsSync(DENO))('startOperatorServer under Deno', () => {
  it('serves on loopback: /livez, a 413 for an oversized body, a 408 for a stalled body and for slowloris headers, and /metrics', () => {
    const fixture = fileURLToPath(new URL('./deno-serve.fixture.ts', import.meta.url));
    const run = spawnSync(DENO, ['run', '-A', fixture], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.trim())).toEqual({
      runtime: 'deno',
      host: '127.0.0.1',
      livez: 200,
      oversized: 413,
      slowBody: 408,
      slowHeaders: 408,
      metrics: 200,
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      notReady: true,
    });
  });

  it('without read access to the worker module, operator jobs run on the main thread and one warning says so', () => {
    const fixture = fileURLToPath(new URL('./deno-worker-fallback.fixture.ts', import.meta.url));
    const denied = fileURLToPath(new URL('../../../src/http/worker-entry.ts', import.meta.url));
    const run = spawnSync(DENO, ['run', '--allow-env', '--allow-read', `--deny-read=${denied}`, fixture], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.trim())).toEqual({
      first: 'ok',
      second: 'ok',
      isolated: false,
      warnings: ['operator worker threads cannot start here; rules reloads and dry runs run on the main thread'],
    });
  });
});
